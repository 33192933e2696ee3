//! `sgaps clean`: runs the training-data cleaning over recorded files and writes its
//! report, so the effect of `cleaning.*` settings can be seen before training.

use anyhow::Context;
use sgaps_core::data::{clean, read_file};

use crate::cli::{CleanArgs, ConfArgs};

pub fn run(conf: &ConfArgs, mut args: CleanArgs) -> anyhow::Result<()> {
    crate::cli::overrides_after_data(&mut args.data, &mut args.overrides);
    let config = conf.load(&args.overrides)?;
    let mut sessions = Vec::new();
    for path in &args.data {
        // Sessions of different files may share ids; the report names them `file/session`.
        let file = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        for mut session in read_file(path)? {
            session.info.session_id = format!("{file}/{}", session.info.session_id);
            sessions.push(session);
        }
    }
    let cleaned = clean(&sessions, &config.cleaning);
    cleaned.report.write(&args.out).with_context(|| format!("cannot write the report into {}", args.out.display()))?;
    print!("{}", cleaned.report.markdown());
    let files = if !cleaned.report.clusters.is_empty() { "report.md and clusters.png" } else { "report.md" };
    println!("\n{files} in {}", args.out.display());
    Ok(())
}
