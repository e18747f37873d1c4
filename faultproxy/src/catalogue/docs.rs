//! The book's catalogue table, rendered from the rows: the docs never restate a code, message or
//! window by hand (`faultproxy/tests/docs_catalogue.rs` checks `docs/src/catalogue.md` against
//! this text).

use super::{Names, Trigger, PRINCIPAL_ROWS};

/// The marker lines around the generated table in `docs/src/catalogue.md`.
pub const BEGIN: &str = "<!-- BEGIN generated from faultproxy/src/catalogue/rows.rs -->";
pub const END: &str = "<!-- END generated -->";

fn names(n: &Names) -> String {
    match n {
        Names::Field(path, _) => format!("`{path}`"),
        Names::Policy("") => "`Principal.AWS` of the policy (the body)".to_string(),
        Names::Policy(path) => format!("`Principal.AWS` of `{path}`"),
    }
}

fn triggers(t: &[Trigger]) -> String {
    t.iter()
        .map(|t| format!("`{}`", t.operation()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The principal-propagation table, markers included.
pub fn principal_table() -> String {
    let mut out = format!(
        "{BEGIN}\n| row (`--model`) | trigger (IAM write that succeeded) | operation · field naming the principal | code · HTTP status | message (verbatim; `{{value}}`, `{{name}}`, `{{arn}}`, `{{caller}}` filled in) | window · its source | source |\n|---|---|---|---|---|---|---|\n"
    );
    for r in PRINCIPAL_ROWS {
        out.push_str(&format!(
            "| `{}` | {} | {} `{}` · {} | `{}` · {} | {} | `{}` · {} | <{}>; {} |\n",
            r.spec.name,
            triggers(r.triggers),
            r.service.name(),
            r.operation,
            names(&r.names),
            r.code,
            r.status,
            r.message.replace('|', "\\|"),
            r.spec.window,
            r.window_source,
            r.spec.source,
            r.evidence,
        ));
    }
    out.push_str(END);
    out.push('\n');
    out
}
