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
        mask_update, server). Without --conf the copy built into the binary is used. Change it with \
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

#[derive(Subcommand)]
pub enum Command {
    /// Run the server: WebSocket stream at ws://HOST:PORT/ws/stream, REST under /api.
    Serve(ServeArgs),
    /// Measure performance.
    #[command(subcommand)]
    Bench(BenchCommand),
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
    /// Also compute the last layer's attention weights (what importance needs).
    #[arg(long)]
    pub attention: bool,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Overrides such as `model=spt_small`, `model.decoder=seed`, `device=cpu`.
    pub overrides: Vec<String>,
}
