//! The book's behaviour catalogue (docs/src/behaviours.md) is what users read to know which
//! models exist and how long their windows last, so it must name exactly the models of the
//! registry, each with the window its `ModelSpec` gives. A model added, removed or re-ranged in
//! code without its row fails here, naming the row to write.

use std::collections::BTreeMap;
use std::path::Path;

use faultproxy::models::specs;

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
