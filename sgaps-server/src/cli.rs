//! Command-line arguments. Every command takes Hydra-style overrides after its options:
//! `group=option` picks another file of a `conf/` group, `a.b.c=value` sets one value.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use sgaps_core::Config;

#[derive(Parser)]
#[command(
    name = "sgaps",
    version,
    about = "Server-Guided Adaptive Pixel Sampling: reconstruct game frames from a few hundred sampled pixels",
    long_about = "Server-Guided Adaptive Pixel Sampling.\n\n\
        A game sends a few hundred sampled pixels per frame plus its state vector; the Sparse Pixel \
        Transformer reconstructs the frame, and the server tells the game which pixels to sample next.\n\n\
        Configuration is composed from the YAML groups under conf/ (model, training, sampling, \
        mask_update, server, cleaning). Without --conf the copy built into the binary is used. Change it with \
        overrides after the command, e.g.\n\n    sgaps serve model=spt_small server.port=9000\n    \
        sgaps bench model model.decoder=seed --batch 8"
)]
pub struct Cli {
    #[command(flatten)]
    pub conf: ConfArgs,
    /// Log debug messages (RUST_LOG overrides this).
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args)]
pub struct ConfArgs {
    /// Configuration directory holding config.yaml and its groups [default: built-in copy of conf/]
    #[arg(long, global = true, env = "SGAPS_CONF_DIR", value_name = "DIR")]
    pub conf: Option<PathBuf>,
}

impl ConfArgs {
    pub fn load(&self, overrides: &[String]) -> anyhow::Result<Config> {
        Ok(Config::load(self.conf.as_deref(), overrides)?)
    }
}

/// `--data` takes every word after it (so a shell glob works), overrides written after
/// the files included: `--data a.h5 b.h5 checkpoint_dir=checkpoints`. Words that hold a
/// `=` and are no existing file are overrides: they join the others, last (as written).
pub fn overrides_after_data(data: &mut Vec<PathBuf>, overrides: &mut Vec<String>) {
    let (files, words): (Vec<PathBuf>, Vec<PathBuf>) =
        std::mem::take(data).into_iter().partition(|path| path.exists() || !path.to_string_lossy().contains('='));
    *data = files;
    overrides.extend(words.into_iter().map(|word| word.to_string_lossy().into_owned()));
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the server: WebSocket stream at ws://HOST:PORT/ws/stream, REST under /api.
    Serve(ServeArgs),
    /// Measure performance.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Simulate game clients against a running server; report latency, throughput and memory.
    #[command(long_about = LOADTEST_HELP)]
    Loadtest(LoadtestArgs),
    /// Score reconstruction on recorded clips with ground truth: the model closed loop
    /// (the engine picks coordinates) and on the plain space-time pattern, next to
    /// classical interpolation of one frame's samples and of the last frames' union
    /// (with and without scroll compensation), and the all-pixels ceiling; by group
    /// (held-out levels, held-out episodes, never-trained games) and game.
    Evaluate(EvaluateArgs),
    /// Train a model (temporal family or Sparse Pixel Transformer) on recorded sessions,
    /// one phase per run.
    #[command(long_about = TRAIN_HELP)]
    Train(TrainArgs),
    /// Choose the recorded frames training uses: drop frames with too few pixels and
    /// still frames, cap over-represented state clusters; write what each step removed.
    #[command(long_about = CLEAN_HELP)]
    Clean(CleanArgs),
    /// Print the composed configuration as YAML.
    Config {
        /// Overrides such as `model=spt_small` or `model.embed_dim=128`.
        overrides: Vec<String>,
    },
}

#[derive(Args)]
pub struct ServeArgs {
    /// Overrides such as `server.port=9000` or `model=spt_small`.
    pub overrides: Vec<String>,
}

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Forward-pass latency, throughput and FLOP rate of the Sparse Pixel Transformer
    /// with random weights (the cost does not depend on the weights).
    Model(BenchModelArgs),
    /// The whole per-frame path through the engine, as a client's frame takes it:
    /// session memory, forward pass, importance, sampling of the next coordinates, for
    /// `--batch` sessions submitted together (trained weights when the checkpoint exists).
    Frame(BenchFrameArgs),
}

#[derive(Args)]
pub struct BenchFrameArgs {
    /// Sessions whose frames go through one `submit_batch`.
    #[arg(long, default_value_t = 1)]
    pub batch: u32,
    /// Timed batches.
    #[arg(long, default_value_t = 50)]
    pub iters: u32,
    /// Untimed batches first.
    #[arg(long, default_value_t = 5)]
    pub warmup: u32,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Overrides such as `model=temporal sampling=space_time mask_update=every_frame`.
    pub overrides: Vec<String>,
}

#[derive(Args)]
pub struct BenchModelArgs {
    /// Frames per forward pass.
    #[arg(long, default_value_t = 1)]
    pub batch: u32,
    /// Sampled pixels per frame.
    #[arg(long, default_value_t = 500)]
    pub pixels: u32,
    /// Output width [default: model.resolution]
    #[arg(long)]
    pub width: Option<i64>,
    /// Output height [default: model.resolution]
    #[arg(long)]
    pub height: Option<i64>,
    /// Timed forward passes.
    #[arg(long, default_value_t = 20)]
    pub iters: u32,
    /// Untimed forward passes first (allocator and kernel warm-up).
    #[arg(long, default_value_t = 3)]
    pub warmup: u32,
    /// Also compute the attention entropy importance needs, as the engine does.
    #[arg(long)]
    pub attention: bool,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Overrides such as `model=spt_small`, `model.decoder=seed`, `device=cpu`.
    pub overrides: Vec<String>,
}

const LOADTEST_HELP: &str = "Simulate game clients against a running `sgaps serve`.\n\n\
    Each client connects, starts a session at resolution [640, 480] and streams frame_data open \
    loop at the target fps (it never waits for a reply), sampling a moving test scene at the \
    coordinates the server hands out and swapping to new ones at their target_frame_id, as \
    PROTOCOL.md describes. At the end it prints latency p50/p99, frames/s sent and \
    reconstructed, skipped frames and the server's memory.\n\n\
    Latency. The end-to-end latency of frame N is the time from sending it to receiving the \
    server's reaction to it: the uv_coordinates message with target_frame_id N+1. The server \
    sends one only when it renews the mask, so for a sample of every frame run it with\n\n    \
    sgaps serve mask_update=fixed mask_update.fixed_interval=1\n\n\
    In other modes replies are few, and the report falls back to the server's own measure, \
    receipt to reconstruction (latency_ms of /api/sessions/{id}/frames), which leaves out the \
    network and the client. Replies are used when they cover at least 90% of the frames the \
    server reconstructed for these sessions; the report names the source (replies | server).\n\n\
    Throughput. Reconstructed and skipped frames are the change of sgaps_frames_reconstructed_total \
    and sgaps_frames_skipped_total in /api/metrics over the run, so other clients of the same \
    server count too. Skipped frames were stored but not reconstructed because a newer frame of \
    the same session arrived while they waited (overload). Frames neither reconstructed nor \
    skipped when the clients close (2 s after their last frame) are reported as unanswered; \
    their latency is not in the percentiles.\n\n\
    Memory. VmRSS of the server process, the largest value seen during the run: the process \
    listening on the URL's port when the host is local, or --server-pid.\n\n\
    Soak and chaos (--soak). The load test owns the server: it starts `sgaps serve` with the \
    overrides after `--` (its own port, data and checkpoint directories under --work-dir), and \
    its clients disconnect at random (abruptly or cleanly) and reconnect, and mix malformed and \
    oversized messages into their frames. At 40% of the run a new checkpoint is written under \
    the key half the clients use; at 60% the server is killed with SIGKILL and restarted. \
    Every client acknowledges frames with heartbeats (the server answers in order). At the \
    end the server is stopped with SIGTERM and its HDF5 files are read back. Checks: no crash \
    but the planned kill, every acknowledged frame stored (after the kill: those acknowledged \
    a flush interval before it), nothing stored that was not sent, every malformed message \
    answered, memory flat after warm-up. Exits non-zero when a check fails.\n\n\
    Example:\n\n    sgaps loadtest --clients 8 --seconds 15\n    \
    sgaps loadtest --soak --clients 32 --seconds 180 -- device=cpu";

#[derive(Args)]
pub struct LoadtestArgs {
    /// WebSocket endpoint of the server.
    #[arg(long, default_value = "ws://127.0.0.1:8000/ws/stream")]
    pub url: String,
    /// Simulated clients, one session each.
    #[arg(long, default_value_t = 1)]
    pub clients: u32,
    /// How long each client streams.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Frames per second of each client [default: target_fps of session_start_ack]
    #[arg(long)]
    pub fps: Option<f64>,
    /// Send every K-th frame as frame_data_debug with the full frame (0: never).
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub debug_every: u64,
    /// checkpoint_key of the sessions (selects the model).
    #[arg(long, default_value = "default")]
    pub checkpoint_key: String,
    /// The server's auth token (`?token=` on the socket, bearer token for /api).
    #[arg(long)]
    pub token: Option<String>,
    /// Process id of the server, for its memory [default: the process listening on the port]
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Soak and chaos mode: start and own the server, disconnect, send malformed and
    /// oversized messages, replace a checkpoint, SIGKILL and restart the server, then
    /// check what was stored (see above). Clients stream at --fps (default 10); --url,
    /// --server-pid and --checkpoint-key do not apply.
    #[arg(long)]
    pub soak: bool,
    /// --soak: where the server's data/, checkpoints/ and server.log go [default: a new
    /// directory under the system's temporary directory, kept for inspection]
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// --soak: overrides for the server it starts, e.g. `-- model=spt_small device=cpu`.
    #[arg(last = true)]
    pub server_overrides: Vec<String>,
}

#[derive(Args)]
pub struct EvaluateArgs {
    /// Recorded sessions (HDF5, e.g. data/mario.h5), one game per file; only frames with
    /// ground truth (frame_data_debug) count. Repeat for several games.
    #[arg(long, required = true)]
    pub data: Vec<PathBuf>,
    /// The checkpoint to evaluate (unknown keys fall back to `default`).
    #[arg(long, default_value = "default")]
    pub checkpoint_key: String,
    /// Sample counts per frame, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "250,500,1000")]
    pub samples: Vec<usize>,
    /// At most this many frames of each session.
    #[arg(long, default_value_t = 100)]
    pub max_frames: usize,
    /// Frames in the union of the temporal baselines.
    #[arg(long, default_value_t = 8)]
    pub union_frames: usize,
    /// Scroll search radius (pixels) of the scroll-compensated union baseline.
    #[arg(long, default_value_t = 6)]
    pub max_shift: i32,
    /// Games evaluated at once (threads sharing one engine).
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
    /// Where report.md and the picture grids go.
    #[arg(long, default_value = "evaluation")]
    pub out: PathBuf,
    /// Overrides such as `checkpoint_dir=checkpoints` or `device=cpu`.
    pub overrides: Vec<String>,
}

const TRAIN_HELP: &str = "Train a model on recorded sessions, one phase per run.\n\n\
    The temporal family (model=temporal training=temporal) trains on clips of frames with \
    ground truth, uncleaned so the sequences stay whole: each step runs batch_size clips one \
    frame further through the session memory, samples the true frame on the space-time pattern \
    (250-1000 pixels, 2-8 %), feeds the model's own output back as the next frame's history, \
    and trains on that frame (L1 + gradient L1 + predicted-error L1).\n  \
    phase 1 (training=temporal)  open loop: the plain space-time pattern.\n  \
    phase 2 (training=temporal training.phase=2 training.closed_loop=true --init PHASE1)  \
    closed loop: a share of each frame's samples goes where the predicted error is high.\n\
    Its optimiser moments are saved with RUN_DIR/last, so --resume continues exactly.\n\n\
    The Sparse Pixel Transformer (seed section 2.3, model=spt*):\n\n\
    The files are read (SGAPS's layout or the reference trainer's), cleaned (conf/cleaning: \
    minimum pixels, stationary stretches, k-means balancing; report in RUN_DIR/cleaning), and the \
    last validation_fraction of every session is held out. One run trains one phase, chosen \
    with `training=phaseN`:\n\n  \
    phase1  masked sparse modelling: the model sees a random subset of the pixels the client \
    sent and is scored (L2) on all of them.\n  \
    phase2  adds the full-frame L2 loss on frames with ground truth, and samples those frames \
    afresh (uniform grid or stratified, 250-1000 pixels) as well as from the recording.\n  \
    phase3  closed-loop fine-tuning: fresh samples are placed by the adaptive sampler from the \
    model's own importance map, as the server does.\n\n\
    AdamW with cosine annealing and gradient-norm clipping; batches sorted by pixel count; \
    bf16 autocast on CUDA with precision=bfloat16. After every epoch the validation PSNR (and \
    that of linear interpolation from the same samples) is logged; the best epoch by \
    training.best_metric is registered as checkpoint_dir/CHECKPOINT_KEY, the last one is kept in \
    RUN_DIR/last for --resume. TensorBoard: `tensorboard --logdir RUN_DIR` (scalars, and \
    pictures of truth, reconstruction, importance and samples).\n\n\
    Example (the default checkpoint, docs/default-model.md):\n\n    \
    sgaps train model=spt_cpu training=phase2 --checkpoint-key default --run-dir runs/phase2 \\\n        \
    --data data/train-*.h5";

#[derive(Args)]
pub struct TrainArgs {
    /// Recorded sessions (HDF5); repeat or use a shell glob.
    #[arg(long, required = true, num_args = 1..)]
    pub data: Vec<PathBuf>,
    /// The best model is registered as {checkpoint_dir}/{KEY}.
    #[arg(long, default_value = "default", value_name = "KEY")]
    pub checkpoint_key: String,
    /// Last checkpoint, trainer state, TensorBoard events and the cleaning report.
    #[arg(long, default_value = "runs/train")]
    pub run_dir: PathBuf,
    /// Continue the run in --run-dir from its last finished epoch.
    #[arg(long)]
    pub resume: bool,
    /// Start from this checkpoint directory's weights (e.g. the previous phase's) instead of
    /// new ones. The temporal family takes its model and memory rules from this run's
    /// config (a later phase may change how the input planes are made); the SPT keeps the
    /// checkpoint's config.
    #[arg(long, value_name = "DIR")]
    pub init: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Overrides such as `training=phase2`, `model=spt_cpu`, `training.epochs=3`; put
    /// them before --data, which takes every word after it.
    pub overrides: Vec<String>,
}

const CLEAN_HELP: &str = "Choose the recorded frames training uses (seed section 3.2), over the union of \
    the sessions in the --data files, and report what each step removed. The steps run in order, \
    each configured under `cleaning` (conf/cleaning/default.yaml); `cleaning.enabled=false` keeps every frame.\n\n\
    1. Minimum pixels. Frames with fewer than cleaning.min_pixels sampled pixels are dropped.\n\n\
    2. Stationarity. Per session, the state velocity of a frame is v_t = ||s_t - s_(t-1)||, the L2 \
    norm over the state length both frames share (the first frame of a session is always kept). \
    The threshold is max(cleaning.stationarity.noise_floor, the cleaning.stationarity.quantile quantile \
    of the session's velocities): it follows the data, so a session that is all motion keeps most \
    frames, yet jitter under the noise floor never counts as motion. Frames below it are dropped. \
    Sessions without a state vector keep all their frames.\n\n\
    3. Balancing. k-means (cleaning.balance.clusters, k-means++ seeding) over the remaining frames \
    of each game (the sessions sharing a checkpoint_key, across files) on its own; with \
    cleaning.balance.per_game=false over all sessions together, though state dimensions of different \
    games mean different things and one game may then fall into a single cluster. Features are the state vector, zero-padded to the longest and standardised per \
    dimension, plus the standardised pixel count times cleaning.balance.pixel_count_weight. Clusters \
    larger than the cleaning.balance.cap_percentile percentile of the cluster sizes are downsampled \
    at random to it; smaller clusters are untouched. cleaning.balance.seed (default: seed) makes \
    it reproducible.\n\n\
    The Markdown report (frames after each step per session and in total, the threshold of each \
    session, cluster sizes before and after capping) is printed and written to OUT/report.md; \
    OUT/clusters.png charts the cluster sizes, game after game (grey before capping, blue after, red \
    line: the cap).\n\n\
    Example:\n\n    sgaps clean --data data/mario.h5 data/atari.h5 --out cleaning cleaning.balance.clusters=32";

#[derive(Args)]
pub struct CleanArgs {
    /// Recorded sessions (HDF5, either layout); all files are cleaned together.
    #[arg(long, required = true, num_args = 1..)]
    pub data: Vec<PathBuf>,
    /// Where report.md and clusters.png go.
    #[arg(long, default_value = "cleaning")]
    pub out: PathBuf,
    /// Overrides such as `cleaning.min_pixels=100` or `cleaning.balance.enabled=false`.
    pub overrides: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_written_after_the_data_files_are_overrides() {
        let dir = tempfile::tempdir().unwrap();
        // A file may hold a `=` in its name; it stays a file.
        let odd = dir.path().join("level=1.h5");
        std::fs::write(&odd, b"").unwrap();
        let mut data = vec![odd.clone(), PathBuf::from("missing.h5"), "checkpoint_dir=checkpoints".into(), "device=cpu".into()];
        let mut overrides = vec!["model=temporal".to_string()];
        overrides_after_data(&mut data, &mut overrides);
        assert_eq!(data, [odd, PathBuf::from("missing.h5")]);
        assert_eq!(overrides, ["model=temporal", "checkpoint_dir=checkpoints", "device=cpu"]);
    }
}
