//! Why this file exists: under `harness up` the harness does not run the client (a CI job's
//! steps do), so it cannot know how the client ended. `harness up --journal FILE` writes the
//! journal when it stops, and `harness report --journal FILE --exit-code N` turns it into the
//! same JUnit and Markdown reports `harness run --report` writes, N saying how the job ended
//! (the GitHub Action passes its job's status). It also rewrites the reports of a `harness run`
//! journal, whose exit code is recorded.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::{behaviours, check_output_path, Facts, ReportSpec};

#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// The journal file (`harness run --journal`, or `harness up --journal` once it stopped).
    #[arg(long, value_name = "FILE")]
    pub journal: PathBuf,
    /// How the client ended (0 = passed); default: the exit code the journal records
    /// (`harness run`'s). Required for a `harness up` journal.
    #[arg(long, value_name = "N")]
    pub exit_code: Option<u8>,
    /// What the reports call the client (default: the journal's program, else "the job").
    #[arg(long, value_name = "TEXT")]
    pub name: Option<String>,
    /// A report to write, repeatable: junit=FILE or markdown=FILE.
    #[arg(long = "report", value_name = "FORMAT=FILE", value_parser = ReportSpec::parse, required = true)]
    pub reports: Vec<ReportSpec>,
}

/// Reads the journal and writes the reports.
pub fn run(args: ReportArgs) -> anyhow::Result<()> {
    for spec in &args.reports {
        check_output_path("--report", &spec.path).map_err(anyhow::Error::msg)?;
    }
    let doc = super::read_journal(&args.journal)?;
    let code = args.exit_code.or(doc.record.exit_code).with_context(|| {
        format!(
            "{} records no exit code (a `harness up` journal): say how the client ended with \
             --exit-code N (0 = passed)",
            args.journal.display()
        )
    })?;
    let name = args
        .name
        .clone()
        .or_else(|| doc.record.program.clone())
        .unwrap_or_else(|| "the job".to_string());
    let list = behaviours::of(&doc.record.behaviours, &doc.entries);
    let mut requests = std::collections::BTreeMap::new();
    for e in &doc.entries {
        let service = e.service.clone().unwrap_or_else(|| "?".into());
        *requests.entry(service).or_insert(0usize) += 1;
    }
    let ended = format!("exited {code}");
    let facts = Facts {
        record: &doc.record,
        command: &name,
        ended: &ended,
        ok: code == 0,
        requests: &requests,
        journal: &args.journal,
    };
    for spec in &args.reports {
        super::write(spec, &facts, &list)?;
        eprintln!("harness: report: {}", spec.path.display());
    }
    eprintln!("harness: {}", super::quiet_line(&list));
    Ok(())
}
