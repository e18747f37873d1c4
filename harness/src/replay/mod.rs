//! Why this module exists: a user whose CI just failed on AWS has the failure's ground truth in
//! their account's CloudTrail. `harness run --replay FILE` and `harness up --replay FILE` (the
//! flags here, shared through `LaunchArgs`) answer the same failed calls with the same errors,
//! the same number of times (or for the same time), in the run's account; `harness replay show`
//! (show.rs) prints the schedule, or with `--json` the rules, so a user can commit them as a
//! fixture. Reading a file (gzip included) happens here, before anything starts, so a bad file
//! is one line and nothing runs; deriving the schedule is `faultproxy::replay`.

mod show;

pub use show::{run as show, ShowArgs};

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Args;
use faultproxy::replay::{self, ReplayBy, ReplayError, Step};
use faultproxy::Rule;

/// `--replay FILE` and `--replay-by`.
#[derive(Debug, Clone, Default, Args)]
pub struct ReplayArgs {
    /// Answer the failed calls of a real run again: a CloudTrail log file (.json or .json.gz),
    /// `aws cloudtrail lookup-events` output, or a harness journal. Each failed call fails again
    /// on the same operation of the same resource, with the same code and message.
    #[arg(long, value_name = "FILE", env = "HARNESS_REPLAY")]
    pub replay: Option<PathBuf>,
    /// count: as many times as the trail shows before the call succeeded; time: for as long
    /// after the trigger call (the last create/put/... before the first failure) as the trail
    /// took.
    #[arg(
        long,
        value_name = "count|time",
        env = "HARNESS_REPLAY_BY",
        default_value = "count",
        value_parser = ReplayBy::parse
    )]
    pub replay_by: ReplayBy,
}

/// A trail read and its schedule derived.
pub struct Loaded {
    pub path: PathBuf,
    pub kind: &'static str,
    pub calls: usize,
    pub skipped: usize,
    pub steps: Vec<Step>,
}

impl Loaded {
    /// The rules of the schedule for `account`.
    pub fn rules(&self, account: Option<&str>) -> Vec<Rule> {
        replay::rules(&self.steps, account)
    }

    /// `replay FILE (kind): N failure run(s) from M calls, by count`.
    pub fn summary(&self, by: ReplayBy) -> String {
        format!(
            "replay {} ({}): {} run(s) of failures from {} call(s), by {}",
            self.path.display(),
            self.kind,
            self.steps.len(),
            self.calls,
            match by {
                ReplayBy::Count => "count",
                ReplayBy::Time => "time",
            }
        )
    }
}

impl ReplayArgs {
    /// The trail of `--replay`, if given; an error is one line naming the file.
    pub fn load(&self) -> anyhow::Result<Option<Loaded>> {
        self.replay
            .as_deref()
            .map(|p| load(p, self.replay_by))
            .transpose()
    }
}

/// Reads `path` (gunzipping it when it starts with gzip's magic bytes) and derives its schedule.
pub fn load(path: &Path, by: ReplayBy) -> anyhow::Result<Loaded> {
    let at = |what: String| ReplayError(format!("replay file {}: {what}", path.display()));
    let bytes = std::fs::read(path).map_err(|e| at(format!("cannot read it: {e}")))?;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| at(format!("not a readable gzip file: {e}")))?;
        out
    } else {
        bytes
    };
    let text = String::from_utf8(bytes)
        .map_err(|_| at("is not UTF-8 text (a CloudTrail log file is JSON)".into()))?;
    let trail = replay::read(&text).map_err(|e| at(e.to_string()))?;
    Ok(Loaded {
        path: path.to_path_buf(),
        kind: trail.kind,
        calls: trail.calls.len(),
        skipped: trail.skipped,
        steps: replay::schedule(&trail.calls, by),
    })
}
