//! TensorBoard event files: scalars and images from the training loop.
//!
//! An event file is a sequence of TFRecords, each holding one serialized `tensorflow.Event`
//! protobuf. Only the few message fields TensorBoard needs for scalars and images are
//! declared here (with prost's derive, so no protoc or build script).
//! `tests/tensorboard_vs_python.rs` reads our files back with TensorBoard's own
//! `EventAccumulator`.

use std::fs::{self, File};
use std::io::{self, BufWriter, Cursor, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use image::{ImageFormat, RgbImage};

/// The first event of every file; TensorBoard's readers check for it.
const FILE_VERSION: &str = "brain.Event:2";

/// `Summary.Image.colorspace` for RGB.
const RGB_COLORSPACE: i32 = 3;

/// Added to rotated checksums so that a CRC of data that itself holds CRCs stays
/// well-distributed (TFRecord's masking).
const CRC_MASK_DELTA: u32 = 0xa282_ead8;

/// `tensorflow.Event`, cut down to the fields written here.
#[derive(Clone, PartialEq, prost::Message)]
struct Event {
    #[prost(double, tag = "1")]
    wall_time: f64,
    #[prost(int64, tag = "2")]
    step: i64,
    #[prost(oneof = "EventContent", tags = "3, 5")]
    content: Option<EventContent>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum EventContent {
    #[prost(string, tag = "3")]
    FileVersion(String),
    #[prost(message, tag = "5")]
    Summary(Summary),
}

/// `tensorflow.Summary`.
#[derive(Clone, PartialEq, prost::Message)]
struct Summary {
    #[prost(message, repeated, tag = "1")]
    value: Vec<SummaryValue>,
}

/// `tensorflow.Summary.Value`.
#[derive(Clone, PartialEq, prost::Message)]
struct SummaryValue {
    #[prost(string, tag = "1")]
    tag: String,
    #[prost(oneof = "SummaryContent", tags = "2, 4")]
    content: Option<SummaryContent>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum SummaryContent {
    #[prost(float, tag = "2")]
    SimpleValue(f32),
    #[prost(message, tag = "4")]
    Image(SummaryImage),
}

/// `tensorflow.Summary.Image`: an encoded (here PNG) picture and its size.
#[derive(Clone, PartialEq, prost::Message)]
struct SummaryImage {
    #[prost(int32, tag = "1")]
    height: i32,
    #[prost(int32, tag = "2")]
    width: i32,
    #[prost(int32, tag = "3")]
    colorspace: i32,
    #[prost(bytes = "vec", tag = "4")]
    encoded_image_string: Vec<u8>,
}

/// Appends events to one new event file. Writes are buffered: call [`flush`](Self::flush)
/// after each logging step so TensorBoard sees them while training runs. Dropping the
/// writer flushes too (`BufWriter`'s drop, errors ignored).
pub struct SummaryWriter {
    path: PathBuf,
    file: BufWriter<File>,
}

impl SummaryWriter {
    /// Creates `dir` and a new `events.out.tfevents.{unix_secs}.{hostname}.{pid}.{n}` file
    /// in it (writes the file_version event "brain.Event:2"); `n` counts up past files
    /// another writer made in the same second, so none is ever overwritten.
    pub fn create(dir: &Path) -> io::Result<SummaryWriter> {
        fs::create_dir_all(dir)?;
        let unix_secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let (path, file) = (0..)
            .map(|n| {
                let name = format!("events.out.tfevents.{unix_secs}.{}.{}.{n}", hostname(), std::process::id());
                let path = dir.join(name);
                File::create_new(&path).map(|file| (path, file))
            })
            .find(|created| !matches!(created, Err(e) if e.kind() == io::ErrorKind::AlreadyExists))
            .expect("an unbounded range")?;
        let mut writer = SummaryWriter {
            path,
            file: BufWriter::new(file),
        };
        writer.write_event(0, EventContent::FileVersion(FILE_VERSION.to_owned()))?;
        writer.flush()?;
        Ok(writer)
    }

    pub fn add_scalar(&mut self, tag: &str, value: f32, step: i64) -> io::Result<()> {
        self.write_summary(tag, SummaryContent::SimpleValue(value), step)
    }

    /// PNG-encodes the image into a `Summary.Image` (colorspace 3, RGB).
    pub fn add_image(&mut self, tag: &str, image: &RgbImage, step: i64) -> io::Result<()> {
        let mut png = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .map_err(io::Error::other)?;
        let side = |pixels: u32| {
            i32::try_from(pixels)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "image side exceeds i32"))
        };
        let summary_image = SummaryImage {
            height: side(image.height())?,
            width: side(image.width())?,
            colorspace: RGB_COLORSPACE,
            encoded_image_string: png,
        };
        self.write_summary(tag, SummaryContent::Image(summary_image), step)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write_summary(&mut self, tag: &str, content: SummaryContent, step: i64) -> io::Result<()> {
        let value = SummaryValue {
            tag: tag.to_owned(),
            content: Some(content),
        };
        self.write_event(step, EventContent::Summary(Summary { value: vec![value] }))
    }

    fn write_event(&mut self, step: i64, content: EventContent) -> io::Result<()> {
        let wall_time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let event = Event {
            wall_time,
            step,
            content: Some(content),
        };
        write_record(&mut self.file, &prost::Message::encode_to_vec(&event))
    }
}

/// One TFRecord: length, its masked CRC, the data, the data's masked CRC (all little-endian).
fn write_record(out: &mut impl Write, data: &[u8]) -> io::Result<()> {
    let length = (data.len() as u64).to_le_bytes();
    out.write_all(&length)?;
    out.write_all(&masked_crc32c(&length).to_le_bytes())?;
    out.write_all(data)?;
    out.write_all(&masked_crc32c(data).to_le_bytes())
}

fn masked_crc32c(data: &[u8]) -> u32 {
    crc32c::crc32c(data)
        .rotate_right(15)
        .wrapping_add(CRC_MASK_DELTA)
}

/// The host name for the file name, as TensorFlow's writers include it; path separators
/// and other odd characters are replaced so the name stays one file in `dir`.
fn hostname() -> String {
    let name = fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_default();
    let name: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() {
        "localhost".to_owned()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn masked_crc32c_matches_known_vectors() {
        // CRC32C("123456789") = 0xE3069283 (the standard check value); rotated right by 15
        // and offset by 0xa282ead8 it becomes 0xC78AB0E5.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(masked_crc32c(b"123456789"), 0xC78A_B0E5);
        // CRC32C of nothing is 0, so only the mask delta remains.
        assert_eq!(masked_crc32c(b""), CRC_MASK_DELTA);
        // RFC 3720 (iSCSI) B.4: 32 zero bytes.
        assert_eq!(crc32c::crc32c(&[0u8; 32]), 0x8A91_36AA);
    }

    /// Splits a TFRecord file into its records, checking both checksums of each.
    fn read_records(bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut records = Vec::new();
        let mut rest = bytes;
        let u32_at = |slice: &[u8]| u32::from_le_bytes(slice.try_into().unwrap());
        while !rest.is_empty() {
            let (length_bytes, after_length) = rest.split_at(8);
            assert_eq!(
                u32_at(&after_length[..4]),
                masked_crc32c(length_bytes),
                "length CRC"
            );
            let length = u64::from_le_bytes(length_bytes.try_into().unwrap()) as usize;
            let (data, after_data) = after_length[4..].split_at(length);
            assert_eq!(u32_at(&after_data[..4]), masked_crc32c(data), "data CRC");
            records.push(data.to_vec());
            rest = &after_data[4..];
        }
        records
    }

    #[test]
    fn events_round_trip_through_records() {
        let dir = tempfile::tempdir().unwrap();
        let image = RgbImage::from_fn(5, 3, |x, y| image::Rgb([x as u8 * 40, y as u8 * 80, 7]));
        let mut writer = SummaryWriter::create(&dir.path().join("run")).unwrap();
        writer.add_scalar("loss/train", 0.25, 3).unwrap();
        writer
            .add_image("frames/reconstruction", &image, 4)
            .unwrap();
        writer.flush().unwrap();

        let name = writer.path().file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with("events.out.tfevents.") && name.contains(&std::process::id().to_string()),
            "{name}"
        );
        let events: Vec<Event> = read_records(&fs::read(writer.path()).unwrap())
            .iter()
            .map(|record| Event::decode(record.as_slice()).unwrap())
            .collect();
        assert_eq!(events.len(), 3);
        assert_eq!(
            events[0].content,
            Some(EventContent::FileVersion(FILE_VERSION.into()))
        );
        assert!(
            events.iter().all(|event| event.wall_time > 1.0e9),
            "wall_time in seconds"
        );

        let only_value = |event: &Event| match &event.content {
            Some(EventContent::Summary(summary)) if summary.value.len() == 1 => {
                summary.value[0].clone()
            }
            other => panic!("expected one summary value, got {other:?}"),
        };
        let scalar = only_value(&events[1]);
        assert_eq!(events[1].step, 3);
        assert_eq!(scalar.tag, "loss/train");
        assert_eq!(scalar.content, Some(SummaryContent::SimpleValue(0.25)));

        let picture = only_value(&events[2]);
        assert_eq!(events[2].step, 4);
        assert_eq!(picture.tag, "frames/reconstruction");
        let Some(SummaryContent::Image(encoded)) = picture.content else {
            panic!("expected an image, got {:?}", picture.content)
        };
        assert_eq!(
            (encoded.width, encoded.height, encoded.colorspace),
            (5, 3, RGB_COLORSPACE)
        );
        let decoded =
            image::load_from_memory_with_format(&encoded.encoded_image_string, ImageFormat::Png)
                .unwrap();
        assert_eq!(decoded.to_rgb8(), image);
    }

    #[test]
    fn writers_in_the_same_second_get_files_of_their_own() {
        let dir = tempfile::tempdir().unwrap();
        let first = SummaryWriter::create(dir.path()).unwrap();
        let second = SummaryWriter::create(dir.path()).unwrap();
        assert_ne!(second.path(), first.path());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
