//! Why this file exists: the foreign-clients test starts its environment the way a user does,
//! as the `harness up` command (not in-process), and hands the clients exactly the dotenv lines
//! it prints (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`).
//! Dropping [`HarnessUp`] sends SIGTERM and waits, so no emulator outlives the test.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The variables `harness up` prints and the clients need.
pub const VARS: [&str; 4] = [
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_REGION",
];

/// How long `harness up` may take to print its endpoint (a cold moto bootstrap included).
const READY_TIMEOUT: Duration = Duration::from_secs(300);
/// How long it may take to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// A running `harness up`.
pub struct HarnessUp {
    child: Child,
    /// The dotenv lines it printed (name → value).
    pub vars: BTreeMap<String, String>,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
    /// How long it took until every variable was printed.
    pub ready_in: Duration,
}

impl HarnessUp {
    /// `harness up --listen 127.0.0.1:0 --backend moto ARGS`, until it has printed [`VARS`].
    pub fn start(args: &[String]) -> Result<HarnessUp, String> {
        let started = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
            .args(["up", "--listen", "127.0.0.1:0", "--backend", "moto"])
            .args(args)
            .env("RUST_LOG", "info")
            // A state file of this process's own: no other test's `harness run` attaches to this `up`.
            .env(
                "HARNESS_UP_STATE",
                std::env::temp_dir().join(format!("harness-up-{}.json", std::process::id())),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting `harness up`: {e}"))?;
        let stderr = Arc::new(Mutex::new(String::new()));
        let (Some(out), Some(mut err)) = (child.stdout.take(), child.stderr.take()) else {
            return Err("harness up: no stdout/stderr pipe".into());
        };
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = err.read(&mut buf) {
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
        let (tx, rx) = mpsc::channel();
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&stdout);
        // Keeps reading after start() returned, so harness up never writes into a closed pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Ok(mut l) = lines.lock() {
                    l.push(line.clone());
                }
                let _ = tx.send(line);
            }
        });
        let mut up = HarnessUp {
            child,
            vars: BTreeMap::new(),
            stdout,
            stderr,
            ready_in: Duration::ZERO,
        };
        while !VARS.iter().all(|v| up.vars.contains_key(*v)) {
            let left = READY_TIMEOUT.saturating_sub(started.elapsed());
            let line = rx.recv_timeout(left).map_err(|_| {
                format!(
                    "harness up printed no {VARS:?} within {READY_TIMEOUT:?} (or exited); stderr:\n{}",
                    up.stderr()
                )
            })?;
            if let Some((k, v)) = line.split_once('=').filter(|_| !line.starts_with('#')) {
                up.vars.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
        up.ready_in = started.elapsed();
        Ok(up)
    }

    /// Every line it printed on stdout so far (the variables and its `#` comments).
    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// What it logged so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for HarnessUp {
    fn drop(&mut self) {
        // SAFETY: signalling our own child process.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let started = Instant::now();
        while started.elapsed() < STOP_TIMEOUT {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("harness up ignored SIGTERM for {STOP_TIMEOUT:?}; killing it");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
