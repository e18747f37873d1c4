//! The scenario suite: one test binary (one shared emulator, tests running concurrently in
//! separate accounts), one module per scenario family.

#[macro_use]
mod common;

mod chaos;
mod cli_chaos;
mod crash_resume;
mod destroy;
mod drift;
mod ensure;
mod first_apply;
mod fresh_account;
mod idempotent;
mod many_accounts;
mod ownership;
mod parallel;
mod retry_absorbs;
mod upstreams;
