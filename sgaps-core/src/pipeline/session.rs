//! One client's stream: its parameters, sampler, mask scheduler, current coordinates
//! and running statistics. The engine owns sessions; this file holds what happens to
//! one frame after the model has reconstructed it.

use image::GrayImage;
use serde::Serialize;

use super::checkpoints::LoadedCheckpoint;
use super::frame::Frame;
use super::importance::Importance;
use super::mask_scheduler::MaskScheduler;
use super::sampler::Sampler;
use crate::metrics::{psnr_at, resized_to, FrameQuality};
use crate::temporal::SessionMemory;

pub type SessionId = u64;

/// What `session_start_ack` announces (PROTOCOL.md), plus the session id.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionParams {
    pub session_id: SessionId,
    /// The key actually used (`default` after a fallback).
    pub checkpoint_key: String,
    /// Whether trained weights exist for the key the client asked for.
    pub checkpoint_loaded: bool,
    pub model_version: String,
    /// Pixels the client samples per frame.
    pub sample_count: usize,
    pub max_state_dim: usize,
    pub target_fps: u32,
    /// `[width, height]` the server reconstructs at (and samples on).
    pub resolution: [usize; 2],
    /// `[width, height]` of the client's screen.
    pub client_resolution: [usize; 2],
}

/// New sampling coordinates, to be used from `target_frame_id` on.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskUpdate {
    pub target_frame_id: u64,
    pub coordinates: Vec<[f32; 2]>,
}

/// The engine's answer to one frame.
#[derive(Debug, Clone)]
pub struct FrameResult {
    pub frame_id: u64,
    /// At the session's `resolution`, top row first.
    pub reconstruction: GrayImage,
    pub importance: Importance,
    /// Present when the scheduler decided the mask should change.
    pub mask_update: Option<MaskUpdate>,
    /// PSNR (dB) of the reconstruction at the pixels the client sent: the quality
    /// signal the mask scheduler uses (known without ground truth).
    pub sample_psnr: f64,
    /// Against the ground-truth frame, when the client sent one (resized to `resolution`).
    pub ground_truth_quality: Option<FrameQuality>,
    /// Frames in the forward pass that produced this one, and that pass's time.
    pub batch_size: usize,
    pub inference_ms: f64,
}

/// Running totals of a session, returned when it ends.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SessionStats {
    pub frames_reconstructed: u64,
    pub mask_updates: u64,
    pub total_pixels: u64,
    pub mean_sample_psnr: f64,
    /// Over the frames that carried ground truth.
    pub frames_with_ground_truth: u64,
    pub mean_psnr: Option<f64>,
    pub mean_ssim: Option<f64>,
    pub last_frame_id: Option<u64>,
}

pub(crate) struct Session {
    pub params: SessionParams,
    pub sampler: Sampler,
    pub scheduler: MaskScheduler,
    /// The coordinates the client currently samples at.
    pub coordinates: Vec<[f32; 2]>,
    /// History for temporal models; `None` for single-frame models.
    pub memory: Option<SessionMemory>,
    /// The model this session is bound to, from its start (or last rebind) on.
    pub checkpoint: LoadedCheckpoint,
    /// The checkpoint key the client asked for (`params.checkpoint_key` may be the
    /// `default` it fell back to): a rebind looks it up again.
    pub requested_key: String,
    stats: SessionStats,
    sample_psnr_sum: f64,
    psnr_sum: f64,
    ssim_sum: f64,
}

impl Session {
    pub fn new(
        params: SessionParams,
        sampler: Sampler,
        scheduler: MaskScheduler,
        coordinates: Vec<[f32; 2]>,
        checkpoint: LoadedCheckpoint,
        requested_key: &str,
    ) -> Self {
        Session {
            params,
            sampler,
            scheduler,
            coordinates,
            memory: None,
            checkpoint,
            requested_key: requested_key.to_string(),
            stats: SessionStats::default(),
            sample_psnr_sum: 0.0,
            psnr_sum: 0.0,
            ssim_sum: 0.0,
        }
    }

    /// Takes `fresh`'s model, parameters, sampler and coordinates (a rebind); the
    /// statistics go on, the history starts afresh.
    pub fn rebind(&mut self, fresh: Session) {
        self.params = fresh.params;
        self.sampler = fresh.sampler;
        self.scheduler = fresh.scheduler;
        self.coordinates = fresh.coordinates;
        self.checkpoint = fresh.checkpoint;
        self.memory = None;
    }

    /// Scores a reconstructed frame, asks the scheduler, and samples new coordinates
    /// when it says so.
    pub fn finish_frame(
        &mut self,
        frame: &Frame,
        reconstruction: GrayImage,
        importance: Importance,
        batch_size: usize,
        inference_ms: f64,
    ) -> FrameResult {
        let sample_psnr = sample_psnr(&reconstruction, frame);
        let ground_truth_quality = frame.ground_truth.as_ref().and_then(|truth| {
            let truth = resized_to(truth, reconstruction.width(), reconstruction.height());
            FrameQuality::between(&truth, &reconstruction).ok()
        });
        let mask_update = if self.scheduler.observe(sample_psnr) {
            self.next_mask(&importance, frame.frame_id)
        } else {
            None
        };

        let s = &mut self.stats;
        s.frames_reconstructed += 1;
        s.mask_updates += mask_update.is_some() as u64;
        s.total_pixels += frame.pixels.len() as u64;
        s.last_frame_id = Some(frame.frame_id);
        self.sample_psnr_sum += sample_psnr;
        if let Some(q) = &ground_truth_quality {
            s.frames_with_ground_truth += 1;
            self.psnr_sum += q.psnr.min(100.0); // a perfect frame is +inf dB; cap it for the mean
            self.ssim_sum += q.ssim;
        }
        FrameResult {
            frame_id: frame.frame_id,
            reconstruction,
            importance,
            mask_update,
            sample_psnr,
            ground_truth_quality,
            batch_size,
            inference_ms,
        }
    }

    /// New coordinates from the importance map. The engine checked the sample count
    /// and the map comes from the session's own model, so this cannot fail in
    /// practice; if it does, the client keeps its coordinates and the log says why.
    fn next_mask(&mut self, importance: &Importance, frame_id: u64) -> Option<MaskUpdate> {
        match self.sampler.next_mask(Some(&importance.map), self.params.sample_count) {
            Ok(coordinates) => {
                self.coordinates = coordinates.clone();
                Some(MaskUpdate { target_frame_id: frame_id + 1, coordinates })
            }
            Err(e) => {
                tracing::error!(session_id = self.params.session_id, error = %e, "sampling failed; keeping the mask");
                None
            }
        }
    }

    pub fn stats(&self) -> SessionStats {
        let mut stats = self.stats.clone();
        let n = stats.frames_reconstructed.max(1) as f64;
        stats.mean_sample_psnr = self.sample_psnr_sum / n;
        let g = stats.frames_with_ground_truth as f64;
        stats.mean_psnr = (g > 0.0).then(|| self.psnr_sum / g);
        stats.mean_ssim = (g > 0.0).then(|| self.ssim_sum / g);
        stats
    }
}

/// PSNR of `reconstruction` at the frame's own sample positions, capped at 100 dB.
fn sample_psnr(reconstruction: &GrayImage, frame: &Frame) -> f64 {
    let (w, h) = reconstruction.dimensions();
    let predicted: Vec<f32> = frame
        .pixels
        .iter()
        .map(|p| {
            let x = ((p.u * w as f32) as u32).min(w - 1);
            let y = ((p.v * h as f32) as u32).min(h - 1);
            reconstruction.get_pixel(x, y)[0] as f32
        })
        .collect();
    let sent: Vec<f32> = frame.pixels.iter().map(|p| p.value).collect();
    // A validated frame has pixels, so the lists are non-empty and equally long.
    psnr_at(&sent, &predicted).map_or(0.0, |psnr| psnr.min(100.0))
}
