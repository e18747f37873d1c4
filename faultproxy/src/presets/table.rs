//! The preset table: one row per preset (name, parameter kind with its default, what it sets,
//! doc) and the small functions the rows point to. A new preset is one row here.

use std::time::Duration;

use super::{ParamKind, PresetDef, PresetValue, Sets};
use crate::models::ModelSettings;
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
        doc: "The ECS service-linked role stays invisible for this long after creation.",
    },
    PresetDef {
        name: "iam-propagation",
        param: ParamKind::Duration {
            default: DEFAULT_IAM_PROPAGATION,
        },
        sets: Sets::Models(set_iam_propagation),
        doc: "A new IAM role is \"Principal not found\" for ECR policies for this long.",
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
];

fn set_slr_delay(s: &mut ModelSettings, v: PresetValue) {
    if let PresetValue::Duration(d) = v {
        s.service_linked_role = true;
        s.slr_delay = d;
    }
}

fn set_iam_propagation(s: &mut ModelSettings, v: PresetValue) {
    if let PresetValue::Duration(d) = v {
        s.iam_propagation = d;
    }
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
