//! Alarms: etcd's cluster-wide flags that change what the cluster accepts, kept as replicated
//! state (an alarm is raised and lowered through the log, so every member agrees which are on).
//!
//! The one that changes behaviour is NOSPACE: raised by the leader when a write would take the
//! backend past its quota (`member::quota`), and while it is on, applying a put, a txn that puts,
//! or a lease grant is refused with `NoSpace` on every member, as etcd's capped applier does.
//! Deletes, ranges, compaction and lease revokes still apply, so an operator can make room and
//! then `alarm disarm`. CORRUPT is recorded and listed like any alarm; detcd raises it nowhere.
//!
//! Invariants: the set holds each (member, alarm) pair at most once, in order (a `BTreeSet`, so
//! snapshots of equal states are equal bytes); `NONE` is never stored.

use crate::kv::ResponseHeader;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// etcd's `AlarmType`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub enum AlarmType {
    /// In a request: every kind (a `Get` of all alarms, a `Deactivate` of each).
    #[default]
    None,
    /// The backend passed its quota: writes that add data are refused.
    NoSpace,
    /// A member's data was found corrupt.
    Corrupt,
}

/// etcd's `AlarmRequest.AlarmAction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum AlarmAction {
    #[default]
    Get,
    Activate,
    Deactivate,
}

/// etcd's `AlarmMember`: which member raised which alarm.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct AlarmMember {
    pub member_id: u64,
    pub alarm: AlarmType,
}

/// etcd's `AlarmRequest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct AlarmRequest {
    pub action: AlarmAction,
    pub member_id: u64,
    pub alarm: AlarmType,
}

/// etcd's `AlarmResponse`: for `Get` the alarms asked for, for `Activate` / `Deactivate` the one
/// that changed (none when nothing changed).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct AlarmResponse {
    pub header: ResponseHeader,
    pub alarms: Vec<AlarmMember>,
}

/// The raised alarms.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Alarms {
    raised: BTreeSet<AlarmMember>,
}

impl Alarms {
    /// Applies `request`: the alarms it lists or changed, as etcd's applier answers.
    pub fn apply(&mut self, request: &AlarmRequest) -> Vec<AlarmMember> {
        let member = AlarmMember { member_id: request.member_id, alarm: request.alarm };
        match request.action {
            AlarmAction::Get => self.get(request.alarm),
            AlarmAction::Activate if request.alarm != AlarmType::None => {
                self.raised.insert(member).then_some(member).into_iter().collect()
            }
            AlarmAction::Deactivate => {
                self.raised.remove(&member).then_some(member).into_iter().collect()
            }
            AlarmAction::Activate => Vec::new(),
        }
    }

    /// The raised alarms of kind `alarm` (`None`: all), in order.
    pub fn get(&self, alarm: AlarmType) -> Vec<AlarmMember> {
        self.raised
            .iter()
            .filter(|m| alarm == AlarmType::None || m.alarm == alarm)
            .copied()
            .collect()
    }

    /// Whether any member raised `alarm`.
    pub fn is_raised(&self, alarm: AlarmType) -> bool {
        self.raised.iter().any(|m| m.alarm == alarm)
    }

    /// Whether `member_id` raised `alarm`.
    pub fn raised_by(&self, member_id: u64, alarm: AlarmType) -> bool {
        self.raised.contains(&AlarmMember { member_id, alarm })
    }

    pub fn is_empty(&self) -> bool {
        self.raised.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(action: AlarmAction, member_id: u64, alarm: AlarmType) -> AlarmRequest {
        AlarmRequest { action, member_id, alarm }
    }

    #[test]
    fn activate_deactivate_and_list_as_etcd_answers() {
        let mut alarms = Alarms::default();
        let nospace = AlarmMember { member_id: 7, alarm: AlarmType::NoSpace };
        assert_eq!(alarms.apply(&request(AlarmAction::Activate, 7, AlarmType::NoSpace)), [nospace]);
        assert!(alarms.apply(&request(AlarmAction::Activate, 7, AlarmType::NoSpace)).is_empty());
        assert!(alarms.apply(&request(AlarmAction::Activate, 7, AlarmType::None)).is_empty());
        assert!(alarms.is_raised(AlarmType::NoSpace) && alarms.raised_by(7, AlarmType::NoSpace));
        assert_eq!(alarms.apply(&request(AlarmAction::Get, 0, AlarmType::None)), [nospace]);
        assert!(alarms.apply(&request(AlarmAction::Get, 0, AlarmType::Corrupt)).is_empty());
        assert!(alarms.apply(&request(AlarmAction::Deactivate, 8, AlarmType::NoSpace)).is_empty());
        assert_eq!(
            alarms.apply(&request(AlarmAction::Deactivate, 7, AlarmType::NoSpace)),
            [nospace]
        );
        assert!(alarms.is_empty() && !alarms.is_raised(AlarmType::NoSpace));
    }
}
