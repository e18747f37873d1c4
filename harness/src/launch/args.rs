//! Why this file exists: `harness up` and `harness run` take the same flags for what runs behind
//! the endpoint: the emulator backend, fault presets, and the behaviour models. The models are
//! chosen with `--profile fresh-account` (every model on), `--seed N` (the window draws, and the
//! rules without a seed of their own), `--time-scale F` (multiplies every window) and
//! `--model NAME[=on|off|WINDOW]` (one model). Bad values are clap errors that name the allowed
//! values, before any emulator starts. [`describe_models`] is the `#` summary both print.

use clap::{Args, ValueEnum};

use crate::emulator::Backend;
use faultproxy::models::{self as proxy_models, ModelSettingsError, ModelSpec, WindowRange};
use faultproxy::{ModelSettings, Preset, PresetError};

/// The flags `harness up` and `harness run` share: which emulator, which faults and models.
#[derive(Debug, Clone, Args)]
pub struct LaunchArgs {
    /// Emulator backend: moto, moto-container, localstack, localstack+moto, external.
    #[arg(long, env = "HARNESS_BACKEND", default_value = "moto")]
    pub backend: Backend,
    /// Fault preset, repeatable: slr-delay[=DURATION], iam-propagation[=DURATION],
    /// throttle[=PERCENT], flaky[=PERCENT], latency=MS[±JITTER], seed=N, slr-model=on|off,
    /// fresh-account=on|off, time-scale=F, model=NAME:on|off|MIN..MAX. Several at once are
    /// separated by commas (HARNESS_PRESETS=throttle=10,latency=50).
    #[arg(
        long = "preset",
        env = "HARNESS_PRESETS",
        value_name = "NAME[=VALUE]",
        value_delimiter = ',',
        value_parser = Preset::parse
    )]
    pub presets: Vec<Preset>,
    /// Global seed: makes the model windows, probabilistic presets and rules reproducible.
    #[arg(long, env = "HARNESS_SEED")]
    pub seed: Option<u64>,
    /// Behaviour-model profile: `default` (the service-linked-role lifecycle only) or
    /// `fresh-account` (every model on; windows drawn per event from AWS's typical ranges).
    #[arg(long, env = "HARNESS_PROFILE", value_enum, default_value_t = Profile::Default)]
    pub profile: Profile,
    /// Multiplies every model window: a number > 0 (0.05 runs a 20 s window in 1 s, 2 doubles it).
    #[arg(
        long,
        value_name = "F",
        env = "HARNESS_TIME_SCALE",
        allow_negative_numbers = true,
        value_parser = parse_time_scale
    )]
    pub time_scale: Option<f64>,
    /// One behaviour model or catalogue row, repeatable: NAME (on), NAME=off, NAME=5s (fixed
    /// window) or NAME=2s..20s (range).
    #[arg(
        long = "model",
        value_name = "NAME[=on|off|WINDOW]",
        value_parser = ModelSwitch::parse,
        long_help = model_help()
    )]
    pub models: Vec<ModelSwitch>,
    /// `--replay FILE`, `--replay-by`: a real run's failures as rules (harness/src/replay/).
    #[command(flatten)]
    pub replay: crate::replay::ReplayArgs,
}

/// `--model`'s long help: the switch, then every model and catalogue row by name, from the
/// registry and the catalogue (so the list cannot fall behind them).
fn model_help() -> String {
    let names = |specs: &mut dyn Iterator<Item = &'static ModelSpec>| {
        specs.map(|s| s.name).collect::<Vec<_>>().join(", ")
    };
    format!(
        "One behaviour model or catalogue row, repeatable: NAME (on), NAME=off, NAME=5s (fixed \
         window) or NAME=2s..20s (range). Applied after --profile; an unknown name is an error \
         listing every name.\n\nModels: {}.\n\nCatalogue rows (docs/src/catalogue.md): {}.",
        names(&mut proxy_models::specs()),
        names(&mut faultproxy::catalogue::specs()),
    )
}

/// The behaviour-model profiles `--profile` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    /// The ECS service-linked-role lifecycle only, no windowed model.
    Default,
    /// A brand-new AWS account: every behaviour model on.
    FreshAccount,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Default => "default",
            Profile::FreshAccount => "fresh-account",
        }
    }
}

/// `--model NAME[=VALUE]`, validated against the model registry when parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSwitch {
    pub name: String,
    pub value: String,
}

impl ModelSwitch {
    pub fn parse(text: &str) -> Result<ModelSwitch, ModelSettingsError> {
        let (name, value) = text.split_once('=').unwrap_or((text, "on"));
        let switch = ModelSwitch {
            name: name.trim().to_string(),
            value: value.trim().to_string(),
        };
        // Validate now (unknown names, bad windows), so clap reports it before anything starts.
        switch.apply(&mut ModelSettings::default())?;
        Ok(switch)
    }

    pub fn apply(&self, s: &mut ModelSettings) -> Result<(), ModelSettingsError> {
        s.apply_switch(&self.name, &self.value)
    }
}

fn parse_time_scale(text: &str) -> Result<f64, ModelSettingsError> {
    let mut s = ModelSettings::default();
    s.set_time_scale_text(text)?;
    Ok(s.time_scale())
}

impl LaunchArgs {
    /// The presets the proxy starts with: `--preset`s, then `--profile`, `--time-scale` and
    /// `--model` as the `fresh-account`, `time-scale=F` and `model=NAME:VALUE` presets (so a
    /// `POST /_harness/reset` keeps them), the seed first (`--seed` also seeds the model windows).
    pub fn presets(&self) -> Result<Vec<Preset>, PresetError> {
        let mut texts = Vec::new();
        if self.profile == Profile::FreshAccount {
            texts.push("fresh-account".to_string());
        }
        if let Some(scale) = self.time_scale {
            texts.push(format!("time-scale={scale}"));
        }
        for m in &self.models {
            texts.push(format!("model={}:{}", m.name, m.value));
        }
        let mut presets = self.presets.clone();
        for t in &texts {
            presets.push(Preset::parse(t)?);
        }
        if let Some(seed) = self.seed {
            presets.retain(|p| !p.is_seed());
            presets.insert(0, Preset::seed(seed));
        }
        Ok(presets)
    }

    /// The model settings these arguments give a proxy (what it holds after applying
    /// [`LaunchArgs::presets`]).
    pub fn model_settings(&self) -> Result<ModelSettings, PresetError> {
        Ok(settings_of(&self.presets()?))
    }
}

/// The model settings a fresh proxy (or a leased account) holds after `presets` (the seed first).
pub fn settings_of(presets: &[Preset]) -> ModelSettings {
    let mut s = ModelSettings::default();
    for p in presets
        .iter()
        .filter(|p| p.is_seed())
        .chain(presets.iter().filter(|p| !p.is_seed()))
    {
        if let Some(seed) = p.seed_value() {
            s.seed = seed;
        }
        p.apply_to_models(&mut s);
    }
    s
}

/// The comment lines describing the models: profile, seed, scale, then one line per model that
/// is on with its window range after scaling (and before, when the scale is not 1).
pub fn describe_models(profile: Profile, s: &ModelSettings) -> Vec<String> {
    let mut lines = vec![format!(
        "# Behaviour models: profile {}, seed {}, time-scale {}",
        profile.name(),
        s.seed,
        s.time_scale()
    )];
    let mut any = false;
    let rows_on = faultproxy::catalogue::specs()
        .filter(|spec| s.is_enabled(spec.name))
        .count();
    // A few rows switched on one by one (`--model iam-propagation=10s`) get a line each; the
    // whole catalogue (`--profile fresh-account`) one line.
    let listed = proxy_models::specs()
        .chain(faultproxy::catalogue::specs().filter(|_| rows_on <= LISTED_ROWS));
    for spec in listed {
        let Some(range) = s.window_range(spec) else {
            continue;
        };
        any = true;
        let scaled = WindowRange {
            min: s.scaled(range.min),
            max: s.scaled(range.max),
        };
        let unscaled = if s.time_scale() == 1.0 {
            String::new()
        } else {
            format!(" ({range} x {})", s.time_scale())
        };
        lines.push(format!("#   {:<34} window {scaled}{unscaled}", spec.name));
    }
    let rows = rows_on;
    if rows > LISTED_ROWS {
        any = true;
        lines.push(format!(
            "#   {rows} catalogue row(s) on (docs/src/catalogue.md), windows drawn from their ranges"
        ));
    }
    if !any {
        lines.push("#   no windowed model on (--profile fresh-account turns them all on)".into());
    }
    lines
}

/// Up to this many catalogue rows on are described one per line.
const LISTED_ROWS: usize = 3;

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: LaunchArgs,
    }

    fn parse(args: &[&str]) -> Result<LaunchArgs, String> {
        Wrapper::try_parse_from(std::iter::once("up").chain(args.iter().copied()))
            .map(|w| w.args)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn fresh_account_profile_seed_and_scale() {
        let a = parse(&[
            "--profile",
            "fresh-account",
            "--seed",
            "7",
            "--time-scale",
            "0.05",
        ])
        .unwrap();
        let s = a.model_settings().unwrap();
        assert_eq!(s.enabled_names().len(), proxy_models::all_specs().count());
        assert_eq!((s.seed, s.time_scale()), (7, 0.05));

        let text = describe_models(a.profile, &s).join("\n");
        assert!(
            text.contains("profile fresh-account, seed 7, time-scale 0.05"),
            "{text}"
        );
        // slr-delay's 2s..20s, scaled by 0.05.
        assert!(
            text.contains("slr-delay") && text.contains("window 100ms..1s (2s..20s x 0.05)"),
            "{text}"
        );
        for spec in proxy_models::specs() {
            assert!(text.contains(spec.name), "{} missing:\n{text}", spec.name);
        }
    }

    #[test]
    fn model_help_names_every_registered_model() {
        use clap::CommandFactory;
        let help = Wrapper::command().render_long_help().to_string();
        for spec in proxy_models::all_specs() {
            assert!(
                help.contains(spec.name),
                "--help misses {}:\n{help}",
                spec.name
            );
        }
    }

    #[test]
    fn default_profile_keeps_todays_models() {
        let a = parse(&[]).unwrap();
        assert_eq!(a.profile, Profile::Default);
        let s = a.model_settings().unwrap();
        assert_eq!(s, ModelSettings::default());
        let text = describe_models(a.profile, &s).join("\n");
        assert!(text.contains("no windowed model on"), "{text}");
    }

    #[test]
    fn model_switches_apply_after_the_profile() {
        let a = parse(&[
            "--profile",
            "fresh-account",
            "--model",
            "ecs-service-draining=off",
            "--model",
            "slr-delay=1s..2s",
        ])
        .unwrap();
        let s = a.model_settings().unwrap();
        assert!(!s.is_enabled("ecs-service-draining"));
        let spec = proxy_models::spec("slr-delay").unwrap();
        assert_eq!(s.range(spec), WindowRange::secs(1, 2));
    }

    #[test]
    fn bad_values_are_errors_naming_the_allowed_ones() {
        for bad in ["0", "-1", "NaN", "inf"] {
            let e = parse(&["--time-scale", bad]).unwrap_err();
            assert!(
                e.contains("--time-scale") && e.contains("greater than 0"),
                "{bad}: {e}"
            );
        }
        let e = parse(&["--time-scale", "fast"]).unwrap_err();
        assert!(e.contains("takes a number greater than 0"), "{e}");

        let e = parse(&["--model", "chaos-monkey"]).unwrap_err();
        assert!(e.contains("unknown model \"chaos-monkey\""), "{e}");
        for spec in proxy_models::specs() {
            assert!(
                e.contains(spec.name),
                "allowed model {} not named: {e}",
                spec.name
            );
        }
        let e = parse(&["--model", "slr-delay=soon"]).unwrap_err();
        assert!(e.contains("takes on, off, a window"), "{e}");

        let e = parse(&["--profile", "old-account"]).unwrap_err();
        assert!(
            e.contains("old-account") && e.contains("default") && e.contains("fresh-account"),
            "{e}"
        );
    }
}
