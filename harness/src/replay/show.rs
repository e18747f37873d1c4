//! Why this file exists: before replaying a trail, a user wants to see what it will do, and to
//! keep it: `harness replay show FILE` prints the schedule (operation, resource, answer, count or
//! window), one line per run of failures; `--json` prints the rules the control API accepts
//! (`POST /_harness/faults`), a fixture to commit next to the tests.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use faultproxy::replay::ReplayBy;

/// `harness replay ...`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(subcommand)]
    pub command: ReplayCommand,
}

#[derive(Debug, Subcommand)]
pub enum ReplayCommand {
    /// Print the schedule a trail gives (--json: the rules, for POST /_harness/faults).
    Show {
        /// A CloudTrail log file (.json or .json.gz), `aws cloudtrail lookup-events` output, or
        /// a harness journal.
        file: PathBuf,
        /// count (default) or time, as `harness run --replay-by`.
        #[arg(long, value_name = "count|time", default_value = "count", value_parser = ReplayBy::parse)]
        replay_by: ReplayBy,
        /// Print the rule set (JSON) instead of the schedule.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `harness replay show`.
pub fn run(args: ShowArgs) -> anyhow::Result<()> {
    let ReplayCommand::Show {
        file,
        replay_by,
        json,
    } = args.command;
    let loaded = super::load(&file, replay_by)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&loaded.rules(None))?);
        return Ok(());
    }
    println!("# {}", loaded.summary(replay_by));
    if loaded.skipped > 0 {
        println!(
            "# {} record(s) that are not API calls left out",
            loaded.skipped
        );
    }
    if loaded.steps.is_empty() {
        println!("# no failed call: a replay changes nothing");
    }
    for (i, step) in loaded.steps.iter().enumerate() {
        let fallback = if replay_by == ReplayBy::Time && step.window.is_none() {
            " (no create/put before it in the trail: by count)"
        } else {
            ""
        };
        println!("{:>3}. {step}{fallback}", i + 1);
    }
    Ok(())
}
