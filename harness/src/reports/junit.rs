//! Why this file exists: CI systems (GitHub, GitLab, Jenkins, Buildkite) read JUnit XML. The run
//! becomes one test suite with a test case per behaviour that was on: passed when it answered the
//! command and the command exited 0, failed (with what it answered) when the command did not,
//! skipped with the message "never triggered" when it answered nothing. One more case, `exit
//! code`, carries the command's own result, so a command that failed without meeting any
//! behaviour still shows as a failure. The attributes follow the common JUnit schema that
//! Jenkins, GitLab and the `junitparser` package read (testsuites > testsuite > testcase with
//! failure/skipped, properties, system-out).

use std::fmt::Write;

use super::{Behaviour, Facts, Verdict};

/// The XML document.
pub fn render(facts: &Facts, list: &[Behaviour]) -> String {
    let tests = list.len() + 1;
    let failures = list
        .iter()
        .filter(|b| b.verdict(facts.ok) == Verdict::Failed)
        .count()
        + usize::from(!facts.ok);
    let skipped = list
        .iter()
        .filter(|b| b.verdict(facts.ok) == Verdict::NeverTriggered)
        .count();
    let time = format!("{:.3}", facts.record.duration().as_secs_f64());
    let suite = format!("harness run -- {}", facts.command);
    // A path's directories would read as packages (`.`-separated) to JUnit viewers.
    let program = std::path::Path::new(facts.command)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| facts.command.to_string());
    let classname = format!("harness.{program}");
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{time}\">",
        esc(&suite)
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{time}\" timestamp=\"{}\">",
        esc(&suite),
        humantime::format_rfc3339_seconds(facts.record.started())
    );
    x.push_str("    <properties>\n");
    for (name, value) in properties(facts) {
        let _ = writeln!(
            x,
            "      <property name=\"{name}\" value=\"{}\"/>",
            esc(&value)
        );
    }
    x.push_str("    </properties>\n");
    let _ = write!(
        x,
        "    <testcase classname=\"{}\" name=\"exit code\" time=\"{time}\"",
        esc(&classname)
    );
    if facts.ok {
        x.push_str("/>\n");
    } else {
        let message = format!("'{}' {}", facts.command, facts.ended);
        let _ = writeln!(
            x,
            ">\n      <failure message=\"{}\" type=\"exit\"/>\n    </testcase>",
            esc(&message)
        );
    }
    for b in list {
        case(&mut x, &classname, facts, b);
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

fn properties(facts: &Facts) -> Vec<(&'static str, String)> {
    vec![
        ("command", facts.command.to_string()),
        ("ended", facts.ended.to_string()),
        ("account", facts.record.account.clone()),
        ("region", facts.record.region.clone()),
        ("backend", facts.record.backend.clone()),
        ("profile", facts.record.profile.clone()),
        ("seed", facts.record.seed.to_string()),
        ("time_scale", facts.record.time_scale.to_string()),
        ("presets", facts.record.presets.join(" ")),
        ("journal", facts.journal.display().to_string()),
    ]
}

/// One behaviour's test case.
fn case(x: &mut String, classname: &str, facts: &Facts, b: &Behaviour) {
    let _ = writeln!(
        x,
        "    <testcase classname=\"{}\" name=\"{}\">",
        esc(classname),
        esc(&b.id)
    );
    let met = b.met_lines().join("\n");
    match b.verdict(facts.ok) {
        Verdict::NeverTriggered => {
            x.push_str("      <skipped message=\"never triggered\"/>\n");
        }
        Verdict::Failed => {
            let message = format!(
                "'{}' {} after {} answered it {} time(s)",
                facts.command,
                facts.ended,
                b.id,
                b.count()
            );
            let _ = writeln!(
                x,
                "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                esc(&message),
                esc(&b.id),
                esc(&met)
            );
        }
        Verdict::Passed => {
            let _ = writeln!(x, "      <system-out>{}</system-out>", esc(&met));
        }
    }
    x.push_str("    </testcase>\n");
}

/// Text or attribute value as XML 1.0 allows it: the five special characters escaped, other
/// control characters (not allowed in XML 1.0 at all) replaced by U+FFFD.
fn esc(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| {
            if c.is_control() && !matches!(c, '\n' | '\t' | '\r') {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect();
    let mut out = String::with_capacity(clean.len());
    for c in clean.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_and_control_characters_are_escaped() {
        assert_eq!(
            esc("a<b>&\"c'\u{1}"),
            "a&lt;b&gt;&amp;&quot;c&apos;\u{FFFD}"
        );
        assert_eq!(esc("x\ny"), "x&#10;y");
    }
}
