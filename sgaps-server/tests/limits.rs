//! Inputs whose declared size is far beyond what a frame needs: an LZ4 payload that
//! decompresses to hundreds of MB and a debug PNG declaring 16000x16000 pixels. Each is
//! refused with INVALID_FRAME_DATA before the server allocates for it, the connection
//! stays usable, and the server's peak memory hardly moves.

mod support;

use base64::Engine as _;
use serde_json::{json, Value};
use support::*;

const BASE64: base64::engine::general_purpose::GeneralPurpose = base64::engine::general_purpose::STANDARD;
/// One LZ4 block of 4 MiB of zeros compresses to ~16 KiB.
const ZERO_BLOCK: usize = 4 << 20;
/// Blocks in the bomb: ~3 MB compressed (under the 4 MiB message limit once base64),
/// ~750 MB decompressed.
const BLOCKS: usize = 180;

/// The server's peak resident memory so far (VmHWM), in MiB.
fn peak_rss_mib(server: &TestServer) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM in /proc/PID/status");
    line.split_whitespace().nth(1).unwrap().parse::<f64>().unwrap() / 1024.0
}

/// An LZ4 frame of `BLOCKS` blocks of zeros, the content size declared in its header or
/// not. Built from one compressed block repeated, so the test never holds 750 MB.
fn lz4_bomb(declare_size: bool) -> String {
    use lz4_flex::frame::{BlockMode, BlockSize, FrameEncoder, FrameInfo};
    let content_size = declare_size.then_some((BLOCKS * ZERO_BLOCK) as u64);
    let info = FrameInfo::new().block_size(BlockSize::Max4MB).block_mode(BlockMode::Independent).content_size(content_size);
    let mut encoder = FrameEncoder::with_frame_info(info, Vec::new());
    std::io::Write::write_all(&mut encoder, &vec![0u8; ZERO_BLOCK]).unwrap();
    std::io::Write::flush(&mut encoder).unwrap();
    let one_block = encoder.get_ref().clone();
    // Magic, FLG, BD, the optional 8-byte content size, header checksum.
    let header_len = if declare_size { 15 } else { 7 };
    let (header, block) = one_block.split_at(header_len);
    let mut frame = header.to_vec();
    for _ in 0..BLOCKS {
        frame.extend_from_slice(block);
    }
    frame.extend_from_slice(&0u32.to_le_bytes()); // end mark
    BASE64.encode(frame)
}

/// A valid grayscale PNG of 16000x16000 zeros (~250 KB), streamed row by row.
fn huge_png() -> String {
    const SIDE: u32 = 16000;
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, SIDE, SIDE);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().unwrap();
    let mut stream = writer.stream_writer().unwrap();
    let row = vec![0u8; SIDE as usize];
    for _ in 0..SIDE {
        std::io::Write::write_all(&mut stream, &row).unwrap();
    }
    stream.finish().unwrap();
    drop(writer);
    BASE64.encode(bytes)
}

/// Sends a valid frame and waits for its answer: with `mask_update=every_frame` every
/// reconstructed frame is answered with coordinates for the next one.
async fn answered_normally(client: &mut Client, frame_id: u64, coords: &[[f32; 2]]) {
    client.send(frame_message(frame_id, coords, true)).await;
    loop {
        let message = client.recv().await;
        assert_ne!(message["type"], "error", "{message}");
        if message["type"] == "uv_coordinates" && message["payload"]["target_frame_id"] == frame_id + 1 {
            return;
        }
    }
}

async fn expect_refused(client: &mut Client, field: &str, says: &str) {
    let error = client.expect_error("INVALID_FRAME_DATA").await;
    assert_eq!(error["payload"]["details"]["field"], field, "{error}");
    let message = error["payload"]["message"].as_str().unwrap();
    assert!(message.contains(says), "`{says}` not in: {message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_payloads_are_refused_before_allocation() {
    let server = TestServer::start(&["mask_update=every_frame"]);
    let mut client = Client::connect(&server.ws("")).await;
    let (_, coords) = client.start_session("default", [640, 480], true).await;
    answered_normally(&mut client, 0, &coords).await;
    let before = peak_rss_mib(&server);

    let compressed = |data: String| -> Value {
        let mut message = frame_message(1, &coords, false);
        let payload = &mut message["payload"];
        payload.as_object_mut().unwrap().remove("pixels");
        payload.as_object_mut().unwrap().remove("num_pixels");
        payload["pixels_compressed"] = json!({"format": "msgpack+lz4", "data": data});
        message
    };
    let declared = compressed(lz4_bomb(true));
    assert!(declared.to_string().len() > 3_500_000, "a few MB on the wire");
    client.send(declared).await;
    let claimed = format!("decompresses to {} bytes", BLOCKS * ZERO_BLOCK);
    expect_refused(&mut client, "pixels_compressed.data", &claimed).await;
    answered_normally(&mut client, 2, &coords).await;

    client.send(compressed(lz4_bomb(false))).await;
    expect_refused(&mut client, "pixels_compressed.data", "decompresses to more than").await;
    answered_normally(&mut client, 3, &coords).await;

    let mut debug = frame_message(4, &coords, true);
    debug["payload"]["full_frame_base64"] = json!(huge_png());
    client.send(debug).await;
    expect_refused(&mut client, "full_frame_base64", "declares 16000x16000 pixels").await;
    answered_normally(&mut client, 5, &coords).await;

    let after = peak_rss_mib(&server);
    eprintln!("server peak RSS: {before:.0} MiB before, {after:.0} MiB after the oversized payloads");
    assert!(after - before < 100.0, "peak RSS grew from {before:.0} to {after:.0} MiB");
}
