//! The test harness: AWS emulator backends, isolated accounts, `TestEnv` for tests, and the
//! `harness up` / `harness run` / `harness repro` commands. The fault proxy itself is the
//! `faultproxy` crate.
pub mod accounts;
pub mod control_client;
pub mod emulator;
pub mod env;
pub mod exit;
pub mod launch;
pub mod pool;
pub mod replay;
pub mod reports;
pub mod repro;
pub mod run;
pub mod up;
pub mod up_commands;
pub mod up_state;

pub use exit::exit_code;
