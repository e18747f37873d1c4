//! The book's behaviour catalogue (docs/src/behaviours.md) is what users read to know which
//! models exist and how long their windows last, so it must name exactly the models the seed's
//! stack meets (the registry's and the `iam-propagation` row), each with the window its
//! `ModelSpec` gives. A model added, removed or re-ranged in
//! code without its row fails here, naming the row to write. The catalogue rows' table
//! (docs/src/catalogue.md) is generated from the rows and must equal what they render.

use std::collections::BTreeMap;
use std::path::Path;

use faultproxy::models::seed_stack_specs as specs;

/// `model name -> default window cell` of the catalogue's model table: the rows whose first
/// cell is a model name in backticks.
fn catalogue_rows() -> BTreeMap<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/src/behaviours.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").map(str::trim).collect();
            let name = cells.first()?.strip_prefix('`')?.strip_suffix('`')?;
            Some((name.to_string(), cells.get(3)?.to_string()))
        })
        .collect()
}

#[test]
fn the_catalogue_names_every_model_with_its_window() {
    let rows = catalogue_rows();
    let mut problems = Vec::new();
    for spec in specs() {
        let window = format!("`{}`", spec.window);
        match rows.get(spec.name) {
            None => problems.push(format!(
                "no row for model `{}` (default window {window}, source {})",
                spec.name, spec.source
            )),
            Some(cell) if !cell.starts_with(&window) => problems.push(format!(
                "model `{}`: the row's window is {cell:?}, the code's is {window}",
                spec.name
            )),
            Some(_) => {}
        }
    }
    for name in rows.keys() {
        if !specs().any(|s| s.name == name) {
            problems.push(format!(
                "a row for `{name}`, which is no model of the registry"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "docs/src/behaviours.md and faultproxy's model registry differ:\n{}",
        problems.join("\n")
    );
}

/// The generated table of docs/src/catalogue.md equals the rows' rendering; with
/// `FAULTPROXY_WRITE_DOCS=1` the test writes it instead.
#[test]
fn the_catalogue_rows_table_is_generated_from_the_rows() {
    use faultproxy::catalogue::docs::{principal_table, BEGIN, END};
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/src/catalogue.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let want = principal_table();
    let (head, current) = match (text.find(BEGIN), text.find(END)) {
        (Some(b), Some(e)) if b < e => (&text[..b], &text[b..e + END.len() + 1]),
        _ => (text.as_str(), ""),
    };
    if std::env::var("FAULTPROXY_WRITE_DOCS").as_deref() == Ok("1") {
        let tail = &text[head.len() + current.len()..];
        std::fs::write(&path, format!("{head}{want}{tail}"))
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        return;
    }
    assert_eq!(
        current,
        want,
        "{} is not what the catalogue rows render; run \
         FAULTPROXY_WRITE_DOCS=1 cargo test -p faultproxy --test docs_catalogue",
        path.display()
    );
}
