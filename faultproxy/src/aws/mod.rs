//! What the proxy knows about AWS: the services ([`service::Service`], one table), how a request
//! is classified ([`classify`]: account, region, service, operation, protocol) and how answers
//! are encoded per protocol ([`wire`]).

pub mod classify;
pub mod error;
pub mod service;
pub mod wire;

pub use error::AwsError;
pub use service::{Protocol, Service};
