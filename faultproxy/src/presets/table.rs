//! The preset table: one row per preset (name, parameter kind with its default, what it sets,
//! doc) and the small functions the rows point to. A new preset is one row here.

use std::time::Duration;

use super::{ParamKind, PresetDef, PresetValue, Sets};
use crate::models::{ModelSettings, Toggle, WindowRange};
use crate::rules::Rule;

pub const DEFAULT_SLR_DELAY: Duration = Duration::from_secs(20);
pub const DEFAULT_IAM_PROPAGATION: Duration = Duration::from_secs(10);
pub const DEFAULT_THROTTLE_PERCENT: f64 = 10.0;
pub const DEFAULT_FLAKY_PERCENT: f64 = 10.0;

/// Every preset.
pub const PRESETS: &[PresetDef] = &[
    PresetDef {
        name: "slr-delay",
        param: ParamKind::Duration {
            default: DEFAULT_SLR_DELAY,
        },
        sets: Sets::Models(set_slr_delay),
        doc: "The ECS service-linked role stays invisible for this long after creation (model=slr-delay:D; 0 switches it off).",
    },
    PresetDef {
        name: "iam-propagation",
        param: ParamKind::Duration {
            default: DEFAULT_IAM_PROPAGATION,
        },
        sets: Sets::Models(set_iam_propagation),
        doc: "A new IAM role is \"Principal not found\" for ECR policies for this long (model=iam-propagation:D; 0 switches it off).",
    },
    PresetDef {
        name: "throttle",
        param: ParamKind::Percent {
            default: DEFAULT_THROTTLE_PERCENT,
        },
        sets: Sets::Rules(throttle_rules),
        doc: "This percentage of AWS requests get the service's throttling error.",
    },
    PresetDef {
        name: "flaky",
        param: ParamKind::Percent {
            default: DEFAULT_FLAKY_PERCENT,
        },
        sets: Sets::Rules(flaky_rules),
        doc: "This percentage of AWS requests get a 500 InternalFailure, a 503 ServiceUnavailable or a dropped connection (a third each).",
    },
    PresetDef {
        name: "latency",
        param: ParamKind::Latency,
        sets: Sets::Rules(latency_rules),
        doc: "Every AWS request is delayed by MS ± JITTER milliseconds.",
    },
    PresetDef {
        name: "seed",
        param: ParamKind::Integer,
        sets: Sets::Seed,
        doc: "Global seed for rules without their own (reproducible chaos).",
    },
    PresetDef {
        name: "slr-model",
        param: ParamKind::Switch,
        sets: Sets::Models(set_slr_model),
        doc: "Switches the service-linked-role lifecycle model on or off (on by default).",
    },
    PresetDef {
        name: "fresh-account",
        param: ParamKind::Switch,
        sets: Sets::Models(set_fresh_account),
        doc: "A brand-new AWS account: every behaviour model on, each window drawn from its range.",
    },
    PresetDef {
        name: "time-scale",
        param: ParamKind::Scale,
        sets: Sets::Models(set_time_scale),
        doc: "Multiplies every model window (0.05 runs a 20 s window in 1 s; > 1 stretches it).",
    },
    PresetDef {
        name: "model",
        param: ParamKind::Model,
        sets: Sets::Models(set_model),
        doc: "Switches one behaviour model on or off, or on with its own window range.",
    },
];

fn set_fresh_account(s: &mut ModelSettings, v: PresetValue) {
    match v {
        PresetValue::Switch(true) => s.enable_all(),
        PresetValue::Switch(false) => s.disable_all(),
        _ => {}
    }
}

fn set_time_scale(s: &mut ModelSettings, v: PresetValue) {
    if let PresetValue::Scale(x) = v {
        // Validated when parsed; a rejected value changes nothing.
        let _ = s.set_time_scale(x);
    }
}

fn set_model(s: &mut ModelSettings, v: PresetValue) {
    if let PresetValue::Model(spec, t) = v {
        s.toggle(spec, t);
    }
}

/// `NAME=D`, the fixed-window spelling of `model=NAME:D`: model `name` on with the one window D
/// (read at each check, so changing it applies to the windows already open); D = 0 switches the
/// model off and drops the override.
fn fixed_window(s: &mut ModelSettings, name: &str, v: PresetValue) {
    let PresetValue::Duration(d) = v else {
        return;
    };
    let Some(spec) = crate::models::spec(name) else {
        // Unreachable: `presets_name_registry_models` checks both names.
        return;
    };
    if d.is_zero() {
        s.toggle(spec, Toggle::Off);
        let _ = s.set_range_override(name, None);
    } else {
        s.toggle(spec, Toggle::Window(WindowRange::fixed(d)));
    }
}

fn set_slr_delay(s: &mut ModelSettings, v: PresetValue) {
    s.service_linked_role = true;
    fixed_window(s, "slr-delay", v);
}

fn set_iam_propagation(s: &mut ModelSettings, v: PresetValue) {
    fixed_window(s, "iam-propagation", v);
}

fn set_slr_model(s: &mut ModelSettings, v: PresetValue) {
    if let PresetValue::Switch(on) = v {
        s.service_linked_role = on;
    }
}

fn throttle_rules(v: PresetValue) -> Vec<Rule> {
    let PresetValue::Percent(percent) = v else {
        return Vec::new();
    };
    vec![Rule::named("preset:throttle")
        .with_probability(percent / 100.0, None)
        .with_throttle()]
}

/// Three equally likely failure kinds whose total probability is `percent`: each rule's
/// probability is conditional on the previous ones not having fired.
fn flaky_rules(v: PresetValue) -> Vec<Rule> {
    let PresetValue::Percent(percent) = v else {
        return Vec::new();
    };
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

fn latency_rules(v: PresetValue) -> Vec<Rule> {
    let PresetValue::Latency { ms, jitter_ms } = v else {
        return Vec::new();
    };
    vec![Rule::named("preset:latency").with_latency(ms, jitter_ms)]
}

fn conditional(p: f64, remaining: f64) -> f64 {
    // Guard against rounding: `percent = 100` must make the last rule certain.
    if remaining <= 0.0 || p >= remaining - 1e-12 {
        1.0
    } else {
        (p / remaining).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::models::{specs, ModelSettings, WindowRange};
    use crate::presets::Preset;

    fn apply(texts: &str) -> ModelSettings {
        let mut s = ModelSettings::default();
        for p in Preset::parse_list(texts).unwrap() {
            p.apply_to_models(&mut s);
        }
        s
    }

    #[test]
    fn fresh_account_scale_and_per_model_rows() {
        let all: Vec<&str> = crate::models::all_specs().map(|s| s.name).collect();
        let s = apply("time-scale=0.05 fresh-account");
        assert_eq!(s.enabled_names(), all);
        assert_eq!(
            s.time_scale(),
            0.05,
            "fresh-account keeps the scale set before it"
        );
        let s = apply(
            "fresh-account model=ecs-service-draining:off model=ecs-cluster-not-found:2s..5s",
        );
        assert!(!s.is_enabled("ecs-service-draining"));
        let spec = crate::models::spec("ecs-cluster-not-found").unwrap();
        assert_eq!(s.range(spec), WindowRange::secs(2, 5));
        assert!(apply("fresh-account fresh-account=off")
            .enabled_names()
            .is_empty());
        for text in [
            "fresh-account=on",
            "time-scale=0.05",
            "model=ecs-service-draining:10s..20s",
        ] {
            let p = Preset::parse(text).unwrap();
            assert_eq!(Preset::parse(&p.to_string()).unwrap(), p, "{text}");
        }
    }

    #[test]
    fn presets_name_registry_models() {
        for name in ["slr-delay", "iam-propagation"] {
            assert!(crate::models::spec(name).is_some(), "{name}");
        }
    }

    #[test]
    fn fixed_window_presets_are_model_switches() {
        let s = apply("slr-delay=2s iam-propagation=3s");
        assert_eq!(s.enabled_names(), ["slr-delay", "iam-propagation"]);
        let slr = crate::models::spec("slr-delay").unwrap();
        let ecr = crate::models::spec("iam-propagation").unwrap();
        assert_eq!(
            s.window_range(slr),
            Some(WindowRange::fixed(Duration::from_secs(2)))
        );
        assert_eq!(
            s.window_range(ecr),
            Some(WindowRange::fixed(Duration::from_secs(3)))
        );
        assert_eq!(s, apply("model=slr-delay:2s model=iam-propagation:3s"));
        let s = apply("fresh-account slr-delay=5s slr-delay=0");
        assert!(!s.is_enabled("slr-delay"), "0 switches it off");
        assert_eq!(s.range(slr), slr.window, "and drops the override");
        assert!(s.is_enabled("iam-propagation"));
    }

    #[test]
    fn bad_scale_and_unknown_models_name_the_allowed_values() {
        for bad in ["time-scale=0", "time-scale=-1", "time-scale=inf"] {
            let e = Preset::parse(bad).unwrap_err().to_string();
            assert!(e.contains("greater than 0"), "{bad}: {e}");
        }
        let e = Preset::parse("time-scale=fast").unwrap_err().to_string();
        assert!(e.contains("time-scale takes a number"), "{e}");
        let e = Preset::parse("time-scale").unwrap_err().to_string();
        assert!(e.contains("time-scale needs a value"), "{e}");
        let e = Preset::parse("model=chaos-monkey:on")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown model \"chaos-monkey\""), "{e}");
        for name in specs().map(|s| s.name) {
            assert!(e.contains(name), "lists {name}: {e}");
        }
        let e = Preset::parse("model=ecs-service-draining:soon")
            .unwrap_err()
            .to_string();
        assert!(e.contains("takes on, off, a window"), "{e}");
    }
}
