//! `--compare-proxy NAME=COMMAND`: another build of the proxy (an older commit's `harness proxy`,
//! a `faultproxy` binary) run as its own process in part 2, in front of the same upstream and
//! measured by the same load generator in the same run as ours and nginx, so a before/after
//! comparison is not spoilt by the machine's load changing between two bench runs.
//!
//! The bench appends `--upstream http://UPSTREAM --listen 127.0.0.1:0` to COMMAND (split at
//! whitespace) and reads the `AWS_ENDPOINT_URL=http://ADDR` line both commands print first.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// How long a compared proxy may take to print its endpoint.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// `NAME=COMMAND` as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyCommand {
    pub name: String,
    pub argv: Vec<String>,
}

impl std::str::FromStr for ProxyCommand {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let usage = "expected NAME=COMMAND, e.g. before=\"/path/harness proxy --flavor moto\"";
        let (name, cmd) = s.split_once('=').ok_or_else(|| format!("{s:?}: {usage}"))?;
        let argv: Vec<String> = cmd.split_whitespace().map(str::to_string).collect();
        let name = name.trim();
        if name.is_empty() || argv.is_empty() {
            return Err(format!("{s:?}: {usage}"));
        }
        if [
            "direct",
            "proxy",
            "proxy_rules",
            "nginx",
            "proxy_1t",
            "nginx_1w",
        ]
        .contains(&name)
        {
            return Err(format!(
                "{s:?}: {name} is one of the bench's own targets; pick another name"
            ));
        }
        Ok(ProxyCommand {
            name: name.to_string(),
            argv,
        })
    }
}

/// A compared proxy process; dropping it stops it.
pub struct ExternalProxy {
    child: Child,
    pub addr: SocketAddr,
}

impl ExternalProxy {
    /// Starts `cmd` in front of `upstream` and waits for its endpoint line.
    pub fn start(cmd: &ProxyCommand, upstream: SocketAddr) -> anyhow::Result<ExternalProxy> {
        let mut command = Command::new(&cmd.argv[0]);
        command
            .args(&cmd.argv[1..])
            .args(["--upstream", &format!("http://{upstream}")])
            .args(["--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        // The proxy dies with the bench even if the bench is killed.
        unsafe {
            use std::os::unix::process::CommandExt;
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {} ({})", cmd.name, cmd.argv.join(" ")))?;
        let stdout = child.stdout.take().context("the proxy's stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut proxy = ExternalProxy {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let line = rx.recv_timeout(START_DEADLINE).map_err(|_| {
            anyhow::anyhow!(
                "{} printed no AWS_ENDPOINT_URL line within {START_DEADLINE:?}",
                cmd.name
            )
        })?;
        let addr = line
            .trim()
            .strip_prefix("AWS_ENDPOINT_URL=http://")
            .and_then(|a| a.parse().ok());
        match addr {
            Some(addr) => proxy.addr = addr,
            None => bail!(
                "{}: expected `AWS_ENDPOINT_URL=http://ADDR` as the first line, got {:?} \
                 (is COMMAND a faultproxy or `harness proxy`?)",
                cmd.name,
                line.trim()
            ),
        }
        Ok(proxy)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ExternalProxy {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_name_and_command() {
        let c: ProxyCommand = "before=/x/harness proxy  --flavor moto".parse().unwrap();
        assert_eq!(c.name, "before");
        assert_eq!(c.argv, ["/x/harness", "proxy", "--flavor", "moto"]);
        assert!("nocommand"
            .parse::<ProxyCommand>()
            .unwrap_err()
            .contains("NAME=COMMAND"));
        assert!("x=".parse::<ProxyCommand>().is_err());
        assert!("nginx=/bin/true"
            .parse::<ProxyCommand>()
            .unwrap_err()
            .contains("bench's own targets"));
    }
}
