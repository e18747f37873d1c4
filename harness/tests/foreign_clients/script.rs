//! Why this file exists: the seed-tutorial tests run what a user runs (a bash script on the AWS
//! CLI, a boto3 script, or `harness run` wrapping one) as a child process with a deadline, print
//! its lines as they come (prefixed with a label, so parallel tests stay readable), and keep its
//! exit code, stdout and stderr for the assertions. A child still running at its deadline gets
//! SIGTERM, then SIGKILL for its whole process group: nothing outlives the test.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a child may take to exit after SIGTERM before its process group is killed.
const TERM_GRACE: Duration = Duration::from_secs(15);

/// What a finished child left.
#[derive(Debug)]
pub struct Ran {
    /// Its exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
}

/// Runs `cmd` (stdin closed, in a process group of its own) until it exits or `deadline` passes.
pub fn run(label: &str, mut cmd: Command, deadline: Duration) -> Result<Ran, String> {
    let started = Instant::now();
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("{label}: cannot start {shown}: {e}"))?;
    let (tx, rx) = mpsc::channel::<(bool, String)>();
    let readers = [
        child.stdout.take().map(|o| reader(o, false, tx.clone())),
        child.stderr.take().map(|e| reader(e, true, tx)),
    ];
    let (mut stdout, mut stderr) = (String::new(), String::new());
    let mut killed = None;
    let status = loop {
        while let Ok((is_err, line)) = rx.try_recv() {
            println!("{label} {} {line}", if is_err { "!" } else { "|" });
            let sink = if is_err { &mut stderr } else { &mut stdout };
            sink.push_str(&line);
            sink.push('\n');
        }
        if let Some(status) = child
            .try_wait()
            .map_err(|e| format!("{label}: wait: {e}"))?
        {
            break status;
        }
        let elapsed = started.elapsed();
        match killed {
            None if elapsed > deadline => {
                eprintln!("{label}: still running after {deadline:?}: SIGTERM");
                signal(child.id(), false, libc::SIGTERM);
                killed = Some(elapsed);
            }
            Some(at) if elapsed > at + TERM_GRACE => {
                eprintln!("{label}: ignored SIGTERM for {TERM_GRACE:?}: SIGKILL to its group");
                signal(child.id(), true, libc::SIGKILL);
            }
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    for handle in readers.into_iter().flatten() {
        let _ = handle.join();
    }
    for (is_err, line) in rx.try_iter() {
        println!("{label} {} {line}", if is_err { "!" } else { "|" });
        let sink = if is_err { &mut stderr } else { &mut stdout };
        sink.push_str(&line);
        sink.push('\n');
    }
    if killed.is_some() {
        return Err(format!(
            "{label}: {shown} did not finish within {deadline:?}; stderr:\n{stderr}"
        ));
    }
    Ok(Ran {
        code: status.code(),
        stdout,
        stderr,
        took: started.elapsed(),
    })
}

fn reader(
    pipe: impl std::io::Read + Send + 'static,
    is_err: bool,
    tx: mpsc::Sender<(bool, String)>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if tx.send((is_err, line)).is_err() {
                return;
            }
        }
    })
}

/// Sends `sig` to the child, or to its whole process group (it leads one of its own).
fn signal(pid: u32, group: bool, sig: libc::c_int) {
    let pid = pid as libc::pid_t;
    // SAFETY: signalling our own child (or the process group it leads).
    unsafe {
        libc::kill(if group { -pid } else { pid }, sig);
    }
}

/// Collects named checks, printing `PASS name` or `FAIL name: detail` for each as it is made.
#[derive(Debug, Default)]
pub struct Verdicts {
    failed: Vec<String>,
    passed: usize,
}

impl Verdicts {
    pub fn check(&mut self, label: &str, name: &str, ok: bool, detail: impl FnOnce() -> String) {
        if ok {
            println!("{label}: PASS {name}");
            self.passed += 1;
        } else {
            let detail = detail();
            println!("{label}: FAIL {name}: {detail}");
            self.failed.push(format!("{name}: {detail}"));
        }
    }

    /// Fails the test naming every failed check.
    pub fn assert_all_passed(&self, label: &str) {
        assert!(
            self.failed.is_empty(),
            "{label}: {} of {} checks failed:\n  {}",
            self.failed.len(),
            self.failed.len() + self.passed,
            self.failed.join("\n  ")
        );
        assert!(self.passed > 0, "{label}: no check was made");
    }
}
