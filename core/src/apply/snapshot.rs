//! Snapshots: the whole replicated state as bytes, and back.
//!
//! The bytes are the postcard encoding of a versioned envelope around the [`StateMachine`]: the
//! store with all retained history and its compaction point, the lessor with attachments and
//! its id counter, and the applied index. `restore(snapshot())` equals the original exactly, and
//! equal states give equal bytes (every map is ordered). Bytes that do not decode, or carry an
//! unknown format, are refused; nothing is trusted to be well-formed without decoding.

use super::state_machine::StateMachine;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Bumped whenever the encoding changes incompatibly.
const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    format: u32,
    state: T,
}

impl StateMachine {
    /// The whole state as bytes.
    pub fn snapshot(&self) -> Vec<u8> {
        let envelope = Envelope { format: FORMAT, state: self };
        // Encoding plain data into a Vec cannot fail; an empty snapshot would be refused on restore.
        postcard::to_stdvec(&envelope).unwrap_or_default()
    }

    /// A state machine from bytes made by [`StateMachine::snapshot`].
    pub fn restore(bytes: &[u8]) -> Result<StateMachine> {
        let envelope: Envelope<StateMachine> = postcard::from_bytes(bytes)
            .map_err(|e| Error::Other(format!("corrupt snapshot: {e}")))?;
        if envelope.format != FORMAT {
            return Err(Error::Other(format!("unknown snapshot format {}", envelope.format)));
        }
        Ok(envelope.state)
    }
}
