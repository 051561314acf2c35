//! A state machine from another system's exported state (etcd's backend database): an imported
//! store, its leases and its auth store.
//!
//! Each lease is granted as it was (id and TTL, raised to this member's minimum as any grant),
//! and every key whose live version names a lease is attached to it, as etcd's own restore
//! attaches them; a key naming a lease the export does not hold stays unattached, as in etcd.
//! An invalid lease (a non-positive id, a repeated id, a TTL beyond the maximum) is refused. The
//! auth store comes already checked (`AuthStore::restored`).

use super::state_machine::StateMachine;
use crate::api::LeaseGrantRequest;
use crate::auth::AuthStore;
use crate::error::{Error, Result};
use crate::kv::{Event, EventType, KeyRange, LeaseId};
use crate::mvcc::Store;

impl StateMachine {
    /// This imported machine with `auth` as its auth store.
    pub fn with_auth(mut self, auth: AuthStore) -> StateMachine {
        self.auth = auth;
        self
    }

    /// The state machine holding `store` and the leases (id, TTL in seconds).
    pub fn import(store: Store, leases: &[(LeaseId, i64)], min_ttl: i64) -> Result<StateMachine> {
        let mut machine = StateMachine::with_min_ttl(min_ttl);
        for &(id, ttl) in leases {
            if id <= 0 {
                return Err(Error::Other(format!("cannot import lease {id}: ids are positive")));
            }
            machine
                .lessor
                .grant(&LeaseGrantRequest { ttl, id })
                .map_err(|e| Error::Other(format!("cannot import lease {id:x}: {e}")))?;
        }
        let everything = KeyRange { key: vec![0], range_end: vec![0] };
        let attached: Vec<Event> = store
            .live_at(&everything, store.revision())
            .filter_map(|(key, version)| version.key_value(key))
            .filter(|kv| kv.lease != 0)
            .map(|kv| Event { kind: EventType::Put, kv, prev_kv: None })
            .collect();
        machine.lessor.apply_events(&attached);
        machine.store = store;
        Ok(machine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{LeaseGrantRequest, PutRequest};
    use crate::apply::Command;
    use crate::mvcc::history::Version;

    #[test]
    fn an_exported_machine_imports_with_its_leases_and_their_keys() {
        let mut machine = StateMachine::with_min_ttl(1);
        machine.apply(1, &Command::LeaseGrant(LeaseGrantRequest { ttl: 30, id: 9 })).0.unwrap();
        for (i, key) in ["a", "b"].iter().enumerate() {
            let lease = if *key == "a" { 9 } else { 0 };
            let put = PutRequest {
                key: key.as_bytes().to_vec(),
                value: b"v".to_vec(),
                lease,
                ..PutRequest::default()
            };
            machine.apply(2 + i as u64, &Command::Put(put)).0.unwrap();
        }
        let store = machine.store();
        let versions: Vec<(Vec<u8>, Version)> =
            store.retained().into_iter().map(|(k, v)| (k.to_vec(), v.clone())).collect();
        let store = Store::import(versions, store.revision(), store.compact_revision()).unwrap();
        let imported = StateMachine::import(store, &[(9, 30)], 1).unwrap();
        assert_eq!(imported.store(), machine.store());
        assert_eq!(imported.lessor(), machine.lessor());
        assert!(StateMachine::import(Store::new(), &[(9, 30), (9, 30)], 1).is_err());
        assert!(StateMachine::import(Store::new(), &[(-1, 30)], 1).is_err());
    }
}
