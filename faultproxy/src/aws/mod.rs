//! What the proxy knows about AWS: every service and operation of botocore's models
//! ([`table`], generated; [`Service`] and [`Operation`] are handles into it), how a request is
//! classified ([`classify`]: account, region, service, operation, protocol, URI labels), how
//! answers are encoded in each protocol ([`wire`]) and the error codes and messages the proxy
//! and the provisioner share ([`facts`]).

mod cbor;
pub mod classify;
pub mod error;
pub mod facts;
pub mod protocol;
pub mod service;
pub mod table;
pub mod wire;

pub use error::AwsError;
pub use protocol::Protocol;
pub use table::{ErrorShape, Labels, Operation, Service};
