//! A model with `interpolation_prior: linear` starts as Delaunay-linear interpolation of
//! its samples: the refine head's last convolution is zero until training moves it.

use image::GrayImage;
use sgaps_core::baselines::linear_delaunay;
use sgaps_core::model::{AttentionOutput, FrameInput, Model};
use sgaps_core::Config;
use tch::Device;

#[test]
fn an_untrained_prior_model_returns_linear_interpolation() {
    let config = Config::load(None, &["model=spt_cpu".into(), "model.resolution=[40,30]".into()]).unwrap();
    let model = Model::new_seeded(&config.model, Device::Cpu, 7).unwrap();
    let truth = GrayImage::from_fn(80, 60, |x, y| image::Luma([((x * 7 + y * 3) % 200 + if x > 40 { 50 } else { 0 }) as u8]));
    let samples: Vec<[f32; 3]> = (0..150)
        .map(|i| {
            let (u, v) = (((i * 37) % 150) as f32 / 150.0, ((i * 11) % 150) as f32 / 150.0);
            [u, v, truth.get_pixel((u * 80.0) as u32, (v * 60.0) as u32)[0] as f32]
        })
        .collect();
    let pixels: Vec<[f32; 3]> = samples.iter().map(|&[u, v, x]| [u, v, x / 255.0]).collect();
    let out = model.infer(&[FrameInput { pixels: &pixels, state: &[] }], AttentionOutput::None).unwrap();
    let values = Vec::<f32>::try_from(out.reconstruction.flatten(0, -1)).unwrap();
    let linear = linear_delaunay(&samples, 40, 30);
    let worst = values.iter().zip(linear.as_raw()).map(|(v, &l)| (v * 255.0 - l as f32).abs()).fold(0.0, f32::max);
    assert!(worst < 0.75, "the untrained model differs from linear interpolation by {worst} grey levels");

    // The same model without the prior is the seed's: nothing like interpolation.
    let mut seed_config = config.model.clone();
    seed_config.architecture.interpolation_prior = Default::default();
    let plain = Model::new_seeded(&seed_config, Device::Cpu, 7).unwrap();
    let out = plain.infer(&[FrameInput { pixels: &pixels, state: &[] }], AttentionOutput::None).unwrap();
    let values = Vec::<f32>::try_from(out.reconstruction.flatten(0, -1)).unwrap();
    let mean_error = values.iter().zip(linear.as_raw()).map(|(v, &l)| (v * 255.0 - l as f32).abs()).sum::<f32>() / values.len() as f32;
    assert!(mean_error > 10.0, "{mean_error}");
}
