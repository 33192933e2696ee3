//! `sgaps`: the command line of SGAPS (serve, train, evaluate, clean, bench, loadtest, config).

mod bench;
mod clean;
mod cli;
mod evaluate;
mod loadtest;
mod server;
mod train;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(if cli.verbose { "debug" } else { "info" })),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        cli::Command::Serve(args) => server::run(cli.conf.load(&args.overrides)?),
        cli::Command::Bench(cli::BenchCommand::Model(args)) => bench::model(&cli.conf, args),
        cli::Command::Bench(cli::BenchCommand::Frame(args)) => bench::frame(&cli.conf, args),
        cli::Command::Loadtest(args) => loadtest::run(args),
        cli::Command::Evaluate(args) => evaluate::run(&cli.conf, args),
        cli::Command::Train(args) => train::run(&cli.conf, args),
        cli::Command::Clean(args) => clean::run(&cli.conf, args),
        cli::Command::Config { overrides } => {
            let config = cli.conf.load(&overrides)?;
            print!("{}", serde_yaml_ng::to_string(&config)?);
            Ok(())
        }
    }
}
