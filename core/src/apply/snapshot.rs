//! Snapshots: the whole replicated state as bytes, and back.
//!
//! The bytes are the postcard encoding of a versioned envelope around the [`StateMachine`]: the
//! store with all retained history and its compaction point, the lessor with attachments and
//! its id counter, the applied index and the raised alarms. `restore(snapshot())` equals the original exactly, and
//! equal states give equal bytes (every map is ordered). Bytes that do not decode, or carry an
//! unknown format, are refused; nothing is trusted to be well-formed without decoding. Format 1 (before
//! alarms were replicated state) still reads, as a state with no alarm raised.

use super::alarm::Alarms;
use super::state_machine::StateMachine;
use crate::error::{Error, Result};
use crate::lease::Lessor;
use crate::mvcc::Store;
use serde::{Deserialize, Serialize};

/// Bumped whenever the encoding changes incompatibly.
const FORMAT: u32 = 2;

/// Format 1: the state machine before it held alarms.
#[derive(Deserialize)]
struct StateMachineV1 {
    store: Store,
    lessor: Lessor,
    applied_index: u64,
}

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
        let corrupt = |e: postcard::Error| Error::Other(format!("corrupt snapshot: {e}"));
        // The envelope's fields are encoded one after the other: the format first.
        let (format, _) = postcard::take_from_bytes::<u32>(bytes).map_err(corrupt)?;
        match format {
            FORMAT => {
                Ok(postcard::from_bytes::<Envelope<StateMachine>>(bytes).map_err(corrupt)?.state)
            }
            1 => {
                let old =
                    postcard::from_bytes::<Envelope<StateMachineV1>>(bytes).map_err(corrupt)?;
                let StateMachineV1 { store, lessor, applied_index } = old.state;
                Ok(StateMachine { store, lessor, applied_index, alarms: Alarms::default() })
            }
            other => Err(Error::Other(format!("unknown snapshot format {other}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::PutRequest;
    use crate::apply::Command;

    /// A snapshot written before alarms were replicated state reads as the same state with no
    /// alarm raised.
    #[test]
    fn a_format_1_snapshot_still_reads() {
        #[derive(Serialize)]
        struct V1<'a> {
            store: &'a Store,
            lessor: &'a Lessor,
            applied_index: u64,
        }
        let mut machine = StateMachine::new();
        let put = PutRequest { key: b"k".to_vec(), value: b"v".to_vec(), ..Default::default() };
        assert!(machine.apply(1, &Command::Put(put)).0.is_ok());
        let old = V1 { store: &machine.store, lessor: &machine.lessor, applied_index: 1 };
        let bytes = postcard::to_stdvec(&Envelope { format: 1, state: old }).unwrap();
        assert_eq!(StateMachine::restore(&bytes).unwrap(), machine);
        let unknown = postcard::to_stdvec(&Envelope { format: 9, state: 0u8 }).unwrap();
        assert!(StateMachine::restore(&unknown).is_err());
    }
}
