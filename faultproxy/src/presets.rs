//! Presets: named, parameterised fault set-ups a user can switch on with one word
//! (`--preset slr-delay=5s`, `POST /_harness/presets`, `TestEnv::with_presets(&["throttle=20"])`).
//!
//! A preset is either a model switch (`slr-delay`, `iam-propagation`, `slr-model`), a named rule
//! set (`throttle`, `flaky`, `latency`; applying it again replaces its rules instead of stacking
//! them), or the global `seed` from which rules without their own seed derive theirs.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::models::ModelSettings;
use super::rules::Rule;

/// Forms accepted by [`Preset::parse`], for error messages and help texts.
pub const ACCEPTED_FORMS: &str = "slr-delay[=DURATION] (default 20s), iam-propagation[=DURATION] (default 10s), \
throttle[=PERCENT] (default 10), flaky[=PERCENT] (default 10), latency=MS[±JITTER] (or MS+-JITTER), \
seed=N, slr-model=on|off";

pub const DEFAULT_SLR_DELAY: Duration = Duration::from_secs(20);
pub const DEFAULT_IAM_PROPAGATION: Duration = Duration::from_secs(10);
pub const DEFAULT_THROTTLE_PERCENT: f64 = 10.0;
pub const DEFAULT_FLAKY_PERCENT: f64 = 10.0;

/// One preset with its parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum Preset {
    /// The ECS service-linked role stays invisible for this long after creation.
    SlrDelay(Duration),
    /// A new IAM role is "Principal not found" for ECR policies for this long.
    IamPropagation(Duration),
    /// This percentage of AWS requests get the service's throttling error.
    Throttle { percent: f64 },
    /// This percentage of AWS requests get a 500 InternalFailure, a 503 ServiceUnavailable or a
    /// dropped connection (a third each).
    Flaky { percent: f64 },
    /// Every AWS request is delayed by `ms ± jitter_ms`.
    Latency { ms: u64, jitter_ms: u64 },
    /// Global seed for rules without their own (reproducible chaos).
    Seed(u64),
    /// Switch the service-linked-role lifecycle model on or off (on by default).
    SlrModel(bool),
}

/// A preset that could not be parsed; names the preset and the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid preset {input:?}: {reason}. Accepted presets: {ACCEPTED_FORMS}")]
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
        let duration = |default: Duration| -> Result<Duration, PresetError> {
            match value {
                None => Ok(default),
                Some("0") => Ok(Duration::ZERO),
                Some(v) => humantime::parse_duration(v).map_err(|e| {
                    err(format!(
                        "{name} takes a duration like 20s, 1500ms or 1m, got {v:?} ({e})"
                    ))
                }),
            }
        };
        let percent = |default: f64| -> Result<f64, PresetError> {
            let Some(v) = value else { return Ok(default) };
            let p: f64 = v.trim_end_matches('%').trim().parse().map_err(|_| {
                err(format!(
                    "{name} takes a percentage from 0 to 100, got {v:?}"
                ))
            })?;
            if !(0.0..=100.0).contains(&p) {
                return Err(err(format!(
                    "{name} takes a percentage from 0 to 100, got {v:?}"
                )));
            }
            Ok(p)
        };
        match name {
            "slr-delay" => Ok(Preset::SlrDelay(duration(DEFAULT_SLR_DELAY)?)),
            "iam-propagation" => Ok(Preset::IamPropagation(duration(DEFAULT_IAM_PROPAGATION)?)),
            "throttle" => Ok(Preset::Throttle {
                percent: percent(DEFAULT_THROTTLE_PERCENT)?,
            }),
            "flaky" => Ok(Preset::Flaky {
                percent: percent(DEFAULT_FLAKY_PERCENT)?,
            }),
            "latency" => {
                let v = value.ok_or_else(|| {
                    err("latency needs a value: latency=MS or latency=MS±JITTER".into())
                })?;
                parse_latency(v)
                    .map(|(ms, jitter_ms)| Preset::Latency { ms, jitter_ms })
                    .ok_or_else(|| {
                        err(format!(
                            "latency takes MS, MS±JITTER or MS+-JITTER (milliseconds), got {v:?}"
                        ))
                    })
            }
            "seed" => {
                let v = value.ok_or_else(|| err("seed needs a value: seed=N".into()))?;
                v.parse()
                    .map(Preset::Seed)
                    .map_err(|_| err(format!("seed takes an unsigned integer, got {v:?}")))
            }
            "slr-model" => match value {
                None | Some("on") | Some("true") => Ok(Preset::SlrModel(true)),
                Some("off") | Some("false") => Ok(Preset::SlrModel(false)),
                Some(v) => Err(err(format!("slr-model takes on or off, got {v:?}"))),
            },
            "" => Err(err("empty preset name".into())),
            other => Err(err(format!("unknown preset {other:?}"))),
        }
    }

    /// Parses several presets separated by whitespace, commas or new lines.
    pub fn parse_list(text: &str) -> Result<Vec<Preset>, PresetError> {
        text.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(Preset::parse)
            .collect()
    }

    pub fn name(&self) -> &'static str {
        match self {
            Preset::SlrDelay(_) => "slr-delay",
            Preset::IamPropagation(_) => "iam-propagation",
            Preset::Throttle { .. } => "throttle",
            Preset::Flaky { .. } => "flaky",
            Preset::Latency { .. } => "latency",
            Preset::Seed(_) => "seed",
            Preset::SlrModel(_) => "slr-model",
        }
    }

    /// Prefix shared by the names of the rules this preset installs (`None` for non-rule presets).
    pub fn rule_prefix(&self) -> Option<String> {
        matches!(
            self,
            Preset::Throttle { .. } | Preset::Flaky { .. } | Preset::Latency { .. }
        )
        .then(|| format!("preset:{}", self.name()))
    }

    /// The rules this preset installs (empty for model switches and the seed). Rules carry no
    /// seed of their own: they derive it from the global seed and their name.
    pub fn rules(&self) -> Vec<Rule> {
        match *self {
            Preset::Throttle { percent } => {
                vec![Rule::named("preset:throttle")
                    .with_probability(percent / 100.0, None)
                    .with_throttle()]
            }
            Preset::Flaky { percent } => {
                // Three equally likely failure kinds whose total probability is `percent`:
                // each rule's probability is conditional on the previous ones not having fired.
                let third = percent / 300.0;
                let p500 = third;
                let p503 = conditional(third, 1.0 - third);
                let pdrop = conditional(third, 1.0 - 2.0 * third);
                vec![
                    Rule::named("preset:flaky-500")
                        .with_probability(p500, None)
                        .with_error(
                            500,
                            "InternalFailure",
                            "We encountered an internal error. Please try again.",
                        ),
                    Rule::named("preset:flaky-503")
                        .with_probability(p503, None)
                        .with_error(
                            503,
                            "ServiceUnavailable",
                            "Service is unavailable. Please try again later.",
                        ),
                    Rule::named("preset:flaky-drop")
                        .with_probability(pdrop, None)
                        .with_drop(),
                ]
            }
            Preset::Latency { ms, jitter_ms } => {
                vec![Rule::named("preset:latency").with_latency(ms, jitter_ms)]
            }
            _ => Vec::new(),
        }
    }

    /// Applies a model switch (no-op for other presets).
    pub fn apply_to_models(&self, s: &mut ModelSettings) {
        match *self {
            Preset::SlrDelay(d) => {
                s.service_linked_role = true;
                s.slr_delay = d;
            }
            Preset::IamPropagation(d) => s.iam_propagation = d,
            Preset::SlrModel(on) => s.service_linked_role = on,
            _ => {}
        }
    }
}

fn conditional(p: f64, remaining: f64) -> f64 {
    // Guard against rounding: `percent = 100` must make the last rule certain.
    if remaining <= 0.0 || p >= remaining - 1e-12 {
        1.0
    } else {
        (p / remaining).clamp(0.0, 1.0)
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

impl FromStr for Preset {
    type Err = PresetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Preset::parse(s)
    }
}

/// Canonical text form; `Preset::parse(&p.to_string()) == p`.
impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Preset::SlrDelay(d) | Preset::IamPropagation(d) => {
                write!(f, "{}={}", self.name(), humantime::format_duration(*d))
            }
            Preset::Throttle { percent } | Preset::Flaky { percent } => {
                write!(f, "{}={percent}", self.name())
            }
            Preset::Latency { ms, jitter_ms: 0 } => write!(f, "latency={ms}"),
            Preset::Latency { ms, jitter_ms } => write!(f, "latency={ms}±{jitter_ms}"),
            Preset::Seed(n) => write!(f, "seed={n}"),
            Preset::SlrModel(on) => write!(f, "slr-model={}", if *on { "on" } else { "off" }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_forms() {
        assert_eq!(
            Preset::parse("slr-delay").unwrap(),
            Preset::SlrDelay(Duration::from_secs(20))
        );
        assert_eq!(
            Preset::parse("slr-delay=5s").unwrap(),
            Preset::SlrDelay(Duration::from_secs(5))
        );
        assert_eq!(
            Preset::parse("slr-delay=1500ms").unwrap(),
            Preset::SlrDelay(Duration::from_millis(1500))
        );
        assert_eq!(
            Preset::parse("iam-propagation").unwrap(),
            Preset::IamPropagation(Duration::from_secs(10))
        );
        assert_eq!(
            Preset::parse("throttle").unwrap(),
            Preset::Throttle { percent: 10.0 }
        );
        assert_eq!(
            Preset::parse("flaky=20%").unwrap(),
            Preset::Flaky { percent: 20.0 }
        );
        assert_eq!(
            Preset::parse("latency=100").unwrap(),
            Preset::Latency {
                ms: 100,
                jitter_ms: 0
            }
        );
        assert_eq!(
            Preset::parse("latency=100±20").unwrap(),
            Preset::Latency {
                ms: 100,
                jitter_ms: 20
            }
        );
        assert_eq!(
            Preset::parse("latency=100ms+-20ms").unwrap(),
            Preset::Latency {
                ms: 100,
                jitter_ms: 20
            }
        );
        assert_eq!(Preset::parse("seed=7").unwrap(), Preset::Seed(7));
        assert_eq!(
            Preset::parse("slr-model=off").unwrap(),
            Preset::SlrModel(false)
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
        let rules = Preset::Flaky { percent: 30.0 }.rules();
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
            Preset::Flaky { percent: 100.0 }.rules()[2].probability,
            Some(1.0)
        );
    }

    #[test]
    fn model_switches() {
        let mut s = ModelSettings::default();
        Preset::SlrDelay(Duration::from_secs(2)).apply_to_models(&mut s);
        Preset::IamPropagation(Duration::from_secs(3)).apply_to_models(&mut s);
        assert_eq!(s.slr_delay, Duration::from_secs(2));
        assert_eq!(s.iam_propagation, Duration::from_secs(3));
        Preset::SlrModel(false).apply_to_models(&mut s);
        assert!(!s.service_linked_role);
        assert!(Preset::SlrDelay(Duration::ZERO).rules().is_empty());
        assert_eq!(
            Preset::Throttle { percent: 1.0 }.rule_prefix().as_deref(),
            Some("preset:throttle")
        );
    }
}
