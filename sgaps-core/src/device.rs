//! Choosing where the model runs and in which precision.

use tch::{Device, Kind};

use crate::config::{DeviceChoice, Precision};

/// The device `choice` means on this machine. `cuda` without a GPU is an error, so a
/// deployment that expects one fails loudly instead of crawling on the CPU.
pub fn resolve_device(choice: DeviceChoice) -> Result<Device, String> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Auto => Ok(Device::cuda_if_available()),
        DeviceChoice::Cuda if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
        DeviceChoice::Cuda => Err("device=cuda, but libtorch sees no CUDA device".into()),
    }
}

/// The tensor kind for `precision` on `device`: half precisions only on CUDA, where
/// they pay off; the CPU always computes in float32.
pub fn resolve_kind(precision: Precision, device: Device) -> Kind {
    match (precision, device) {
        (_, Device::Cpu) | (Precision::Float32, _) => Kind::Float,
        (Precision::Float16, _) => Kind::Half,
        (Precision::Bfloat16, _) => Kind::BFloat16,
    }
}

/// A one-line description for logs and `/api/health`.
pub fn describe(device: Device) -> String {
    match device {
        Device::Cuda(i) => format!("cuda:{i} ({} GPU(s) visible)", tch::Cuda::device_count()),
        _ => format!("cpu ({} threads)", tch::get_num_threads()),
    }
}
