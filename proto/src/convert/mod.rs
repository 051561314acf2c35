//! Conversions between etcd's protobuf messages and detcd-core's domain types.
//!
//! Field for field and one direction per function, with no interpretation: the core decides what a
//! request means. Protobuf enums arrive as plain `i32`s, so a value this version of etcd's API does
//! not define is refused with a `ConvertError` naming the field, never a panic. Names say the
//! direction: `*_from_proto` builds a domain value, `*_to_proto` builds a message.

mod auth;
mod error;
mod kv;
mod lease;
mod maintenance;
mod txn;
mod watch;

pub use auth::*;
pub use error::*;
pub use kv::*;
pub use lease::*;
pub use maintenance::*;
pub use txn::*;
pub use watch::*;

/// A message that has no domain meaning (an unknown enum value, a missing oneof).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {reason}")]
pub struct ConvertError {
    pub field: &'static str,
    pub reason: String,
}

impl ConvertError {
    pub fn unknown_enum(field: &'static str, value: i32) -> Self {
        ConvertError { field, reason: format!("unknown enum value {value}") }
    }

    pub fn missing(field: &'static str) -> Self {
        ConvertError { field, reason: "not set".into() }
    }
}

pub type ConvertResult<T> = Result<T, ConvertError>;
