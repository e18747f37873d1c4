//! CPU time of the proxy under test, from /proc: our proxy's runtime threads (by thread name) or
//! nginx's processes (master + workers). CPU per request is far less sensitive to other load on
//! the machine than latency or throughput, so it is the figure to compare when optimizing.

use std::path::Path;

/// Which CPU to count.
#[derive(Debug, Clone)]
pub enum Probe {
    /// Threads of this process whose name starts with the prefix.
    Threads(String),
    /// A process and its direct children.
    ProcessTree(u32),
}

fn ticks_per_sec() -> f64 {
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// (comm, ppid, utime + stime in ticks) from a `stat` file.
fn parse_stat(text: &str) -> Option<(String, u32, u64)> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text[open + 1..close].to_string();
    let rest: Vec<&str> = text[close + 1..].split_whitespace().collect();
    // rest[0] = state (field 3); ppid = field 4; utime = 14, stime = 15.
    let ppid = rest.get(1)?.parse().ok()?;
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some((comm, ppid, utime + stime))
}

fn read_stat(path: &Path) -> Option<(String, u32, u64)> {
    parse_stat(&std::fs::read_to_string(path).ok()?)
}

impl Probe {
    /// CPU seconds used so far.
    pub fn cpu_secs(&self) -> f64 {
        let ticks: u64 = match self {
            Probe::Threads(prefix) => std::fs::read_dir("/proc/self/task")
                .map(|d| {
                    d.flatten()
                        .filter_map(|e| read_stat(&e.path().join("stat")))
                        .filter(|(comm, _, _)| comm.starts_with(prefix.as_str()))
                        .map(|(_, _, t)| t)
                        .sum()
                })
                .unwrap_or(0),
            Probe::ProcessTree(root) => std::fs::read_dir("/proc")
                .map(|d| {
                    d.flatten()
                        .filter(|e| {
                            e.file_name()
                                .to_string_lossy()
                                .bytes()
                                .all(|b| b.is_ascii_digit())
                        })
                        .filter_map(|e| {
                            let pid: u32 = e.file_name().to_string_lossy().parse().ok()?;
                            let (_, ppid, t) = read_stat(&e.path().join("stat"))?;
                            (pid == *root || ppid == *root).then_some(t)
                        })
                        .sum()
                })
                .unwrap_or(0),
        };
        ticks as f64 / ticks_per_sec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_stat() {
        let line = "1234 (bench-proxy (x)) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 3 0 100 1000 10";
        let (comm, ppid, t) = parse_stat(line).unwrap();
        assert_eq!(comm, "bench-proxy (x)");
        assert_eq!(ppid, 1);
        assert_eq!(t, 280);
    }

    /// CPU time this thread has used, from its own clock (exact, not sampled per tick).
    fn thread_cpu_secs() -> f64 {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
        ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
    }

    #[test]
    fn own_threads_are_counted() {
        // Burn CPU until the probe of this process's threads moves (an empty prefix counts every
        // thread). The budget is this thread's own CPU time, not the wall clock: on a busy
        // machine a wall-clock slice may get no CPU at all. /proc counts in clock ticks (10 ms),
        // so a second of CPU without movement means the probe is broken.
        let p = Probe::Threads(String::new());
        let before = p.cpu_secs();
        let start = thread_cpu_secs();
        let mut x = 0u64;
        loop {
            for _ in 0..1_000_000 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
            std::hint::black_box(x);
            if p.cpu_secs() > before {
                break;
            }
            let burned = thread_cpu_secs() - start;
            assert!(burned < 1.0, "no CPU time seen after {burned:.2} s of it");
        }
    }
}
