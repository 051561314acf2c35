//! Snapshots: the whole replicated state as bytes, and back.
//!
//! The bytes are the postcard encoding of a versioned envelope around the [`StateMachine`]: the
//! store with all retained history and its compaction point, the lessor with attachments and
//! its id counter, the applied index, the raised alarms, the auth store and the downgrade state.
//! `restore(snapshot())` equals the original exactly, and
//! equal states give equal bytes (every map is ordered). Bytes that do not decode, or carry an
//! unknown format, are refused; nothing is trusted to be well-formed without decoding. Format 1
//! (before alarms and the auth store were replicated state) still reads, as a state with no alarm
//! raised and auth as a new cluster has it; format 2 (before the downgrade state) as a state
//! with no downgrade enabled.

use super::alarm::Alarms;
use super::downgrade::DowngradeInfo;
use super::state_machine::StateMachine;
use crate::auth::AuthStore;
use crate::error::{Error, Result};
use crate::lease::Lessor;
use crate::mvcc::Store;
use serde::{Deserialize, Serialize};

/// Bumped whenever the encoding changes incompatibly.
const FORMAT: u32 = 3;

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    format: u32,
    state: T,
}

/// The state of format 2: no downgrade state yet.
#[derive(Serialize, Deserialize)]
struct StateV2 {
    store: Store,
    lessor: Lessor,
    applied_index: u64,
    alarms: Alarms,
    auth: AuthStore,
}

/// The state of format 1: no alarms and no auth store yet.
#[derive(Serialize, Deserialize)]
struct StateV1 {
    store: Store,
    lessor: Lessor,
    applied_index: u64,
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
        // The format number comes first, whatever follows it.
        let (format, _): (u32, _) = postcard::take_from_bytes(bytes).map_err(corrupt)?;
        match format {
            FORMAT => {
                let envelope: Envelope<StateMachine> =
                    postcard::from_bytes(bytes).map_err(corrupt)?;
                Ok(envelope.state)
            }
            2 => {
                let envelope: Envelope<StateV2> = postcard::from_bytes(bytes).map_err(corrupt)?;
                let StateV2 { store, lessor, applied_index, alarms, auth } = envelope.state;
                let downgrade = DowngradeInfo::default();
                Ok(StateMachine { store, lessor, applied_index, alarms, auth, downgrade })
            }
            1 => {
                let envelope: Envelope<StateV1> = postcard::from_bytes(bytes).map_err(corrupt)?;
                let StateV1 { store, lessor, applied_index } = envelope.state;
                let (alarms, auth) = (Alarms::default(), AuthStore::default());
                let downgrade = DowngradeInfo::default();
                Ok(StateMachine { store, lessor, applied_index, alarms, auth, downgrade })
            }
            other => Err(Error::Other(format!("unknown snapshot format {other}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::PutRequest;
    use crate::apply::{Command, DowngradeInfoSet};

    /// A snapshot written before alarms and the auth store were replicated state reads as the
    /// same state with no alarm raised and auth as a new cluster has it.
    #[test]
    fn a_format_one_snapshot_restores_with_no_alarm_and_a_new_auth_store() {
        let mut machine = StateMachine::new();
        let put = PutRequest { key: b"k".to_vec(), value: b"v".to_vec(), ..Default::default() };
        assert!(machine.apply(1, &Command::Put(put)).0.is_ok());
        let old = StateV1 {
            store: machine.store.clone(),
            lessor: machine.lessor.clone(),
            applied_index: machine.applied_index,
        };
        let bytes = postcard::to_stdvec(&Envelope { format: 1, state: old }).expect("encodes");
        assert_eq!(StateMachine::restore(&bytes), Ok(machine.clone()));
        assert_eq!(StateMachine::restore(&machine.snapshot()), Ok(machine));
        let unknown = postcard::to_stdvec(&Envelope { format: 9, state: 0u8 }).expect("encodes");
        assert!(StateMachine::restore(&unknown).is_err());
    }

    /// A snapshot written before the downgrade state was replicated reads as the same state
    /// with no downgrade enabled; the downgrade state survives a snapshot.
    #[test]
    fn a_format_two_snapshot_restores_with_no_downgrade_and_the_state_survives_snapshots() {
        let mut machine = StateMachine::new();
        let put = PutRequest { key: b"k".to_vec(), value: b"v".to_vec(), ..Default::default() };
        assert!(machine.apply(1, &Command::Put(put)).0.is_ok());
        let old = StateV2 {
            store: machine.store.clone(),
            lessor: machine.lessor.clone(),
            applied_index: machine.applied_index,
            alarms: machine.alarms.clone(),
            auth: machine.auth.clone(),
        };
        let bytes = postcard::to_stdvec(&Envelope { format: 2, state: old }).expect("encodes");
        assert_eq!(StateMachine::restore(&bytes), Ok(machine.clone()));
        let enable = DowngradeInfoSet { enabled: true, version: "3.3.0".into() };
        assert!(machine.apply(2, &Command::DowngradeInfoSet(enable)).0.is_ok());
        let restored = StateMachine::restore(&machine.snapshot()).expect("restores");
        let enabled = DowngradeInfo { enabled: true, target_version: "3.3.0".into() };
        assert_eq!(restored.downgrade(), &enabled);
        assert_eq!(restored, machine);
    }
}
