//! The server a soak run owns: `sgaps serve` (this same binary) on a free loopback
//! port, with its data and checkpoint directories under the run's work directory and
//! its log appended to `server.log` there. It can be killed with SIGKILL and started
//! again on the same port and directories, and is stopped at the end with SIGTERM.

use std::fs::OpenOptions;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

const START_TIMEOUT: Duration = Duration::from_secs(120);
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

pub struct ManagedServer {
    child: Child,
    pub port: u16,
    pub data_root: PathBuf,
    pub checkpoint_dir: PathBuf,
    log: PathBuf,
    overrides: Vec<String>,
}

impl ManagedServer {
    /// Starts the server with `overrides` (then its own port and directories) and waits
    /// until `/api/health` answers.
    pub fn start(work_dir: &Path, overrides: &[String]) -> anyhow::Result<ManagedServer> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let data_root = work_dir.join("data");
        let checkpoint_dir = work_dir.join("checkpoints");
        std::fs::create_dir_all(&checkpoint_dir).with_context(|| format!("creating {}", checkpoint_dir.display()))?;
        let log = work_dir.join("server.log");
        let child = spawn(&log, &server_args(overrides, port, &data_root, &checkpoint_dir))?;
        let mut server = ManagedServer { child, port, data_root, checkpoint_dir, log, overrides: overrides.to_vec() };
        server.wait_until_up()?;
        Ok(server)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws/stream", self.port)
    }

    pub fn http(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// How the process ended, if it has.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGKILL, waited for.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        self.child.kill().context("SIGKILL the server")?;
        self.child.wait().context("waiting for the killed server")?;
        Ok(())
    }

    /// Starts the server again on the same port and directories.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        let args = server_args(&self.overrides, self.port, &self.data_root, &self.checkpoint_dir);
        self.child = spawn(&self.log, &args)?;
        self.wait_until_up()
    }

    /// SIGTERM (the server drains and closes its files), waited for.
    pub fn terminate(&mut self) -> anyhow::Result<ExitStatus> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().context("running kill -TERM")?;
        anyhow::ensure!(sent.success(), "kill -TERM {pid} failed");
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                self.child.kill()?;
                bail!("the server did not stop within {STOP_TIMEOUT:?} of SIGTERM; killed (see {})", self.log.display());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_until_up(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        let health = self.http("/api/health");
        while ureq::get(&health).timeout(Duration::from_secs(2)).call().is_err() {
            if let Some(status) = self.exited() {
                bail!("the server exited while starting ({status}); see {}", self.log.display());
            }
            if Instant::now() > deadline {
                bail!("the server did not answer {health} within {START_TIMEOUT:?}; see {}", self.log.display());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

impl Drop for ManagedServer {
    fn drop(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn server_args(overrides: &[String], port: u16, data_root: &Path, checkpoint_dir: &Path) -> Vec<String> {
    let mut args = vec!["serve".to_string()];
    args.extend(overrides.iter().cloned());
    // Last, so they win over the caller's overrides.
    args.push("server.host=127.0.0.1".into());
    args.push(format!("server.port={port}"));
    args.push(format!("data_root={}", data_root.display()));
    args.push(format!("checkpoint_dir={}", checkpoint_dir.display()));
    args
}

fn spawn(log: &Path, args: &[String]) -> anyhow::Result<Child> {
    let exe = std::env::current_exe().context("locating the sgaps binary")?;
    let out = OpenOptions::new().create(true).append(true).open(log).with_context(|| format!("opening {}", log.display()))?;
    let err = out.try_clone()?;
    Command::new(exe)
        .args(args)
        .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .context("starting `sgaps serve`")
}
