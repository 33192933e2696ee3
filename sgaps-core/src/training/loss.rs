//! The training losses (seed section 2.3): L2 at the sampled pixels, and L2 over the
//! whole frame where the true frame is known.

use image::GrayImage;
use tch::{Kind, Tensor};

/// Mean squared error between the reconstruction `[B, 1, H, W]` and each example's
/// scored pixels (u, v, value in [0, 1]), at pixel (floor(u * W), floor(v * H)).
pub fn sampled_pixel_loss(reconstruction: &Tensor, scored: &[&[[f32; 3]]]) -> Tensor {
    let size = reconstruction.size();
    let (b, h, w) = (size[0], size[2], size[3]);
    let m = scored.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
    let mut index = vec![0i64; b as usize * m];
    let mut target = vec![0f32; b as usize * m];
    let mut valid = vec![0f32; b as usize * m];
    for (i, pixels) in scored.iter().enumerate() {
        for (j, &[u, v, value]) in pixels.iter().enumerate() {
            let x = ((u * w as f32) as i64).clamp(0, w - 1);
            let y = ((v * h as f32) as i64).clamp(0, h - 1);
            index[i * m + j] = y * w + x;
            target[i * m + j] = value;
            valid[i * m + j] = 1.0;
        }
    }
    let device = reconstruction.device();
    let shape = [b, m as i64];
    let index = Tensor::from_slice(&index).reshape(shape).to_device(device);
    let target = Tensor::from_slice(&target).reshape(shape).to_device(device);
    let valid = Tensor::from_slice(&valid).reshape(shape).to_device(device);
    let predicted = reconstruction.to_kind(Kind::Float).reshape([b, h * w]).gather(1, &index, false);
    ((predicted - target).square() * &valid).sum(Kind::Float) / valid.sum(Kind::Float).clamp_min(1.0)
}

/// Mean squared error over the examples that have a target frame (at the
/// reconstruction's resolution); `None` when none has.
pub fn full_frame_loss(reconstruction: &Tensor, targets: &[Option<&GrayImage>]) -> Option<Tensor> {
    let rows: Vec<i64> = (0..targets.len() as i64).filter(|&i| targets[i as usize].is_some()).collect();
    if rows.is_empty() {
        return None;
    }
    let size = reconstruction.size();
    let values: Vec<f32> = targets.iter().flatten().flat_map(|t| t.as_raw().iter().map(|&p| p as f32 / 255.0)).collect();
    let target = Tensor::from_slice(&values).reshape([rows.len() as i64, 1, size[2], size[3]]).to_device(reconstruction.device());
    let index = Tensor::from_slice(&rows).to_device(reconstruction.device());
    let predicted = reconstruction.to_kind(Kind::Float).index_select(0, &index);
    Some((predicted - target).square().mean(Kind::Float))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_are_zero_on_a_perfect_reconstruction_and_count_only_real_pixels() {
        let frame = GrayImage::from_fn(4, 2, |x, y| image::Luma([(x * 60 + y * 10) as u8]));
        let values: Vec<f32> = frame.as_raw().iter().map(|&p| p as f32 / 255.0).collect();
        let recon = Tensor::from_slice(&values).reshape([1, 1, 2, 4]).repeat([2, 1, 1, 1]);
        let pixel = |x: u32, y: u32| [(x as f32 + 0.5) / 4.0, (y as f32 + 0.5) / 2.0, frame.get_pixel(x, y)[0] as f32 / 255.0];
        let a = [pixel(0, 0), pixel(3, 1)];
        let b = [pixel(2, 0)];
        assert_eq!(sampled_pixel_loss(&recon, &[&a, &b]).double_value(&[]), 0.0);
        assert_eq!(full_frame_loss(&recon, &[Some(&frame), None]).unwrap().double_value(&[]), 0.0);
        assert!(full_frame_loss(&recon, &[None, None]).is_none());
        // One wrong pixel out of three real ones (padding does not count).
        let wrong = [[pixel(2, 0)[0], pixel(2, 0)[1], pixel(2, 0)[2] + 0.3]];
        let loss = sampled_pixel_loss(&recon, &[&a, &wrong]).double_value(&[]);
        assert!((loss - 0.09 / 3.0).abs() < 1e-6, "{loss}");
    }
}
