//! What the proxy knows about AWS: every service and operation of botocore's models
//! ([`table`], generated; [`Service`] and [`Operation`] are handles into it), how a request is
//! classified ([`classify`]: account, region, service, operation, protocol, URI labels) and how
//! answers are encoded in each protocol ([`wire`]).

mod cbor;
pub mod classify;
pub mod error;
pub mod protocol;
pub mod service;
pub mod table;
pub mod wire;

pub use error::AwsError;
pub use protocol::Protocol;
pub use table::{ErrorShape, Labels, Operation, Service};
