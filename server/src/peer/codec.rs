//! How peer messages become bytes: postcard, the core's own compact serde format.
//!
//! Both sides run the same detcd build, so the encoding needs no schema evolution; a frame that
//! does not decode is an error for that call, never a panic.

use serde::{de::DeserializeOwned, Serialize};
use std::io;

pub fn encode<T: Serialize>(value: &T) -> io::Result<Vec<u8>> {
    postcard::to_stdvec(value).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> io::Result<T> {
    postcard::from_bytes(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}
