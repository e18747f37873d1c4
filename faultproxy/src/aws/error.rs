//! An AWS error as the proxy puts it on the wire (status, code, message), independent of the
//! protocol that encodes it (`wire.rs` does that).

/// An AWS error to put on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl AwsError {
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
        }
    }
}
