//! Typed configuration, one struct per `conf/` group. Field names equal the YAML keys.
//! Every struct denies unknown fields so a typo is an error, not a silent default.

use serde::{Deserialize, Serialize};

/// The whole composed configuration (`conf/config.yaml` plus its groups).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub model: ModelConfig,
    pub training: TrainingConfig,
    pub sampling: SamplingConfig,
    pub mask_update: MaskUpdateConfig,
    pub server: ServerConfig,
    pub cleaning: CleaningConfig,
    /// `auto` picks CUDA when libtorch sees a GPU.
    pub device: DeviceChoice,
    /// Inference precision; half and bf16 apply on CUDA only.
    pub precision: Precision,
    pub seed: u64,
    pub checkpoint_dir: String,
    pub data_root: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    Auto,
    Cpu,
    Cuda,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// bfloat16 on a CPU that computes it natively (AVX-512 BF16, AMX), float32
    /// elsewhere (other CPUs, and CUDA, where float32 is what was proven).
    Auto,
    Float32,
    Float16,
    Bfloat16,
}

/// The model: which family, and its hyper-parameters. Saved beside every checkpoint, so
/// a checkpoint always rebuilds the module tree it was trained with.
///
/// The fields from `embed_dim` to `architecture` describe the Sparse Pixel Transformer
/// (seed section 2.1); `temporal` the temporal family. A family's own fields are
/// checked by `validate` (a missing SPT field reads as 0 and is refused there), so older
/// SPT checkpoints, which name no family, load as before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub name: String,
    #[serde(default)]
    pub family: ModelFamily,
    pub max_state_dim: i64,
    pub sentinel_value: f32,
    /// Reconstruction resolution `[width, height]`.
    pub resolution: [i64; 2],
    #[serde(default, skip_serializing_if = "is_zero")]
    pub embed_dim: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_heads: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_encoder_layers: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_decoder_layers: i64,
    #[serde(default)]
    pub decoder: DecoderKind,
    #[serde(default)]
    pub positional_encoding: PositionalEncodingConfig,
    #[serde(default)]
    pub architecture: ArchitectureConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporal: Option<TemporalConfig>,
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

/// The two model families behind one `Model`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelFamily {
    /// The seed's Sparse Pixel Transformer: one frame's samples, attention entropy as
    /// importance. Loads weights trained with the seed's PyTorch code.
    #[default]
    Spt,
    /// A small U-Net over rasterized samples and the session's history (canvas, age,
    /// scroll-warped previous reconstruction), blending those candidates; its
    /// predicted error map is the importance.
    Temporal,
}

/// The temporal family: the network's widths and the session memory's rules
/// (`conf/model/temporal.yaml` explains each).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemporalConfig {
    /// Channels at full, half and quarter resolution.
    pub channels: [i64; 3],
    /// Width of the state-vector embedding that modulates the bottleneck (FiLM).
    pub state_embed_dim: i64,
    /// Samples younger than this many frames form the union interpolation.
    pub union_frames: u32,
    /// Largest scroll searched between consecutive frames, in pixels per axis.
    pub max_shift: i32,
    /// A sample differing from history by more than this (0..1) contradicts it.
    pub contradiction_threshold: f32,
    /// More than this share of contradicting samples is a scene cut.
    pub scene_cut_fraction: f32,
    /// A jump of more frame ids than this drops history.
    pub max_frame_gap: u64,
    /// More client time than this between frames drops history.
    pub max_time_gap_s: f64,
    /// Samples of a pixel averaged at most (sub-pixel positions integrate over time).
    pub accumulate_frames: u32,
    /// How the interpolated planes place a sample: at its pixel, or where within it the
    /// sample lay. Checkpoints from before this setting snap.
    #[serde(default)]
    pub interpolation: SampleInterpolation,
}

/// Where the interpolated input planes put each sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleInterpolation {
    /// At the centre of the pixel it fell in.
    #[default]
    Snapped,
    /// At its own position, spread over the four nearest pixel centres (bilinear).
    Splatted,
}

impl Default for TemporalConfig {
    fn default() -> Self {
        TemporalConfig {
            channels: [16, 32, 64],
            state_embed_dim: 32,
            union_frames: 8,
            max_shift: 6,
            contradiction_threshold: 0.1,
            scene_cut_fraction: 0.6,
            max_frame_gap: 30,
            max_time_gap_s: 2.0,
            accumulate_frames: 4,
            interpolation: SampleInterpolation::default(),
        }
    }
}

/// Which decoder layer the model uses over the H x W query grid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecoderKind {
    /// PyTorch `TransformerDecoderLayer`: query self-attention, cross-attention,
    /// feed-forward. O((H*W)^2); loads weights trained with the seed's model.
    Seed,
    /// Cross-attention and feed-forward only: O(H*W*N). The default for new models.
    #[default]
    Cross,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PositionalEncodingConfig {
    #[serde(rename = "type")]
    pub kind: PositionalEncodingKind,
    /// Highest frequency of the sinusoidal bands (seed: 10).
    pub max_freq: f64,
    /// Standard deviation of the initial Gaussian-Fourier projection.
    pub fourier_sigma: f64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PositionalEncodingKind {
    /// Fixed log-spaced sin/cos bands (seed section 2.2).
    #[default]
    Sinusoidal,
    /// Learnable Gaussian random Fourier features (Tancik et al. 2020).
    GaussianFourier,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchitectureConfig {
    pub feedforward_dim: i64,
    pub dropout: f64,
    pub skip: SkipConfig,
    /// A classical reconstruction of the samples the refine head corrects (absent in
    /// the seed, so older configs read as `none`).
    #[serde(default)]
    pub interpolation_prior: InterpolationPrior,
}

/// What the network's output is added to, in logit space.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InterpolationPrior {
    /// The seed's model: the refine head alone makes the frame.
    #[default]
    None,
    /// Linear interpolation over the Delaunay triangulation of the samples; the last
    /// convolution starts at zero, so an untrained model returns exactly this.
    Linear,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkipConfig {
    pub enabled: bool,
    pub weight: f64,
    pub dropout: f64,
}

/// One training phase (seed section 2.3); see `conf/training/phase*.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingConfig {
    pub phase: u32,
    pub description: String,
    pub epochs: u32,
    pub batch_size: u32,
    pub learning_rate: f64,
    pub weight_decay: f64,
    pub grad_clip_norm: f64,
    /// Training resolution `[width, height]`.
    pub resolution: [i64; 2],
    /// Fraction range of the collected pixels the model sees (masked sparse modelling).
    pub visible_fraction: [f64; 2],
    pub sampled_loss_weight: f64,
    pub full_frame_loss_weight: f64,
    /// How often each frame is revisited per epoch with a fresh random pixel subset.
    pub repeats: u32,
    pub validation_fraction: f64,
    pub best_metric: String,
    /// Phase 3 runs the closed loop with the adaptive sampler.
    pub closed_loop: bool,
    /// Frames drawn (without replacement) per epoch; 0 takes every training frame.
    pub frames_per_epoch: u32,
    /// Share of the examples of ground-truth frames sampled afresh on the true frame
    /// instead of taken from the recorded pixels.
    pub resample_fraction: f64,
    /// Sample count range `[min, max]` of freshly sampled examples.
    pub sample_counts: [u32; 2],
    /// Temporal family: frames per training clip (each one optimisation step)...
    #[serde(default = "default_clip_frames")]
    pub clip_frames: u32,
    /// ...after up to this many frames (drawn per step) run without training, so clips
    /// start with histories of every length.
    #[serde(default)]
    pub clip_warmup_frames: u32,
    /// Temporal family: mirror clips and remap their intensities at random
    /// (`training/augment.rs`), for games never trained on.
    #[serde(default)]
    pub augment: bool,
    /// Temporal family: data files (by name without `.h5`) held out whole for validation,
    /// so validation measures games (or levels) the model never trains on. Empty: the
    /// last `validation_fraction` of every session is validation.
    #[serde(default)]
    pub validation_files: Vec<String>,
    /// Temporal family: weight of a loss term that raises every frame's PSNR (the mean
    /// over frames of ln MSE), the metric evaluation reports. L1 alone under-weights the
    /// large errors PSNR punishes; 0 trains on L1 alone.
    #[serde(default)]
    pub psnr_loss_weight: f64,
}

fn default_clip_frames() -> u32 {
    8
}

/// How coordinates are chosen (seed section 3.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplingConfig {
    pub strategy: SamplingStrategy,
    pub default_sample_count: u32,
    pub max_sample_count: u32,
    pub importance_ratio: f64,
    pub uniform_ratio: f64,
    /// Minimum distance between two samples, in UV units.
    pub min_distance: f64,
    /// Frames sampled on the uniform grid before importance is trusted.
    pub warmup_frames: u32,
    /// Share of the importance map that is the reconstruction's detail (edges) rather
    /// than the attention entropy; 0 is the seed's entropy alone.
    #[serde(default)]
    pub importance_detail_weight: f64,
    /// How the hybrid strategy places its non-importance share.
    #[serde(default)]
    pub hybrid_spread: HybridSpread,
    /// `space_time` only: how much a pixel's sample age raises its importance weight.
    /// The weight is `importance * (1 + age_weight * min(age, age_cap) / age_cap)`, age
    /// being the masks since a sample last landed on the pixel; 0 ignores age.
    #[serde(default)]
    pub age_weight: f64,
    /// `space_time` only: the age (in masks) at which the age factor stops growing.
    #[serde(default = "default_age_cap")]
    pub age_cap: u32,
}

fn default_age_cap() -> u32 {
    32
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HybridSpread {
    /// One random pixel per cell over the pixels importance left (the seed's).
    #[default]
    Stratified,
    /// The uniform grid of that many points first; importance fills in between, so the
    /// frame keeps the even coverage an open-loop grid has.
    Grid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SamplingStrategy {
    Uniform,
    Random,
    Stratified,
    ImportanceOnly,
    Hybrid,
    /// One sample per cell, each cell's offset stepping through its own low-discrepancy
    /// sequence frame by frame, plus an importance share weighted by sample age.
    SpaceTime,
}

/// When the sampling mask is renewed (seed section 3.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskUpdateConfig {
    pub mode: MaskUpdateMode,
    pub fixed_interval: u32,
    pub adaptive: AdaptiveMaskUpdate,
    pub quality_based: QualityBasedMaskUpdate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskUpdateMode {
    Fixed,
    Adaptive,
    QualityBased,
    /// A new mask after every frame (for samplers whose pattern moves frame by frame).
    EveryFrame,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdaptiveMaskUpdate {
    pub min_interval: u32,
    pub max_interval: u32,
    pub quality_threshold: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualityBasedMaskUpdate {
    pub low_quality_threshold: f64,
    pub high_quality_threshold: f64,
}

/// The network shim (`sgaps serve`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub host: String,
    pub port: u16,
    pub target_fps: u32,
    pub max_sessions: u32,
    /// WebSocket connections open at once, with or without a session; beyond it the
    /// upgrade is refused (HTTP 503), so sockets that never start a session are bounded.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    pub max_message_bytes: usize,
    pub idle_timeout_s: f64,
    pub allow_debug: bool,
    /// Largest debug frame (`full_frame_base64`) accepted, in pixels: its PNG header is
    /// checked before decoding, so a client cannot make the server allocate more.
    #[serde(default = "default_max_debug_frame_pixels")]
    pub max_debug_frame_pixels: u64,
    /// Session starts one connection may make over its life (each replaces the last), so
    /// a client cycling `session_start` cannot fill the registry and the disk.
    #[serde(default = "default_max_sessions_per_connection")]
    pub max_sessions_per_connection: u32,
    /// Frames one session may send per second, with a burst of one second's worth; the
    /// excess is refused with SERVER_OVERLOAD, not queued.
    #[serde(default = "default_max_frames_per_second")]
    pub max_frames_per_second: f64,
    /// When set, clients must present this bearer token.
    pub auth_token: Option<String>,
    pub batching: BatchingConfig,
    pub storage: StorageConfig,
    #[serde(default)]
    pub retention: RetentionConfig,
}

/// A 4K screen (3840x2160).
fn default_max_debug_frame_pixels() -> u64 {
    3840 * 2160
}

fn default_max_connections() -> u32 {
    256
}

fn default_max_sessions_per_connection() -> u32 {
    16
}

fn default_max_frames_per_second() -> f64 {
    240.0
}

/// How long ended sessions stay visible to REST and the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Ended sessions kept at most; the oldest go first.
    pub max_ended_sessions: usize,
    /// An ended session is forgotten this long after its last activity.
    pub ended_ttl_s: f64,
    /// How often the registry is pruned.
    pub prune_interval_s: f64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig { max_ended_sessions: 64, ended_ttl_s: 3600.0, prune_interval_s: 10.0 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchingConfig {
    pub max_batch_size: usize,
    pub max_queue_delay_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    pub enabled: bool,
    pub flush_interval_s: f64,
    /// Bytes of accepted frames the recorder may hold before they are written, over all
    /// sessions; beyond it frames are refused (SERVER_OVERLOAD), never dropped unsaid.
    #[serde(default = "default_max_buffered_bytes")]
    pub max_buffered_bytes: u64,
    /// The same bound for one session.
    #[serde(default = "default_max_session_buffered_bytes")]
    pub max_session_buffered_bytes: u64,
}

fn default_max_buffered_bytes() -> u64 {
    256 << 20
}

fn default_max_session_buffered_bytes() -> u64 {
    32 << 20
}

/// Which recorded frames training uses (seed section 3.2); see `conf/cleaning/default.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CleaningConfig {
    /// Off: every recorded frame is kept.
    pub enabled: bool,
    /// Frames with fewer sampled pixels are dropped.
    pub min_pixels: u32,
    pub stationarity: StationarityConfig,
    pub balance: BalanceConfig,
}

/// Drops frames whose state hardly changed since the previous frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationarityConfig {
    pub enabled: bool,
    /// Per session, the threshold is at least this quantile (0..1) of the state velocities.
    pub quantile: f64,
    /// ...and at least this L2 state change, so sensor noise never counts as motion.
    pub noise_floor: f64,
}

/// Caps over-represented state clusters (k-means) so no situation dominates training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BalanceConfig {
    pub enabled: bool,
    /// Cluster each checkpoint_key (game) on its own rather than all sessions together.
    pub per_game: bool,
    /// k of k-means (per game when `per_game`).
    pub clusters: u32,
    /// Weight of the standardised pixel count next to the standardised state dimensions.
    pub pixel_count_weight: f64,
    /// Clusters larger than this percentile (0..100) of the cluster sizes are downsampled to it.
    pub cap_percentile: f64,
    /// Seeds k-means++ and the downsampling; `null` takes the top-level `seed` at load.
    pub seed: Option<u64>,
}
