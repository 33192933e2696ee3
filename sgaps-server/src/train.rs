//! `sgaps train`: one training phase with a progress bar; the loop is
//! `sgaps_core::training`.

use indicatif::{ProgressBar, ProgressStyle};
use sgaps_core::training::{train, Progress, TrainOptions};

use crate::cli::{ConfArgs, TrainArgs};

pub fn run(conf: &ConfArgs, mut args: TrainArgs) -> anyhow::Result<()> {
    crate::cli::overrides_after_data(&mut args.data, &mut args.overrides);
    let config = conf.load(&args.overrides)?;
    tracing::info!(phase = config.training.phase, description = %config.training.description, model = %config.model.name, "training");
    let options = TrainOptions {
        data: args.data,
        checkpoint_key: args.checkpoint_key,
        run_dir: args.run_dir,
        resume: args.resume,
        init: args.init,
    };
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("epoch {prefix} {bar:30} {pos}/{len} steps {msg} [{elapsed} < {eta}]").expect("valid template"),
    );
    let summary = train(&config, &options, &mut |p: &Progress| {
        if bar.length() != Some(p.steps_in_epoch as u64) || p.step_in_epoch == 1 {
            bar.reset();
            bar.set_length(p.steps_in_epoch as u64);
            bar.set_prefix(format!("{}/{}", p.epoch, p.epochs));
        }
        bar.set_position(p.step_in_epoch as u64);
        bar.set_message(format!("loss {:.5} lr {:.1e} {:.1} frames/s", p.loss, p.learning_rate, p.frames_per_second));
    })?;
    bar.finish_and_clear();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "trained {} epochs on {} frames ({} for validation); best epoch {} with {} = {:.3} (linear interpolation of the same samples: {:.2} dB PSNR); checkpoint {}",
            summary.epochs_run,
            summary.train_frames,
            summary.validation_frames,
            summary.best_epoch,
            config.training.best_metric,
            summary.best_metric,
            summary.linear_psnr,
            summary.checkpoint.display()
        );
    }
    Ok(())
}
