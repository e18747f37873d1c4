//! Why this module exists: in CI nobody reads the terminal. `harness run --report junit=FILE`
//! and `--report markdown=FILE` (repeatable) write what the fresh account did to the command in
//! forms a CI system shows: a JUnit XML file (one test case per behaviour that was on, junit.rs)
//! and a Markdown summary for a job page such as GitHub's `$GITHUB_STEP_SUMMARY` (markdown.rs).
//! Both, and the terminal report, come from one list of behaviours (behaviours.rs), so a model
//! that was on but never met the command is named as such everywhere.

pub mod behaviours;
pub mod command;
mod junit;
mod markdown;
pub mod record;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;

pub use behaviours::{Behaviour, Verdict};
pub use record::{read_journal, write_journal, JournalDoc, RunRecord};

/// A report file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Junit,
    Markdown,
}

/// The formats `--report` accepts, for its help and errors.
pub const FORMATS: &str = "junit, markdown";

/// `--report FORMAT=FILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSpec {
    pub format: Format,
    pub path: PathBuf,
}

impl ReportSpec {
    /// Parses `junit=FILE` or `markdown=FILE`.
    pub fn parse(text: &str) -> Result<ReportSpec, String> {
        let Some((format, path)) = text.split_once('=') else {
            return Err(format!(
                "a report is FORMAT=FILE with FORMAT one of {FORMATS} (e.g. junit=report.xml), got {text:?}"
            ));
        };
        let format = match format.trim() {
            "junit" => Format::Junit,
            "markdown" | "md" => Format::Markdown,
            other => {
                return Err(format!(
                    "unknown report format {other:?}; formats: {FORMATS} (e.g. junit=report.xml)"
                ))
            }
        };
        if path.is_empty() {
            return Err(format!(
                "--report {text}: name a file after '=', e.g. {}",
                match format {
                    Format::Junit => "junit=report.xml",
                    Format::Markdown => "markdown=report.md",
                }
            ));
        }
        Ok(ReportSpec {
            format,
            path: PathBuf::from(path),
        })
    }
}

/// An output file named by `flag` must be writable where it is: checked before anything starts.
pub fn check_output_path(flag: &str, path: &Path) -> Result<(), String> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if path.is_dir() {
        return Err(format!(
            "{flag} {}: is a directory; name a file in it",
            path.display()
        ));
    }
    if !parent.is_dir() {
        return Err(format!(
            "{flag} {}: directory {} does not exist; create it or name another file",
            path.display(),
            parent.display()
        ));
    }
    Ok(())
}

/// What a report says about the run besides its behaviours.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub record: &'a RunRecord,
    /// What ran: the program's name, or what `harness report --name` calls it.
    pub command: &'a str,
    /// `exited 1`, `was killed by SIGINT (exit 130)`.
    pub ended: &'a str,
    /// The command exited 0.
    pub ok: bool,
    /// Requests per service.
    pub requests: &'a BTreeMap<String, usize>,
    pub journal: &'a Path,
}

/// Writes one report file.
pub fn write(spec: &ReportSpec, facts: &Facts, list: &[Behaviour]) -> anyhow::Result<()> {
    let text = match spec.format {
        Format::Junit => junit::render(facts, list),
        Format::Markdown => markdown::render(facts, list),
    };
    std::fs::write(&spec.path, text)
        .with_context(|| format!("writing the report to {}", spec.path.display()))
}

/// The terminal report's line about quiet behaviours, so "survived" and "never met" differ.
pub fn quiet_line(list: &[Behaviour]) -> String {
    let quiet = behaviours::quiet(list);
    if list.is_empty() {
        "behaviours on: none".to_string()
    } else if quiet.is_empty() {
        format!(
            "behaviours on: {}, every one answered the command",
            list.len()
        )
    } else {
        format!(
            "on but never triggered ({} of {}): {}",
            quiet.len(),
            list.len(),
            quiet.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_specs_parse_and_bad_ones_say_what_is_wrong() {
        assert_eq!(
            ReportSpec::parse("junit=out/r.xml").unwrap(),
            ReportSpec {
                format: Format::Junit,
                path: PathBuf::from("out/r.xml")
            }
        );
        assert_eq!(
            ReportSpec::parse("markdown=s.md").unwrap().format,
            Format::Markdown
        );
        let e = ReportSpec::parse("junit").unwrap_err();
        assert!(
            e.contains("FORMAT=FILE") && e.contains("junit, markdown"),
            "{e}"
        );
        let e = ReportSpec::parse("html=r.html").unwrap_err();
        assert!(e.contains("unknown report format \"html\""), "{e}");
        let e = ReportSpec::parse("junit=").unwrap_err();
        assert!(e.contains("junit=report.xml"), "{e}");
        let e = check_output_path("--report", Path::new("/no/such/dir/r.xml")).unwrap_err();
        assert!(e.contains("directory /no/such/dir does not exist"), "{e}");
    }

    #[test]
    fn the_quiet_line_names_the_quiet_behaviours() {
        let on = ["model:a".to_string(), "model:b".to_string()];
        let list = behaviours::of(&on, &[]);
        assert_eq!(
            quiet_line(&list),
            "on but never triggered (2 of 2): model:a, model:b"
        );
        assert_eq!(quiet_line(&[]), "behaviours on: none");
    }
}
