//! Why this file exists: a CI job page shows Markdown (GitHub's `$GITHUB_STEP_SUMMARY`, a GitLab
//! merge-request note). The summary names how the command ended, the run's settings (enough to
//! replay it: backend, profile, seed, time scale), a table with one row per behaviour that was on
//! and what it answered, the behaviours that never triggered, and where the journal is.

use std::fmt::Write;

use super::{behaviours, Behaviour, Facts};

/// The Markdown document.
pub fn render(facts: &Facts, list: &[Behaviour]) -> String {
    let mut m = String::new();
    let _ = writeln!(
        m,
        "### harness run: `{}` {} after {:.1} s\n",
        code(facts.command),
        facts.ended,
        facts.record.duration().as_secs_f64()
    );
    let requests: usize = facts.requests.values().sum();
    let services: Vec<String> = facts
        .requests
        .iter()
        .map(|(s, n)| format!("{s} {n}"))
        .collect();
    let _ = writeln!(
        m,
        "Account `{}` in `{}`; backend `{}`, profile `{}`, seed `{}`, time scale `{}`. \
         Requests: {requests}{}.\n",
        facts.record.account,
        facts.record.region,
        facts.record.backend,
        facts.record.profile,
        facts.record.seed,
        facts.record.time_scale,
        if services.is_empty() {
            String::new()
        } else {
            format!(" ({})", services.join(", "))
        }
    );
    if list.is_empty() {
        m.push_str("No behaviour model or fault rule was on.\n\n");
    } else {
        m.push_str("| Behaviour | Result | What it answered |\n|---|---|---|\n");
        for b in list {
            let met = b
                .met_lines()
                .iter()
                .map(|l| cell(l))
                .collect::<Vec<_>>()
                .join("<br>");
            let _ = writeln!(
                m,
                "| `{}` | {} | {} |",
                code(&b.id),
                b.verdict(facts.ok).text(),
                if met.is_empty() { "-".to_string() } else { met }
            );
        }
        m.push('\n');
        let quiet = behaviours::quiet(list);
        if quiet.is_empty() {
            m.push_str("Every behaviour that was on answered the command at least once.\n\n");
        } else {
            let names: Vec<String> = quiet.iter().map(|q| format!("`{}`", code(q))).collect();
            let _ = writeln!(
                m,
                "On but never triggered ({} of {}): {}. The command did not meet them: \
                 surviving this run says nothing about them.\n",
                quiet.len(),
                list.len(),
                names.join(", ")
            );
        }
    }
    let _ = writeln!(
        m,
        "Journal: `{}`",
        code(&facts.journal.display().to_string())
    );
    m
}

/// A table cell's text: `|` would end the cell, a new line the row.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Text inside backticks: a backtick would end the span.
fn code(text: &str) -> String {
    cell(&text.replace('`', "'"))
}
