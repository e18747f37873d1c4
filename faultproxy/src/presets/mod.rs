//! Presets: named, parameterised fault set-ups a user can switch on with one word
//! (`--preset slr-delay=5s`, `POST /_harness/presets`, `TestEnv::with_presets(&["throttle=20"])`).
//!
//! Every preset is one row of [`PRESETS`] (in `table.rs`): its name, the kind of its parameter (with the
//! default), what it sets and its documentation. A preset sets model settings (`slr-delay`,
//! `iam-propagation`, `slr-model`, `fresh-account`, `time-scale`, `model=NAME:on|off|RANGE`), installs a named rule set (`throttle`, `flaky`, `latency`;
//! applying it again replaces its rules instead of stacking them), or sets the global `seed` from
//! which rules without their own seed derive theirs. Parsing, the canonical text form, help texts
//! and the accepted-forms list all come from the table: a new preset is one new row.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

mod table;

use super::models::settings::{parse_model_toggle, parse_time_scale};
use super::models::{ModelSettings, ModelSpec, Toggle};
use super::rules::Rule;

pub use table::{
    DEFAULT_FLAKY_PERCENT, DEFAULT_IAM_PROPAGATION, DEFAULT_SLR_DELAY, DEFAULT_THROTTLE_PERCENT,
    PRESETS,
};

/// The kind of a preset's parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamKind {
    /// A duration like `20s`, `1500ms` or `1m` (`0` = zero); optional.
    Duration { default: Duration },
    /// A percentage from 0 to 100 (a trailing `%` is allowed); optional.
    Percent { default: f64 },
    /// `MS`, `MS±JITTER` or `MS+-JITTER` in milliseconds; required.
    Latency,
    /// An unsigned integer; required.
    Integer,
    /// `on` or `off` (`true`/`false`); the bare name means on.
    Switch,
    /// A number > 0 and finite (`time-scale`); required.
    Scale,
    /// `MODEL:on|off|MIN..MAX`, a model of the registry; required.
    Model,
}

/// A parsed parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PresetValue {
    Duration(Duration),
    Percent(f64),
    Latency { ms: u64, jitter_ms: u64 },
    Integer(u64),
    Switch(bool),
    Scale(f64),
    Model(&'static ModelSpec, Toggle),
}

/// What applying a preset changes.
#[derive(Clone, Copy, Debug)]
pub enum Sets {
    /// Model settings.
    Models(fn(&mut ModelSettings, PresetValue)),
    /// A rule set whose rules are all named `preset:NAME...`; applying it replaces them.
    Rules(fn(PresetValue) -> Vec<Rule>),
    /// The global seed of the rules (an `Integer` parameter).
    Seed,
}

/// One preset definition: a row of [`PRESETS`].
#[derive(Debug)]
pub struct PresetDef {
    pub name: &'static str,
    pub param: ParamKind,
    pub sets: Sets,
    pub doc: &'static str,
}

impl ParamKind {
    /// How the parameter is written after the name, for help texts: `[=DURATION] (default 20s)`.
    pub fn form(&self) -> String {
        match self {
            ParamKind::Duration { default } => {
                format!(
                    "[=DURATION] (default {})",
                    humantime::format_duration(*default)
                )
            }
            ParamKind::Percent { default } => format!("[=PERCENT] (default {default})"),
            ParamKind::Latency => "=MS[±JITTER] (or MS+-JITTER)".into(),
            ParamKind::Integer => "=N".into(),
            ParamKind::Switch => "=on|off".into(),
            ParamKind::Scale => "=F (> 0)".into(),
            ParamKind::Model => "=MODEL:on|off|MIN..MAX".into(),
        }
    }

    /// Parses the parameter of preset `name` (`None` when the text had no `=`).
    fn parse(&self, name: &str, value: Option<&str>) -> Result<PresetValue, String> {
        match (*self, value) {
            (ParamKind::Duration { default }, None) => Ok(PresetValue::Duration(default)),
            (ParamKind::Duration { .. }, Some("0")) => Ok(PresetValue::Duration(Duration::ZERO)),
            (ParamKind::Duration { .. }, Some(v)) => humantime::parse_duration(v)
                .map(PresetValue::Duration)
                .map_err(|e| {
                    format!("{name} takes a duration like 20s, 1500ms or 1m, got {v:?} ({e})")
                }),
            (ParamKind::Percent { default }, None) => Ok(PresetValue::Percent(default)),
            (ParamKind::Percent { .. }, Some(v)) => v
                .trim_end_matches('%')
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|p| (0.0..=100.0).contains(p))
                .map(PresetValue::Percent)
                .ok_or_else(|| format!("{name} takes a percentage from 0 to 100, got {v:?}")),
            (ParamKind::Latency, None) => Err(format!(
                "{name} needs a value: {name}=MS or {name}=MS±JITTER"
            )),
            (ParamKind::Latency, Some(v)) => parse_latency(v)
                .map(|(ms, jitter_ms)| PresetValue::Latency { ms, jitter_ms })
                .ok_or_else(|| {
                    format!("{name} takes MS, MS±JITTER or MS+-JITTER (milliseconds), got {v:?}")
                }),
            (ParamKind::Integer, None) => Err(format!("{name} needs a value: {name}=N")),
            (ParamKind::Integer, Some(v)) => v
                .parse()
                .map(PresetValue::Integer)
                .map_err(|_| format!("{name} takes an unsigned integer, got {v:?}")),
            (ParamKind::Switch, None | Some("on") | Some("true")) => Ok(PresetValue::Switch(true)),
            (ParamKind::Switch, Some("off") | Some("false")) => Ok(PresetValue::Switch(false)),
            (ParamKind::Switch, Some(v)) => Err(format!("{name} takes on or off, got {v:?}")),
            (ParamKind::Scale | ParamKind::Model, None) => {
                Err(format!("{name} needs a value: {name}{}", self.form()))
            }
            (ParamKind::Scale, Some(v)) => parse_time_scale(v)
                .map(PresetValue::Scale)
                .map_err(|e| e.to_string()),
            (ParamKind::Model, Some(v)) => parse_model_toggle(v)
                .map(|(spec, t)| PresetValue::Model(spec, t))
                .map_err(|e| e.to_string()),
        }
    }
}

impl fmt::Display for PresetValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PresetValue::Duration(d) => write!(f, "{}", humantime::format_duration(*d)),
            PresetValue::Percent(p) => write!(f, "{p}"),
            PresetValue::Latency { ms, jitter_ms: 0 } => write!(f, "{ms}"),
            PresetValue::Latency { ms, jitter_ms } => write!(f, "{ms}±{jitter_ms}"),
            PresetValue::Integer(n) => write!(f, "{n}"),
            PresetValue::Switch(on) => f.write_str(if *on { "on" } else { "off" }),
            PresetValue::Scale(x) => write!(f, "{x}"),
            PresetValue::Model(spec, t) => write!(f, "{}:{t}", spec.name),
        }
    }
}

fn parse_latency(v: &str) -> Option<(u64, u64)> {
    let (ms, jitter) = match v.split_once('±').or_else(|| v.split_once("+-")) {
        Some((a, b)) => (a, Some(b)),
        None => (v, None),
    };
    let num = |s: &str| s.trim().trim_end_matches("ms").trim().parse::<u64>().ok();
    Some((num(ms)?, jitter.map(num).unwrap_or(Some(0))?))
}

/// Forms accepted by [`Preset::parse`], for error messages and help texts:
/// `slr-delay[=DURATION] (default 20s), ..., slr-model=on|off`.
pub fn accepted_forms() -> &'static str {
    static FORMS: OnceLock<String> = OnceLock::new();
    FORMS.get_or_init(|| {
        PRESETS
            .iter()
            .map(|d| format!("{}{}", d.name, d.param.form()))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// The definition of the preset called `name`.
pub fn definition(name: &str) -> Option<&'static PresetDef> {
    PRESETS.iter().find(|d| d.name == name)
}

/// One preset with its parameter.
#[derive(Clone, Copy, Debug)]
pub struct Preset {
    def: &'static PresetDef,
    value: PresetValue,
}

impl PartialEq for Preset {
    fn eq(&self, other: &Preset) -> bool {
        self.def.name == other.def.name && self.value == other.value
    }
}

/// A preset that could not be parsed; names the preset and the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid preset {input:?}: {reason}. Accepted presets: {}",
    accepted_forms()
)]
pub struct PresetError {
    pub input: String,
    pub reason: String,
}

impl Preset {
    /// Parses `NAME[=VALUE]`.
    pub fn parse(text: &str) -> Result<Preset, PresetError> {
        let text = text.trim();
        let err = |reason: String| PresetError {
            input: text.to_string(),
            reason,
        };
        let (name, value) = match text.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (text, None),
        };
        if name.is_empty() {
            return Err(err("empty preset name".into()));
        }
        let def = definition(name).ok_or_else(|| err(format!("unknown preset {name:?}")))?;
        let value = def.param.parse(name, value).map_err(err)?;
        Ok(Preset { def, value })
    }

    /// Parses several presets separated by whitespace, commas or new lines.
    pub fn parse_list(text: &str) -> Result<Vec<Preset>, PresetError> {
        text.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(Preset::parse)
            .collect()
    }

    /// `seed=N`: the global seed from which rules without their own derive theirs.
    pub fn seed(n: u64) -> Preset {
        Preset {
            def: &PRESETS[SEED_ROW],
            value: PresetValue::Integer(n),
        }
    }

    pub fn name(&self) -> &'static str {
        self.def.name
    }

    pub fn definition(&self) -> &'static PresetDef {
        self.def
    }

    pub fn value(&self) -> PresetValue {
        self.value
    }

    /// The seed this preset sets, if it is `seed=N`.
    pub fn seed_value(&self) -> Option<u64> {
        match (self.def.sets, self.value) {
            (Sets::Seed, PresetValue::Integer(n)) => Some(n),
            _ => None,
        }
    }

    pub fn is_seed(&self) -> bool {
        self.seed_value().is_some()
    }

    /// Prefix shared by the names of the rules this preset installs (`None` for non-rule presets).
    pub fn rule_prefix(&self) -> Option<String> {
        matches!(self.def.sets, Sets::Rules(_)).then(|| format!("preset:{}", self.def.name))
    }

    /// The rules this preset installs (empty for model switches and the seed). Rules carry no
    /// seed of their own: they derive it from the global seed and their name.
    pub fn rules(&self) -> Vec<Rule> {
        match self.def.sets {
            Sets::Rules(rules) => rules(self.value),
            _ => Vec::new(),
        }
    }

    /// Applies a model switch (no-op for other presets).
    pub fn apply_to_models(&self, s: &mut ModelSettings) {
        if let Sets::Models(set) = self.def.sets {
            set(s, self.value);
        }
    }
}

/// Row of `seed` in [`PRESETS`] (checked at compile time).
const SEED_ROW: usize = 5;
const _: () = assert!(matches!(PRESETS[SEED_ROW].sets, Sets::Seed));

impl FromStr for Preset {
    type Err = PresetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Preset::parse(s)
    }
}

/// Canonical text form; `Preset::parse(&p.to_string()) == p`.
impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.def.name, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preset(name: &str, value: PresetValue) -> Preset {
        Preset {
            def: definition(name).unwrap(),
            value,
        }
    }

    #[test]
    fn accepted_forms_list_every_row() {
        assert_eq!(
            accepted_forms(),
            "slr-delay[=DURATION] (default 20s), iam-propagation[=DURATION] (default 10s), \
throttle[=PERCENT] (default 10), flaky[=PERCENT] (default 10), latency=MS[±JITTER] (or MS+-JITTER), \
seed=N, slr-model=on|off, fresh-account=on|off, time-scale=F (> 0), model=MODEL:on|off|MIN..MAX"
        );
        assert_eq!(Preset::seed(4).seed_value(), Some(4));
        assert!(!Preset::parse("throttle").unwrap().is_seed());
    }

    #[test]
    fn parses_all_forms() {
        assert_eq!(
            Preset::parse("slr-delay").unwrap(),
            preset("slr-delay", PresetValue::Duration(Duration::from_secs(20)))
        );
        assert_eq!(
            Preset::parse("slr-delay=5s").unwrap(),
            preset("slr-delay", PresetValue::Duration(Duration::from_secs(5)))
        );
        assert_eq!(
            Preset::parse("slr-delay=1500ms").unwrap(),
            preset(
                "slr-delay",
                PresetValue::Duration(Duration::from_millis(1500))
            )
        );
        assert_eq!(
            Preset::parse("iam-propagation").unwrap(),
            preset(
                "iam-propagation",
                PresetValue::Duration(Duration::from_secs(10))
            )
        );
        assert_eq!(
            Preset::parse("throttle").unwrap(),
            preset("throttle", PresetValue::Percent(10.0))
        );
        assert_eq!(
            Preset::parse("flaky=20%").unwrap(),
            preset("flaky", PresetValue::Percent(20.0))
        );
        assert_eq!(
            Preset::parse("latency=100").unwrap(),
            preset(
                "latency",
                PresetValue::Latency {
                    ms: 100,
                    jitter_ms: 0
                }
            )
        );
        assert_eq!(
            Preset::parse("latency=100±20").unwrap(),
            preset(
                "latency",
                PresetValue::Latency {
                    ms: 100,
                    jitter_ms: 20
                }
            )
        );
        assert_eq!(
            Preset::parse("latency=100ms+-20ms").unwrap(),
            preset(
                "latency",
                PresetValue::Latency {
                    ms: 100,
                    jitter_ms: 20
                }
            )
        );
        assert_eq!(Preset::parse("seed=7").unwrap(), Preset::seed(7));
        assert_eq!(
            Preset::parse("slr-model=off").unwrap(),
            preset("slr-model", PresetValue::Switch(false))
        );
        assert_eq!(
            Preset::parse_list("slr-delay=5s, throttle=20\nseed=1")
                .unwrap()
                .len(),
            3
        );
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "slr-delay=5s",
            "iam-propagation=1m",
            "throttle=12.5",
            "flaky=20",
            "latency=100±20",
            "latency=5",
            "seed=3",
            "slr-model=off",
        ] {
            let p = Preset::parse(text).unwrap();
            assert_eq!(Preset::parse(&p.to_string()).unwrap(), p, "{text}");
        }
    }

    #[test]
    fn errors_name_the_preset_and_the_forms() {
        let e = Preset::parse("slr-delay=soon").unwrap_err().to_string();
        assert!(
            e.contains("slr-delay=soon") && e.contains("duration like 20s"),
            "{e}"
        );
        assert!(e.contains("latency=MS[±JITTER]"), "{e}");
        let e = Preset::parse("throttle=150").unwrap_err().to_string();
        assert!(e.contains("percentage from 0 to 100"), "{e}");
        let e = Preset::parse("latency").unwrap_err().to_string();
        assert!(e.contains("latency needs a value"), "{e}");
        let e = Preset::parse("latency=1±x").unwrap_err().to_string();
        assert!(e.contains("MS±JITTER"), "{e}");
        let e = Preset::parse("chaos-monkey").unwrap_err().to_string();
        assert!(e.contains("unknown preset \"chaos-monkey\""), "{e}");
    }

    #[test]
    fn flaky_total_probability_is_the_percentage() {
        let rules = preset("flaky", PresetValue::Percent(30.0)).rules();
        let ps: Vec<f64> = rules.iter().map(|r| r.probability.unwrap()).collect();
        let none_fire: f64 = ps.iter().map(|p| 1.0 - p).product();
        assert!((1.0 - none_fire - 0.30).abs() < 1e-9);
        // Each kind equally likely: P(500) = P(503) = P(drop) = 10 %.
        let p503 = (1.0 - ps[0]) * ps[1];
        let pdrop = (1.0 - ps[0]) * (1.0 - ps[1]) * ps[2];
        assert!(
            (ps[0] - 0.1).abs() < 1e-9 && (p503 - 0.1).abs() < 1e-9 && (pdrop - 0.1).abs() < 1e-9
        );
        for r in &rules {
            r.validate().unwrap();
            assert!(r.name.as_ref().unwrap().starts_with("preset:flaky"));
        }
        assert_eq!(
            preset("flaky", PresetValue::Percent(100.0)).rules()[2].probability,
            Some(1.0)
        );
    }

    #[test]
    fn model_switches() {
        let mut s = ModelSettings::default();
        preset("slr-delay", PresetValue::Duration(Duration::from_secs(2))).apply_to_models(&mut s);
        preset(
            "iam-propagation",
            PresetValue::Duration(Duration::from_secs(3)),
        )
        .apply_to_models(&mut s);
        assert!(s.is_enabled("slr-delay") && s.is_enabled("iam-propagation"));
        preset("slr-model", PresetValue::Switch(false)).apply_to_models(&mut s);
        assert!(!s.service_linked_role);
        assert!(preset("slr-delay", PresetValue::Duration(Duration::ZERO))
            .rules()
            .is_empty());
        assert_eq!(
            preset("throttle", PresetValue::Percent(1.0))
                .rule_prefix()
                .as_deref(),
            Some("preset:throttle")
        );
    }
}
