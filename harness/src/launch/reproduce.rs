//! Why this file exists: a run's faults are a function of its seed, profile, time scale,
//! presets and models (never of the account id, which is new every run), so one command line
//! gives them back. `harness run` ends its report with that line, seed included whether or not
//! the user gave one, so a failure seen once can be run again as it was. Of the command only the
//! program is written (then `...` when it had arguments): its arguments may hold secrets, and
//! the user has them in their own shell history.

use std::ffi::OsString;

use super::args::LaunchArgs;
use crate::emulator::Backend;

/// `harness run [--backend B] [--preset P]... --profile X --seed N --time-scale F [--model M]...
/// -- PROGRAM ...`, each word quoted for a POSIX shell where it needs it.
pub fn reproduce_line(
    args: &LaunchArgs,
    seed: u64,
    time_scale: f64,
    command: &[OsString],
) -> String {
    let mut words: Vec<String> = vec!["harness".into(), "run".into()];
    if args.backend != Backend::Moto {
        words.extend(["--backend".into(), args.backend.to_string()]);
    }
    // The seed is given once, as --seed; the profile, scale and models as their own flags.
    for p in args.presets.iter().filter(|p| !p.is_seed()) {
        words.extend(["--preset".into(), p.to_string()]);
    }
    words.extend(["--profile".into(), args.profile.name().into()]);
    words.extend(["--seed".into(), seed.to_string()]);
    words.extend(["--time-scale".into(), time_scale.to_string()]);
    for m in &args.models {
        words.extend(["--model".into(), format!("{}={}", m.name, m.value)]);
    }
    if let Some(file) = &args.replay.replay {
        words.extend(["--replay".into(), file.display().to_string()]);
        if args.replay.replay_by == faultproxy::replay::ReplayBy::Time {
            words.extend(["--replay-by".into(), "time".into()]);
        }
    }
    words.push("--".into());
    if let Some(program) = command.first() {
        words.push(program.to_string_lossy().into_owned());
    }
    let mut line = words
        .iter()
        .map(|w| shell_word(w))
        .collect::<Vec<_>>()
        .join(" ");
    if command.len() > 1 {
        line.push_str(" ...");
    }
    line
}

/// `word` as a POSIX shell reads it back: as is when it holds only safe characters, else in
/// single quotes (a `'` inside written as `'\''`).
fn shell_word(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        launch: LaunchArgs,
    }

    fn launch(args: &[&str]) -> LaunchArgs {
        Cli::try_parse_from(std::iter::once("t").chain(args.iter().copied()))
            .unwrap()
            .launch
    }

    #[test]
    fn the_line_names_every_input_of_the_draws_but_not_the_commands_arguments() {
        let a = launch(&[
            "--profile",
            "fresh-account",
            "--preset",
            "throttle=20",
            "--model",
            "slr-delay=5s",
        ]);
        let cmd: Vec<OsString> = ["my tool", "-var", "password=hunter2"]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(
            reproduce_line(&a, 3, 1.0, &cmd),
            "harness run --preset throttle=20 --profile fresh-account --seed 3 --time-scale 1 --model slr-delay=5s -- 'my tool' ..."
        );
    }

    #[test]
    fn a_seed_preset_is_given_once_as_the_seed_flag() {
        let a = launch(&["--preset", "seed=9", "--backend", "moto-container"]);
        let cmd = [OsString::from("true")];
        assert_eq!(
            reproduce_line(&a, 9, 0.05, &cmd),
            "harness run --backend moto-container --profile default --seed 9 --time-scale 0.05 -- true"
        );
    }
}
