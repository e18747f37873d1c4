//! Why this file exists: the bad-input tables of the `provisioner` CLI
//! (`provisioner/tests/bad_input.rs`) and of the `harness` CLI (`harness/tests/bad_input.rs`)
//! share one row shape, one runner (the real binary, a hang guard, the first `error:` line of
//! stderr compared exactly, the exit code, no `Debug` dump, no panic) and one docs check: each
//! table is rendered into its block of the book's troubleshooting page
//! (`docs/src/troubleshooting.md`), and the test fails when the page and the rows drift
//! (`BAD_INPUT_BLESS=1` rewrites the block).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A guard against hangs, not a timing assertion: a command still running after this is killed
/// and its row fails as "hung".
pub const HANG_GUARD: Duration = Duration::from_secs(300);

/// One row: what the user did, the command, the exact first error line, the exit code.
pub struct Row {
    /// What the user did (the docs table's first column).
    pub situation: &'static str,
    /// Arguments; `{config}`, `{endpoint}`, `{port}`, `{dir}` are replaced per run.
    pub args: &'static [&'static str],
    /// Environment set for this row (placeholders replaced too); `""` removes the variable.
    pub env: &'static [(&'static str, &'static str)],
    /// The stack spec written to `{config}` (when the row uses one).
    pub config: Option<&'static str>,
    /// What listens at `{endpoint}` / `{port}`.
    pub server: Server,
    /// The first line of stderr that starts with `error:`, exactly (placeholders replaced; `{*}`
    /// matches any text within the line: log file names with a timestamp).
    pub first_line: &'static str,
    pub exit: i32,
}

/// The peer at `{endpoint}`.
#[derive(Clone, Copy)]
pub enum Server {
    None,
    /// A port nobody listens on: connection refused.
    Refused,
    /// Accepts TCP, never answers.
    BlackHole,
    /// Answers every request with `(status, content type, body)`.
    Answer(u16, &'static str, &'static str),
    /// A port held by someone else (for `--listen` rows): accepts and closes.
    Taken,
}

/// The placeholders' values for one run.
pub struct Run {
    pub vars: BTreeMap<&'static str, String>,
    _dir: tempfile::TempDir,
}

impl Run {
    pub fn fill(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (k, v) in &self.vars {
            out = out.replace(&format!("{{{k}}}"), v);
        }
        out
    }
}

/// Starts the row's server and writes its config; the values of every placeholder.
pub fn prepare(row: &Row) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut vars = BTreeMap::new();
    vars.insert("dir", dir.path().display().to_string());
    let config = dir.path().join("stack.toml");
    if let Some(text) = row.config {
        std::fs::write(&config, text).expect("write config");
    }
    vars.insert("config", config.display().to_string());
    if let Some(port) = start_server(row.server) {
        vars.insert("port", port.to_string());
        vars.insert("endpoint", format!("http://127.0.0.1:{port}"));
    }
    Run { vars, _dir: dir }
}

fn start_server(server: Server) -> Option<u16> {
    match server {
        Server::None => None,
        Server::Refused => {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind");
            Some(l.local_addr().expect("addr").port())
        }
        Server::BlackHole | Server::Taken => {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind");
            let port = l.local_addr().expect("addr").port();
            let hold = matches!(server, Server::BlackHole);
            std::thread::spawn(move || {
                let mut held = Vec::new();
                for s in l.incoming().flatten() {
                    if hold {
                        held.push(s);
                    }
                }
            });
            Some(port)
        }
        Server::Answer(status, content_type, body) => {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind");
            let port = l.local_addr().expect("addr").port();
            std::thread::spawn(move || {
                for s in l.incoming().flatten() {
                    std::thread::spawn(move || answer(s, status, content_type, body));
                }
            });
            Some(port)
        }
    }
}

/// Reads one request (headers, then `content-length` bytes) and sends the canned answer.
fn answer(mut s: TcpStream, status: u16, content_type: &str, body: &str) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n) = s.read(&mut chunk) {
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                break;
            }
        }
    }
    let _ = write!(
        s,
        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nx-amzn-requestid: 0c6a1f62-test\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// What one run produced.
pub struct Outcome {
    pub code: i32,
    pub stderr: String,
    pub elapsed: Duration,
}

/// Runs `cmd` to completion, killed after [`HANG_GUARD`].
pub fn run(mut cmd: Command) -> Outcome {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn the binary");
    let mut stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code().unwrap_or(-1);
        }
        if started.elapsed() > HANG_GUARD {
            let _ = child.kill();
            let _ = child.wait();
            break -9;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    Outcome {
        code,
        stderr: reader.join().unwrap_or_default(),
        elapsed,
    }
}

/// `line` equals `pattern`, where each `{*}` in `pattern` matches any text.
pub fn matches_line(pattern: &str, line: &str) -> bool {
    let parts: Vec<&str> = pattern.split("{*}").collect();
    if parts.len() == 1 {
        return pattern == line;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !line.starts_with(first) || !line.ends_with(last) || line.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &line[first.len()..line.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// Checks one row's outcome; returns the problems (empty: the row passes).
pub fn check(row: &Row, run: &Run, out: &Outcome) -> Vec<String> {
    let mut problems = Vec::new();
    let expected = run.fill(row.first_line);
    let first = out.stderr.lines().find(|l| l.starts_with("error:"));
    match first {
        Some(line) if matches_line(&expected, line) => {}
        Some(line) => problems.push(format!(
            "first error line\n  got:      {line}\n  expected: {expected}"
        )),
        None => problems.push("no `error:` line on stderr".into()),
    }
    if out.code != row.exit {
        problems.push(format!("exit code {} (expected {})", out.code, row.exit));
    }
    for bad in [
        "panicked at",
        "RUST_BACKTRACE",
        "DispatchFailure(",
        "ConnectorError",
        " { ",
        "\u{1b}[",
    ] {
        if out.stderr.contains(bad) {
            problems.push(format!(
                "stderr contains `{bad}` (a panic, a Debug dump or colour)"
            ));
        }
    }
    problems
}

/// Runs every row with `command(row, run)`; prints one line per row (time included) and
/// panics listing every failing row.
pub fn run_table(rows: &[Row], command: impl Fn(&Row, &Run) -> Command) {
    let mut failures = Vec::new();
    for row in rows {
        let prepared = prepare(row);
        let out = run(command(row, &prepared));
        let problems = check(row, &prepared, &out);
        eprintln!(
            "{} {:>6.2}s exit {} | {}",
            if problems.is_empty() { "PASS" } else { "FAIL" },
            out.elapsed.as_secs_f64(),
            out.code,
            row.situation
        );
        if !problems.is_empty() {
            failures.push(format!(
                "{}:\n  {}\n  stderr:\n{}",
                row.situation,
                problems.join("\n  "),
                out.stderr
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The docs rendering of `rows`: one Markdown table row each, placeholders shown as a user
/// would see them.
pub fn markdown(binary: &str, rows: &[Row]) -> String {
    let show = |s: &str| {
        s.replace("{config}", "stack.toml")
            .replace("{endpoint}", "http://127.0.0.1:PORT")
            .replace("{port}", "PORT")
            .replace("{dir}", "DIR")
            .replace("{*}", "...")
            .replace('|', "\\|")
    };
    let mut out = String::from(
        "| situation | command | exit | first line of the error |\n|---|---|---:|---|\n",
    );
    for r in rows {
        let env: Vec<String> = r
            .env
            .iter()
            .map(|(k, v)| {
                if v.is_empty() {
                    format!("-u {k}")
                } else {
                    format!("{k}={}", show(v))
                }
            })
            .collect();
        let env = if env.is_empty() {
            String::new()
        } else {
            format!("{} ", env.join(" "))
        };
        out.push_str(&format!(
            "| {} | `{env}{binary} {}` | {} | `{}` |\n",
            r.situation,
            show(&r.args.join(" ")),
            r.exit,
            show(r.first_line)
        ));
    }
    out
}

/// The book's troubleshooting page, where the tables are shown to users.
pub fn troubleshooting_page() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("docs/src/troubleshooting.md")
}

/// Checks (or with `BAD_INPUT_BLESS=1` rewrites) the troubleshooting page's block between
/// `<!-- bad-input:{name} -->` and `<!-- /bad-input:{name} -->`.
pub fn check_docs_block(name: &str, table: &str) {
    let path = troubleshooting_page();
    let shown = "docs/src/troubleshooting.md";
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {shown}: {e}"));
    let (open, close) = (
        format!("<!-- bad-input:{name} -->\n"),
        format!("<!-- /bad-input:{name} -->"),
    );
    let start = text
        .find(&open)
        .unwrap_or_else(|| panic!("{shown} lacks the line {open}"))
        + open.len();
    let end = text[start..]
        .find(&close)
        .unwrap_or_else(|| panic!("{shown} lacks the line {close}"))
        + start;
    if &text[start..end] == table {
        return;
    }
    if std::env::var("BAD_INPUT_BLESS").as_deref() == Ok("1") {
        let new = format!("{}{table}{}", &text[..start], &text[end..]);
        std::fs::write(&path, new).unwrap_or_else(|e| panic!("write {shown}: {e}"));
        return;
    }
    panic!(
        "{shown}'s bad-input:{name} table differs from the rows in the test; run the test with \
         BAD_INPUT_BLESS=1 to rewrite it. Expected:\n{table}"
    );
}

#[test]
fn wildcard_lines() {
    assert!(matches_line("error: a {*} b", "error: a x y b"));
    assert!(!matches_line("error: a {*} b", "error: a x y c"));
    assert!(matches_line("exact", "exact"));
}
