//! [`ModelSettings`]: which behaviour models are on, their windows, the seed and the time scale.
//!
//! Presets, the control API and library users change the settings; every request reads a copy
//! (the type is `Copy`, so the hot path takes no lock across an await). The windowed models and
//! catalogue rows are named by the registry in `models/mod.rs` and addressed per request by their
//! [`ModelId`] (an index, no name look-up). One mechanism configures them all: a per-model switch
//! (on, off, or on with its own window range); the fixed-window presets (`slr-delay=5s`) are
//! spellings of such a switch. A window's length is drawn from the range in force (override or
//! default) times the time scale, at each check. [`ModelSettings::fresh_account`] turns them all
//! on. Setters validate and name the allowed values on error.

use std::time::Duration;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use super::window::{self, ResourceKey, WindowRange};
use super::{all_specs, spec_index, ModelSpec};

/// Most windowed models and catalogue rows the settings can hold (a bit each).
pub const MAX_MODELS: usize = 64;

/// A windowed model or catalogue row, as the hot path names it: its index in the settings
/// ([`all_specs`] order). Code models have a constant each (`models/mod.rs`); a catalogue engine
/// derives its rows' ids from the id of its first row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ModelId(pub(crate) u8);

impl ModelId {
    /// The id at settings index `i` (`i` < [`MAX_MODELS`], which a const assertion beside the
    /// registry guarantees for every model and row).
    pub const fn at(i: usize) -> ModelId {
        ModelId(i as u8)
    }

    /// The settings index.
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// The id `n` places after this one (a row's, from its engine's first).
    pub const fn nth(self, n: usize) -> ModelId {
        ModelId::at(self.index() + n)
    }
}

/// Switches and windows of the behaviour models.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ModelSettings {
    /// Service-linked-role lifecycle (creation by CreateCluster, CreateServiceLinkedRole,
    /// deletion FAILED while clusters live). On by default. Its visibility delay is the
    /// `slr-delay` model's window.
    pub service_linked_role: bool,
    /// Seed of the window draws (`seed=N`).
    pub seed: u64,
    /// Windowed models that are on, a bit per registry index.
    #[serde(rename = "models", serialize_with = "ser_enabled")]
    enabled: u64,
    /// Multiplies every window (`time-scale=F`): > 0 and finite.
    time_scale: f64,
    /// Per-model window ranges replacing the registry's defaults.
    #[serde(rename = "windows", serialize_with = "ser_ranges")]
    ranges: [Option<WindowRange>; MAX_MODELS],
}

impl Default for ModelSettings {
    fn default() -> Self {
        ModelSettings {
            service_linked_role: true,
            seed: 0,
            enabled: 0,
            time_scale: 1.0,
            ranges: [None; MAX_MODELS],
        }
    }
}

/// Bad model settings; the message names the allowed values.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelSettingsError {
    #[error("unknown model {name:?}; models: {}", model_names())]
    UnknownModel { name: String },
    #[error("time-scale must be a finite number greater than 0 (e.g. 0.05 or 2), got {value}")]
    TimeScale { value: f64 },
    #[error("time-scale takes a number greater than 0 (e.g. 0.05 or 2), got {text:?}")]
    TimeScaleText { text: String },
    #[error("model {name} takes on, off, a window (5s) or a range MIN..MAX (2s..20s): {reason}")]
    Switch { name: String, reason: String },
}

/// A per-model switch: on, off, or on with this window range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Toggle {
    On,
    Off,
    Window(WindowRange),
}

impl Toggle {
    /// `on`/`true` (or nothing), `off`/`false`, or a window `5s` / range `2s..20s`, for model `name`.
    pub fn parse(name: &str, value: &str) -> Result<Toggle, ModelSettingsError> {
        match value.trim() {
            "on" | "true" | "" => Ok(Toggle::On),
            "off" | "false" => Ok(Toggle::Off),
            v => WindowRange::parse(v).map(Toggle::Window).map_err(|reason| {
                ModelSettingsError::Switch {
                    name: name.to_string(),
                    reason,
                }
            }),
        }
    }
}

impl std::fmt::Display for Toggle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Toggle::On => f.write_str("on"),
            Toggle::Off => f.write_str("off"),
            Toggle::Window(r) => write!(f, "{r}"),
        }
    }
}

fn lookup(name: &str) -> Result<&'static ModelSpec, ModelSettingsError> {
    super::spec(name).ok_or_else(|| ModelSettingsError::UnknownModel {
        name: name.to_string(),
    })
}

/// `MODEL:on|off|MIN..MAX` (also `MODEL=...`; the bare name means on), as the `model` preset
/// takes it.
pub fn parse_model_toggle(text: &str) -> Result<(&'static ModelSpec, Toggle), ModelSettingsError> {
    let (name, value) = text.split_once([':', '=']).unwrap_or((text, ""));
    let spec = lookup(name.trim())?;
    Ok((spec, Toggle::parse(spec.name, value)?))
}

/// `time-scale=F`: a number > 0 and finite.
pub fn parse_time_scale(text: &str) -> Result<f64, ModelSettingsError> {
    let scale: f64 = text
        .trim()
        .parse()
        .map_err(|_| ModelSettingsError::TimeScaleText {
            text: text.to_string(),
        })?;
    if !(scale.is_finite() && scale > 0.0) {
        return Err(ModelSettingsError::TimeScale { value: scale });
    }
    Ok(scale)
}

/// The registry's model names, comma-separated (for errors and help texts).
pub fn model_names() -> String {
    all_specs().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

impl ModelSettings {
    /// A brand-new account: every model on with its default window, time scale 1, seed 0.
    pub fn fresh_account() -> ModelSettings {
        let mut s = ModelSettings::default();
        s.enable_all();
        s
    }

    /// Switches every model on (the `fresh-account` preset), keeping seed, scale and ranges.
    pub fn enable_all(&mut self) {
        self.enabled = (0..all_specs().count()).fold(0, |bits, i| bits | 1 << i);
        self.service_linked_role = true;
    }

    /// Switches every model off (`fresh-account=off`), keeping seed, scale and ranges.
    pub fn disable_all(&mut self) {
        self.enabled = 0;
    }

    fn index(name: &str) -> Result<usize, ModelSettingsError> {
        spec_index(name).ok_or_else(|| ModelSettingsError::UnknownModel {
            name: name.to_string(),
        })
    }

    /// Switches the model `name` on or off.
    pub fn set_enabled(&mut self, name: &str, on: bool) -> Result<(), ModelSettingsError> {
        let bit = 1 << Self::index(name)?;
        if on {
            self.enabled |= bit;
        } else {
            self.enabled &= !bit;
        }
        Ok(())
    }

    /// Is the windowed model `name` on? (Unknown names are off.) For configuration and
    /// reports; a request asks [`ModelSettings::on`].
    pub fn is_enabled(&self, name: &str) -> bool {
        spec_index(name).is_some_and(|i| self.on(ModelId::at(i)))
    }

    /// Is the model or row `id` on? (The hot path's check: one bit test.)
    pub fn on(&self, id: ModelId) -> bool {
        self.enabled & (1u64 << (id.index() % MAX_MODELS)) != 0
    }

    /// Names of the models that are on, in registry order.
    pub fn enabled_names(&self) -> Vec<&'static str> {
        all_specs()
            .enumerate()
            .filter(|(i, _)| self.enabled & (1 << i) != 0)
            .map(|(_, s)| s.name)
            .collect()
    }

    pub fn time_scale(&self) -> f64 {
        self.time_scale
    }

    /// `time-scale=F` from text: a number > 0 and finite.
    pub fn set_time_scale_text(&mut self, text: &str) -> Result<(), ModelSettingsError> {
        self.set_time_scale(parse_time_scale(text)?)
    }

    /// A per-model switch from text: `on`, `off`, or a window range (which also switches it on).
    pub fn apply_switch(&mut self, name: &str, value: &str) -> Result<(), ModelSettingsError> {
        let spec = lookup(name)?;
        self.toggle(spec, Toggle::parse(name, value)?);
        Ok(())
    }

    /// Applies a parsed per-model switch.
    pub fn toggle(&mut self, spec: &ModelSpec, toggle: Toggle) {
        let Some(i) = spec_index(spec.name) else {
            return;
        };
        match toggle {
            Toggle::On => self.enabled |= 1 << i,
            Toggle::Off => self.enabled &= !(1 << i),
            Toggle::Window(range) => {
                self.ranges[i] = Some(range);
                self.enabled |= 1 << i;
            }
        }
    }

    pub fn set_time_scale(&mut self, scale: f64) -> Result<(), ModelSettingsError> {
        if !(scale.is_finite() && scale > 0.0) {
            return Err(ModelSettingsError::TimeScale { value: scale });
        }
        self.time_scale = scale;
        Ok(())
    }

    /// Replaces the default window range of model `name`.
    pub fn set_range(&mut self, name: &str, range: WindowRange) -> Result<(), ModelSettingsError> {
        self.ranges[Self::index(name)?] = Some(range);
        Ok(())
    }

    /// The range model `spec` draws from: the override, else the registry default (by name,
    /// for configuration and reports).
    pub fn range(&self, spec: &ModelSpec) -> WindowRange {
        spec_index(spec.name).map_or(spec.window, |i| self.range_at(ModelId::at(i), spec))
    }

    /// The range model `id` (whose spec is `spec`) draws from: the override, else the default.
    pub fn range_at(&self, id: ModelId, spec: &ModelSpec) -> WindowRange {
        self.ranges[id.index() % MAX_MODELS].unwrap_or(spec.window)
    }

    /// The window range model `spec` uses now, or `None` when it is off.
    pub fn window_range(&self, spec: &ModelSpec) -> Option<WindowRange> {
        self.is_enabled(spec.name).then(|| self.range(spec))
    }

    /// The range override of model `name` (`None`: its default), to restore it later.
    pub fn range_override(&self, name: &str) -> Result<Option<WindowRange>, ModelSettingsError> {
        Ok(self.ranges[Self::index(name)?])
    }

    /// Sets or clears the range override of model `name`.
    pub fn set_range_override(
        &mut self,
        name: &str,
        range: Option<WindowRange>,
    ) -> Result<(), ModelSettingsError> {
        self.ranges[Self::index(name)?] = range;
        Ok(())
    }

    /// `d` times the time scale (exactly `d` at scale 1).
    pub fn scaled(&self, d: Duration) -> Duration {
        if self.time_scale == 1.0 {
            d
        } else {
            Duration::try_from_secs_f64(d.as_secs_f64() * self.time_scale).unwrap_or(Duration::MAX)
        }
    }

    /// The length of the `counter`-th window of `key` for model `id` (spec `spec`): drawn from
    /// its range in force, scaled.
    pub fn draw(&self, id: ModelId, spec: &ModelSpec, key: &ResourceKey, counter: u64) -> Duration {
        let range = self.range_at(id, spec);
        window::draw(self.seed, spec.name, key, counter, range, self.time_scale)
    }

    /// [`ModelSettings::draw`] as the length function [`super::window::Windows`] checks with.
    pub fn lengths<'a>(
        &'a self,
        id: ModelId,
        spec: &'a ModelSpec,
    ) -> impl Fn(&ResourceKey, u64) -> Duration + 'a {
        move |key, counter| self.draw(id, spec, key, counter)
    }
}

fn ser_enabled<S: Serializer>(bits: &u64, s: S) -> Result<S::Ok, S::Error> {
    let names: Vec<&str> = all_specs()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, spec)| spec.name)
        .collect();
    let mut seq = s.serialize_seq(Some(names.len()))?;
    for n in names {
        seq.serialize_element(n)?;
    }
    seq.end()
}

/// Every model's effective range (override or default), by name.
fn ser_ranges<S: Serializer>(
    ranges: &[Option<WindowRange>; MAX_MODELS],
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(all_specs().count()))?;
    for (i, spec) in all_specs().enumerate() {
        map.serialize_entry(spec.name, &ranges[i].unwrap_or(spec.window))?;
    }
    map.end()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::REGISTRY;

    #[test]
    fn default_is_todays_behaviour() {
        let s = ModelSettings::default();
        assert!(s.service_linked_role);
        assert!(s.enabled_names().is_empty());
        assert_eq!(s.time_scale(), 1.0);
        for r in REGISTRY {
            assert_eq!(s.window_range(r.spec), None, "{}", r.spec.name);
        }
    }

    #[test]
    fn fresh_account_turns_every_model_on_with_default_ranges() {
        let s = ModelSettings::fresh_account();
        let names: Vec<&str> = all_specs().map(|spec| spec.name).collect();
        assert_eq!(s.enabled_names(), names);
        for spec in all_specs() {
            assert_eq!(s.window_range(spec), Some(spec.window));
        }
    }

    #[test]
    fn enable_all_keeps_seed_scale_and_ranges() {
        let mut s = ModelSettings {
            seed: 3,
            service_linked_role: false,
            ..ModelSettings::default()
        };
        s.set_time_scale(0.1).unwrap();
        s.set_range(REGISTRY[0].spec.name, WindowRange::secs(1, 1))
            .unwrap();
        s.enable_all();
        assert_eq!(s.enabled_names().len(), all_specs().count());
        assert!(s.service_linked_role);
        assert_eq!((s.seed, s.time_scale()), (3, 0.1));
        assert_eq!(s.range(REGISTRY[0].spec), WindowRange::secs(1, 1));
    }

    #[test]
    fn a_range_override_is_set_read_and_cleared() {
        let spec = REGISTRY[0].spec;
        let mut s = ModelSettings::fresh_account();
        let fixed = WindowRange::fixed(Duration::from_secs(5));
        s.set_range_override(spec.name, Some(fixed)).unwrap();
        assert_eq!(s.window_range(spec), Some(fixed));
        assert_eq!(s.range_override(spec.name), Ok(Some(fixed)));
        s.set_range_override(spec.name, None).unwrap();
        assert_eq!(s.window_range(spec), Some(spec.window));
        assert!(s.range_override("nope").is_err());
        s.disable_all();
        assert_eq!(s.window_range(spec), None);
    }

    #[test]
    fn switches_ranges_and_scale_validate() {
        let mut s = ModelSettings::default();
        let name = REGISTRY[0].spec.name;
        s.set_enabled(name, true).unwrap();
        assert!(s.is_enabled(name));
        s.set_range(name, WindowRange::secs(1, 2)).unwrap();
        assert_eq!(s.range(REGISTRY[0].spec), WindowRange::secs(1, 2));
        s.set_enabled(name, false).unwrap();
        assert!(!s.is_enabled(name));

        let e = s.set_enabled("chaos-monkey", true).unwrap_err().to_string();
        assert!(e.contains("unknown model \"chaos-monkey\""), "{e}");
        assert!(e.contains(name), "names the allowed models: {e}");
        assert!(s.set_range("nope", WindowRange::secs(1, 2)).is_err());

        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let e = s.set_time_scale(bad).unwrap_err().to_string();
            assert!(e.contains("greater than 0"), "{e}");
        }
        assert_eq!(s.time_scale(), 1.0, "a rejected scale changes nothing");
        s.set_time_scale(0.05).unwrap();
        assert_eq!(s.time_scale(), 0.05);
    }

    #[test]
    fn switches_and_scale_from_text() {
        let name = REGISTRY[0].spec.name;
        let mut s = ModelSettings::default();
        s.apply_switch(name, "on").unwrap();
        assert!(s.is_enabled(name));
        s.apply_switch(name, "off").unwrap();
        assert!(!s.is_enabled(name));
        s.apply_switch(name, "1s..3s").unwrap();
        assert!(s.is_enabled(name), "a range switches the model on");
        assert_eq!(s.range(REGISTRY[0].spec), WindowRange::secs(1, 3));
        let e = s.apply_switch(name, "soon").unwrap_err().to_string();
        assert!(e.contains("takes on, off, a window"), "{e}");
        let e = s.apply_switch("nope", "on").unwrap_err().to_string();
        assert!(
            e.contains("unknown model \"nope\"") && e.contains(name),
            "{e}"
        );

        s.set_time_scale_text("0.05").unwrap();
        assert_eq!(s.time_scale(), 0.05);
        for bad in ["0", "-1", "inf", "NaN"] {
            let e = s.set_time_scale_text(bad).unwrap_err().to_string();
            assert!(e.contains("greater than 0"), "{bad}: {e}");
        }
        let e = s.set_time_scale_text("fast").unwrap_err().to_string();
        assert!(
            e.contains("time-scale takes a number") && e.contains("fast"),
            "{e}"
        );
        assert_eq!(s.time_scale(), 0.05);
    }

    #[test]
    fn model_toggles_parse_and_print() {
        let first = REGISTRY[0].spec;
        let (spec, t) = parse_model_toggle(&format!("{}:off", first.name)).unwrap();
        assert_eq!((spec.name, t), (first.name, Toggle::Off));
        let (_, t) = parse_model_toggle(&format!("{}=2s..5s", first.name)).unwrap();
        assert_eq!(t, Toggle::Window(WindowRange::secs(2, 5)));
        assert_eq!(t.to_string(), "2s..5s");
        let (_, t) = parse_model_toggle(first.name).unwrap();
        assert_eq!(t, Toggle::On);
        let e = parse_model_toggle("chaos:on").unwrap_err().to_string();
        assert!(
            e.contains("unknown model \"chaos\"") && e.contains(first.name),
            "{e}"
        );
        let e = parse_model_toggle(&format!("{}:maybe", first.name))
            .unwrap_err()
            .to_string();
        assert!(e.contains("takes on, off, a window"), "{e}");
        let mut s = ModelSettings::default();
        s.toggle(first, Toggle::Window(WindowRange::secs(1, 1)));
        assert!(s.is_enabled(first.name));
        assert_eq!(s.range(first), WindowRange::secs(1, 1));
        s.toggle(first, Toggle::Off);
        assert!(!s.is_enabled(first.name));
    }

    #[test]
    fn draw_uses_seed_and_scale() {
        let (id, spec) = (REGISTRY[0].id, REGISTRY[0].spec);
        let key = ResourceKey::new("123456789012", "us-east-1", "c");
        let mut s = ModelSettings::fresh_account();
        let range = s.range(spec);
        let a = s.draw(id, spec, &key, 0);
        assert!((range.min..=range.max).contains(&a));
        assert_eq!(s.lengths(id, spec)(&key, 0), a);
        s.seed = 1;
        assert_ne!(s.draw(id, spec, &key, 0), a);
        s.seed = 0;
        s.set_time_scale(0.5).unwrap();
        let half = s.draw(id, spec, &key, 0).as_secs_f64();
        assert!((half - a.as_secs_f64() / 2.0).abs() < 1e-6);
    }

    #[test]
    fn serializes_readably() {
        let mut s = ModelSettings::fresh_account();
        s.set_time_scale(0.05).unwrap();
        let v = serde_json::to_value(s).unwrap();
        assert_eq!(v["service_linked_role"], true);
        assert_eq!(v["time_scale"], 0.05);
        assert_eq!(v["models"].as_array().unwrap().len(), all_specs().count());
        let first = REGISTRY[0].spec;
        assert_eq!(v["windows"][first.name], first.window.to_string());
    }
}
