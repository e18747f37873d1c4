pub mod accounts;
pub mod emulator;
pub mod env;
pub mod proxy;
pub mod repro;
pub mod up;
