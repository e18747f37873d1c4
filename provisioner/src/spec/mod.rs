//! Why this file exists: the stack is described in a TOML file (`--config`, default
//! `stack.toml`; the tutorial's stack ships as `examples/stack.toml`). This module parses it into
//! [`StackSpec`] and validates it. Every error names the file, the line, the key and — where the
//! set is closed — the allowed values, so a typo is fixed without reading the source.
//!
//! Inside: `schema.rs` (the tables, enums and defaults), `validate.rs` (the checks after parsing),
//! `location.rs` (TOML locations and messages of errors).

use std::path::Path;

mod location;
mod schema;
mod validate;

pub use location::SpecError;
pub use schema::*;
pub use validate::Violation;

use location::locate;

/// The tutorial stack, identical to `examples/stack.toml`.
pub const EXAMPLE_TOML: &str = include_str!("../../../examples/stack.toml");

impl StackSpec {
    /// Reads and validates a stack file.
    pub fn load(path: &Path) -> Result<StackSpec, SpecError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| SpecError {
            origin: origin.clone(),
            line: None,
            column: None,
            key: None,
            message: format!(
                "cannot read the stack spec: {e}. Pass --config PATH, or start from the example: \
                 cp examples/stack.toml stack.toml"
            ),
        })?;
        StackSpec::from_toml_str(&text, &origin)
    }

    /// Parses and validates TOML text; `origin` names it in errors (a path, or e.g. `<inline>`).
    pub fn from_toml_str(text: &str, origin: &str) -> Result<StackSpec, SpecError> {
        let spec: StackSpec =
            toml::from_str(text).map_err(|e| SpecError::from_toml(e, text, origin))?;
        if let Some(v) = spec.violations().into_iter().next() {
            return Err(SpecError {
                origin: origin.to_owned(),
                line: locate(text, &v.table, v.index, &v.key),
                column: None,
                key: Some(v.path()),
                message: v.message,
            });
        }
        Ok(spec)
    }

    /// The tutorial's stack: `my-project` / `dev` / `ap-northeast-1` (same as examples/stack.toml).
    pub fn example() -> StackSpec {
        match StackSpec::from_toml_str(EXAMPLE_TOML, "examples/stack.toml") {
            Ok(s) => s,
            // Guarded by a unit test; a broken example is a build-time bug.
            Err(e) => panic!("examples/stack.toml is invalid: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<StackSpec, SpecError> {
        StackSpec::from_toml_str(text, "stack.toml")
    }

    const MINIMAL: &str = "project = \"p\"\nenvironment = \"dev\"\nregion = \"ap-northeast-1\"\n";

    #[test]
    fn example_parses_and_matches_the_tutorial() {
        let s = StackSpec::example();
        assert_eq!(s.project, "my-project");
        assert_eq!(s.environment, "dev");
        assert_eq!(s.region, "ap-northeast-1");
        assert_eq!(s.service_linked_role, SlrMode::Ensure);
        assert_eq!(
            s.cluster.capacity_providers,
            vec![CapacityProvider::Fargate, CapacityProvider::FargateSpot]
        );
        assert_eq!(
            s.cluster.default_capacity_provider_strategy,
            vec![StrategyItem {
                capacity_provider: CapacityProvider::Fargate,
                base: 1,
                weight: 100
            }]
        );
        assert!(s.service.subnets.is_empty() && s.service.security_groups.is_empty());
    }

    #[test]
    fn minimal_gets_defaults() {
        let s = parse(MINIMAL).unwrap();
        assert_eq!(s.logs.retention_in_days, 30);
        assert_eq!(s.task_definition.cpu, 256);
        assert!(s.cluster.container_insights);
    }

    #[test]
    fn unknown_key_names_key_line_and_allowed_keys() {
        let text = format!("{MINIMAL}\n[logs]\nretention_in_days = 30\nretention = 7\n");
        let e = parse(&text).unwrap_err();
        assert_eq!(e.line, Some(7), "{e}");
        assert_eq!(e.key.as_deref(), Some("logs.retention"), "{e}");
        let s = e.to_string();
        assert!(s.contains("unknown key `retention`"), "{s}");
        assert!(s.contains("retention_in_days"), "{s}");
        assert!(s.starts_with("stack.toml, line 7"), "{s}");
    }

    #[test]
    fn unknown_top_level_key() {
        let e = parse(&format!("{MINIMAL}regoin = \"x\"\n")).unwrap_err();
        assert_eq!(e.line, Some(4));
        assert!(
            e.to_string()
                .contains("unknown key `regoin` at the top level"),
            "{e}"
        );
        assert!(e.to_string().contains("region"), "{e}");
    }

    #[test]
    fn bad_retention_lists_allowed_values() {
        let text = format!("{MINIMAL}[logs]\n# comment\nretention_in_days = 31\n");
        let e = parse(&text).unwrap_err();
        assert_eq!(e.line, Some(6), "{e}");
        assert_eq!(e.key.as_deref(), Some("logs.retention_in_days"));
        let s = e.to_string();
        assert!(s.contains("31 is not a retention"), "{s}");
        assert!(s.contains("1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653"), "{s}");
    }

    #[test]
    fn bad_slr_mode_lists_allowed_values() {
        let text = MINIMAL.replace("region", "service_linked_role = \"always\"\nregion");
        let e = parse(&text).unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert_eq!(e.key.as_deref(), Some("service_linked_role"));
        assert!(
            e.to_string()
                .contains("allowed values: ensure, implicit, skip"),
            "{e}"
        );
    }

    #[test]
    fn bad_tag_mutability_lists_allowed_values() {
        let e = parse(&format!(
            "{MINIMAL}[ecr]\nimage_tag_mutability = \"mutable\"\n"
        ))
        .unwrap_err();
        assert_eq!(e.line, Some(5));
        assert_eq!(e.key.as_deref(), Some("ecr.image_tag_mutability"));
        assert!(
            e.to_string().contains("allowed values: MUTABLE, IMMUTABLE"),
            "{e}"
        );
    }

    #[test]
    fn fargate_combination_is_checked() {
        let e = parse(&format!(
            "{MINIMAL}[task_definition]\ncpu = 256\nmemory = 4096\n"
        ))
        .unwrap_err();
        assert_eq!(e.line, Some(6));
        assert_eq!(e.key.as_deref(), Some("task_definition.memory"));
        assert!(
            e.to_string().contains("allowed values: 512, 1024, 2048"),
            "{e}"
        );
        let e = parse(&format!("{MINIMAL}[task_definition]\ncpu = 300\n")).unwrap_err();
        assert!(
            e.to_string().contains("allowed values: 256, 512, 1024"),
            "{e}"
        );
        assert!(parse(&format!(
            "{MINIMAL}[task_definition]\ncpu = 1024\nmemory = 3072\n"
        ))
        .is_ok());
    }

    #[test]
    fn strategy_entry_must_be_a_listed_provider() {
        let text = format!(
            "{MINIMAL}[cluster]\ncapacity_providers = [\"FARGATE\"]\n\n[[cluster.default_capacity_provider_strategy]]\ncapacity_provider = \"FARGATE\"\nweight = 1\n\n[[cluster.default_capacity_provider_strategy]]\ncapacity_provider = \"FARGATE_SPOT\"\nweight = 1\n"
        );
        let e = parse(&text).unwrap_err();
        assert_eq!(
            e.key.as_deref(),
            Some("cluster.default_capacity_provider_strategy[1].capacity_provider")
        );
        assert_eq!(e.line, Some(12), "{e}");
    }

    #[test]
    fn missing_required_key() {
        let e = parse("project = \"p\"\nregion = \"ap-northeast-1\"\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("environment"));
        assert!(
            e.to_string().contains("missing required key `environment`"),
            "{e}"
        );
    }

    #[test]
    fn missing_file_names_file_and_fix() {
        let e = StackSpec::load(Path::new("/nonexistent/stack.toml")).unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("/nonexistent/stack.toml"), "{s}");
        assert!(s.contains("--config"), "{s}");
    }

    #[test]
    fn syntax_error_has_a_line() {
        let e = parse(&format!("{MINIMAL}[logs\n")).unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
    }

    #[test]
    fn project_must_be_a_valid_name() {
        let e = parse(&MINIMAL.replace("\"p\"", "\"My_Project\"")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("project"));
        assert_eq!(e.line, Some(1));
    }
}
