//! Why this file exists: a spec error names the file, the line, the key and — where the set is
//! closed — the allowed values. This file turns TOML parse errors into such messages and finds
//! the line of a key that failed validation.

use std::fmt;

/// A stack spec that cannot be used: where, which key, what is wrong, what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub origin: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column (characters), for TOML syntax and type errors.
    pub column: Option<usize>,
    /// Dotted key path, when known.
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some(l) = self.line {
            write!(f, ", line {l}")?;
        }
        if let Some(c) = self.column {
            write!(f, ", column {c}")?;
        }
        if let Some(k) = &self.key {
            write!(f, ": `{k}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for SpecError {}

impl SpecError {
    pub(super) fn from_toml(e: toml::de::Error, text: &str, origin: &str) -> SpecError {
        let raw = e.message().trim().to_owned();
        let (line, column, line_text) = match e.span() {
            Some(span) => {
                let start = floor_char_boundary(text, span.start.min(text.len()));
                let line = text[..start].matches('\n').count() + 1;
                let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
                (
                    Some(line),
                    Some(text[line_start..start].chars().count() + 1),
                    text.lines().nth(line - 1).unwrap_or("").to_owned(),
                )
            }
            None => (None, None, String::new()),
        };
        let table = line.map(|l| table_at(text, l)).unwrap_or_default();
        let qualify = |k: &str| {
            if table.is_empty() {
                k.to_owned()
            } else {
                format!("{table}.{k}")
            }
        };
        let allowed = expected_names(&raw);

        if let Some(rest) = raw.strip_prefix("unknown field `") {
            let name = rest.split('`').next().unwrap_or("").to_owned();
            let section = if table.is_empty() {
                "at the top level".to_owned()
            } else {
                format!("in [{table}]")
            };
            let message = if allowed.is_empty() {
                format!("unknown key `{name}` {section}; this table takes no keys")
            } else {
                format!(
                    "unknown key `{name}` {section}; allowed keys: {}",
                    allowed.join(", ")
                )
            };
            return SpecError {
                origin: origin.into(),
                line,
                column: None,
                key: Some(qualify(&name)),
                message,
            };
        }
        if let Some(rest) = raw.strip_prefix("missing field `") {
            let name = rest.split('`').next().unwrap_or("").to_owned();
            return SpecError {
                origin: origin.into(),
                line: None,
                column: None,
                key: Some(name.clone()),
                message: format!("missing required key `{name}`"),
            };
        }
        // A value error: the key is what stands left of '=' on the offending line.
        let key = line_text
            .split_once('=')
            .map(|(k, _)| k.trim().trim_matches('"').to_owned())
            .filter(|k| !k.is_empty() && !k.starts_with('['))
            .map(|k| qualify(&k));
        let message = if let Some(rest) = raw.strip_prefix("unknown variant `") {
            let value = rest.split('`').next().unwrap_or("");
            format!(
                "invalid value \"{value}\"; allowed values: {}",
                allowed.join(", ")
            )
        } else {
            raw.replace('\n', " ")
        };
        SpecError {
            origin: origin.into(),
            line,
            column,
            key,
            message,
        }
    }
}

/// The largest char boundary of `text` at or before `i`.
fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The backticked names after "expected" in a serde message.
fn expected_names(msg: &str) -> Vec<String> {
    let Some((_, after)) = msg.split_once("expected") else {
        return vec![];
    };
    after
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The `[table]` / `[[table]]` header in force at 1-based `line`.
fn table_at(text: &str, line: usize) -> String {
    let mut current = String::new();
    for l in text.lines().take(line) {
        if let Some(h) = header(l) {
            current = h;
        }
    }
    current
}

fn header(line: &str) -> Option<String> {
    let t = line.trim();
    let t = t.split('#').next().unwrap_or("").trim();
    if t.starts_with("[[") && t.ends_with("]]") {
        Some(t[2..t.len() - 2].trim().to_owned())
    } else if t.starts_with('[') && t.ends_with(']') {
        Some(t[1..t.len() - 1].trim().to_owned())
    } else {
        None
    }
}

/// 1-based line where `key` is set inside `table` (`index`-th `[[table]]` for arrays of tables).
/// Falls back to the table's header line, then to `None`.
pub(super) fn locate(text: &str, table: &str, index: Option<usize>, key: &str) -> Option<usize> {
    let mut current = String::new();
    let mut seen_of_table: usize = 0;
    let mut header_line = None;
    let in_target = |cur: &str, seen: usize| cur == table && index.is_none_or(|i| seen == i + 1);
    for (n, l) in text.lines().enumerate() {
        if let Some(h) = header(l) {
            current = h;
            if current == table {
                seen_of_table += 1;
                if index.is_none_or(|i| seen_of_table == i + 1) {
                    header_line = Some(n + 1);
                }
            }
            continue;
        }
        let t = l.trim_start();
        let key_matches = |k: &str| {
            t.strip_prefix(k)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        };
        if in_target(&current, seen_of_table) && key_matches(key) {
            return Some(n + 1);
        }
        // Dotted key at the top level, e.g. `logs.retention_in_days = 30`.
        if current.is_empty()
            && !table.is_empty()
            && index.is_none()
            && key_matches(&format!("{table}.{key}"))
        {
            return Some(n + 1);
        }
    }
    header_line
}
