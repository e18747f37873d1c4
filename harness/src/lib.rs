
pub mod proxy;
