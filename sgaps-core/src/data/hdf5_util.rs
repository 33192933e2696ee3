//! Small helpers over hdf5-metno: attributes that are created or overwritten, and
//! appending rows to an extendable dataset.

use hdf5::types::VarLenUnicode;
use hdf5::{Dataset, Group, H5Type, Location};
use ndarray::{ArrayView, IxDyn};

/// Sets a scalar attribute, replacing an older value.
pub fn set_scalar<T: H5Type>(location: &Location, name: &str, value: T) -> hdf5::Result<()> {
    match location.attr(name) {
        Ok(attr) => attr.write_scalar(&value),
        Err(_) => location.new_attr::<T>().shape(()).create(name)?.write_scalar(&value),
    }
}

pub fn set_string(location: &Location, name: &str, value: &str) -> hdf5::Result<()> {
    let value: VarLenUnicode = value.parse().map_err(|e| hdf5::Error::from(format!("{e:?}")))?;
    set_scalar(location, name, value)
}

pub fn set_array<T: H5Type>(location: &Location, name: &str, values: &[T]) -> hdf5::Result<()> {
    match location.attr(name) {
        Ok(attr) => attr.write_raw(values),
        Err(_) => location.new_attr::<T>().shape(values.len()).create(name)?.write_raw(values),
    }
}

pub fn get_string(location: &Location, name: &str) -> hdf5::Result<String> {
    Ok(location.attr(name)?.read_scalar::<VarLenUnicode>()?.as_str().to_string())
}

/// A chunked dataset whose first axis grows; `row` is the shape of one row.
pub fn create_extendable<T: H5Type>(group: &Group, name: &str, row: &[usize], chunk_rows: usize) -> hdf5::Result<Dataset> {
    let mut shape: Vec<hdf5::Extent> = vec![hdf5::Extent::resizable(0)];
    shape.extend(row.iter().map(|&d| hdf5::Extent::fixed(d)));
    let mut chunk = vec![chunk_rows];
    chunk.extend_from_slice(row);
    group.new_dataset::<T>().shape(shape).chunk(chunk).deflate(4).create(name)
}

/// Appends `values` (whole rows, row-major) to `dataset` along its first axis.
pub fn append<T: H5Type>(dataset: &Dataset, values: &[T]) -> hdf5::Result<()> {
    let mut shape = dataset.shape();
    let row: usize = shape[1..].iter().product();
    if values.is_empty() || row == 0 {
        return Ok(());
    }
    let start = shape[0];
    let rows = values.len() / row;
    shape[0] = start + rows;
    dataset.resize(shape.clone())?;
    let mut block = shape;
    block[0] = rows;
    let view = ArrayView::from_shape(IxDyn(&block), values).map_err(|e| hdf5::Error::from(e.to_string()))?;
    let selection: Vec<hdf5::SliceOrIndex> = std::iter::once((start..start + rows).into())
        .chain(block[1..].iter().map(|_| (..).into()))
        .collect();
    dataset.write_slice(&view, hdf5::Hyperslab::from(selection))
}
