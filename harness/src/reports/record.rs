//! Why this file exists: the journal file is the run's record for later: what ran, in which
//! account and settings (enough to replay it: backend, profile, seed, time scale), which
//! behaviours were on, how the command ended, and every journal entry (no credential: entries
//! hold account, region, service, operation, status and fault only; faultproxy's journal.rs).
//! `harness run` writes one per run, `harness up --journal FILE` one when it stops, and
//! `harness report` reads one back to write the CI reports.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use faultproxy::JournalEntry;
use serde::{Deserialize, Serialize};

/// What the journal file records besides the entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The program's name only (its arguments may hold secrets); `None` under `harness up`,
    /// which serves whatever connects.
    pub program: Option<String>,
    pub account: String,
    pub region: String,
    pub endpoint_url: String,
    pub backend: String,
    pub profile: String,
    pub seed: u64,
    pub time_scale: f64,
    /// The windowed models that were on.
    pub models: Vec<String>,
    /// Every behaviour that was on, by its journal name (behaviours.rs).
    #[serde(default)]
    pub behaviours: Vec<String>,
    pub presets: Vec<String>,
    /// The command's exit code; `None` under `harness up`.
    pub exit_code: Option<u8>,
    /// The signal that ended the command, if one did.
    pub signal: Option<i32>,
    /// When the command (or `harness up`'s endpoint) started, in Unix milliseconds.
    #[serde(default)]
    pub started_unix_ms: u64,
    pub duration_ms: u64,
}

impl RunRecord {
    pub fn started(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.started_unix_ms)
    }

    pub fn duration(&self) -> Duration {
        Duration::from_millis(self.duration_ms)
    }
}

/// Unix milliseconds of `t`.
pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The journal file: the record's fields, then `entries`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JournalDoc {
    #[serde(flatten)]
    pub record: RunRecord,
    pub entries: Vec<JournalEntry>,
}

/// Writes the journal file.
pub fn write_journal(
    path: &Path,
    record: &RunRecord,
    entries: &[JournalEntry],
) -> anyhow::Result<()> {
    #[derive(Serialize)]
    struct Doc<'a> {
        #[serde(flatten)]
        record: &'a RunRecord,
        entries: &'a [JournalEntry],
    }
    let mut file = std::fs::File::create(path)
        .with_context(|| format!("writing the journal to {}", path.display()))?;
    serde_json::to_writer_pretty(&mut file, &Doc { record, entries })
        .with_context(|| format!("writing the journal to {}", path.display()))?;
    writeln!(file)?;
    Ok(())
}

/// Reads a journal file back.
pub fn read_journal(path: &Path) -> anyhow::Result<JournalDoc> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the journal {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a journal written by `harness run` or `harness up --journal`",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_reads_back_as_written() {
        let record = RunRecord {
            program: Some("terraform".into()),
            account: "111122223333".into(),
            region: "us-east-1".into(),
            endpoint_url: "http://127.0.0.1:4566".into(),
            backend: "moto".into(),
            profile: "fresh-account".into(),
            seed: 7,
            time_scale: 0.5,
            models: vec!["slr-delay".into()],
            behaviours: vec!["model:slr-delay".into()],
            presets: vec!["seed=7".into()],
            exit_code: Some(1),
            signal: None,
            started_unix_ms: 1_700_000_000_000,
            duration_ms: 1500,
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.json");
        write_journal(&path, &record, &[]).unwrap();
        let doc = read_journal(&path).unwrap();
        assert_eq!(doc.record, record);
        assert!(doc.entries.is_empty());
        std::fs::write(&path, "{}").unwrap();
        let e = format!("{:#}", read_journal(&path).unwrap_err());
        assert!(e.contains("is not a journal written by"), "{e}");
    }
}
