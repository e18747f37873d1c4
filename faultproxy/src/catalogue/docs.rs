//! The book's catalogue table, rendered from the rows: the docs never restate a code, message or
//! window by hand (`faultproxy/tests/docs_catalogue.rs` checks `docs/src/catalogue.md` against
//! this text).

use super::{Id, Names, Trigger, FIDELITY_ROWS, PRINCIPAL_ROWS, READ_ROWS};

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

/// The principal-propagation table, then the read-after-create one, markers included.
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
    out.push_str(&read_table());
    out.push_str(&fidelity_table());
    out.push_str(END);
    out.push('\n');
    out
}

fn id(i: &Id) -> String {
    match i {
        Id::Label(name) => format!("URI `{name}`"),
        Id::AnswerXml(tag) => format!("answer's `{tag}`"),
        Id::FormList(prefix) => format!("`{prefix}N`"),
    }
}

/// The read-after-create table (inside the generated block).
fn read_table() -> String {
    let mut out = String::from(
        "\n### Read after create\n\n| row (`--model`) | create (opens the window) · id | read · id | code · HTTP status | message (verbatim; `{id}` filled in) | window · its source | source |\n|---|---|---|---|---|---|---|\n",
    );
    for r in READ_ROWS {
        out.push_str(&format!(
            "| `{}` | {} `{}` · {} | `{}` · {} | `{}` · {} | {} | `{}` · {} | <{}>; {} |\n",
            r.spec.name,
            r.service.name(),
            r.create,
            id(&r.created),
            r.read,
            id(&r.named),
            r.code,
            r.status,
            r.message,
            r.spec.window,
            r.window_source,
            r.spec.source,
            r.evidence,
        ));
    }
    out
}

/// The fidelity table (inside the generated block).
fn fidelity_table() -> String {
    let mut out = String::from(
        "\n### Fidelity: the emulator's error rewritten into AWS's\n\n| row (`--model`) | operation · field | emulator's answer | AWS's code · HTTP status | AWS's message (verbatim; `{value}` filled in) | source |\n|---|---|---|---|---|---|\n",
    );
    for r in FIDELITY_ROWS {
        out.push_str(&format!(
            "| `{}` | {} `{}` · `{}` | `{}` · {} | `{}` · {} | {} | <{}>; {} |\n",
            r.spec.name,
            r.service.name(),
            r.operation,
            r.field,
            r.emulator_code,
            r.emulator_status,
            r.code,
            r.status,
            r.message,
            r.spec.source,
            r.evidence,
        ));
    }
    out
}
