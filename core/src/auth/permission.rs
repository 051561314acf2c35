//! Key permissions: what a role may read or write, and whether a set of them covers a request.
//!
//! A permission names a key, or a range `[key, range_end)`, as etcd spells it: an empty
//! `range_end` is the one key, `range_end == "\0"` is every key from `key` on. A request is
//! allowed when the union of the permissions of the wanted kind covers all of it: a single key
//! must lie in one of them, a range must be covered without a gap (etcd's interval-tree
//! `Contains`), whichever roles the pieces came from.
//!
//! Invariant: the check reads only its inputs (sorted copies of them), so it answers the same on
//! every member that holds the same roles.

use serde::{Deserialize, Serialize};

/// etcd's `Permission.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PermissionType {
    Read,
    Write,
    ReadWrite,
}

impl PermissionType {
    /// Whether a permission of this type allows `wanted` (which is `Read` or `Write`).
    pub fn allows(self, wanted: PermissionType) -> bool {
        self == PermissionType::ReadWrite || self == wanted
    }

    /// etcd's protobuf number (READ = 0, WRITE = 1, READWRITE = 2).
    pub fn from_i32(value: i32) -> Option<PermissionType> {
        match value {
            0 => Some(PermissionType::Read),
            1 => Some(PermissionType::Write),
            2 => Some(PermissionType::ReadWrite),
            _ => None,
        }
    }

    pub fn as_i32(self) -> i32 {
        match self {
            PermissionType::Read => 0,
            PermissionType::Write => 1,
            PermissionType::ReadWrite => 2,
        }
    }
}

/// One permission of a role: a key or a key range, and what may be done there.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Permission {
    pub kind: PermissionType,
    pub key: Vec<u8>,
    pub range_end: Vec<u8>,
}

/// A half-open interval of keys; `end == None` is unbounded.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Interval {
    start: Vec<u8>,
    end: Option<Vec<u8>>,
}

impl Interval {
    /// The keys `key` and `range_end` name, as etcd reads them (see the module docs).
    fn of(key: &[u8], range_end: &[u8]) -> Interval {
        let end = match range_end {
            [] => {
                // The one key: [key, key + "\0").
                let mut next = key.to_vec();
                next.push(0);
                Some(next)
            }
            [0] => None,
            end => Some(end.to_vec()),
        };
        Interval { start: key.to_vec(), end }
    }
}

/// Whether `permissions` allow `wanted` (`Read` or `Write`) on every key of `key..range_end`.
pub fn covers<'a>(
    permissions: impl IntoIterator<Item = &'a Permission>,
    wanted: PermissionType,
    key: &[u8],
    range_end: &[u8],
) -> bool {
    let mut granted: Vec<Interval> = permissions
        .into_iter()
        .filter(|p| p.kind.allows(wanted))
        .map(|p| Interval::of(&p.key, &p.range_end))
        .collect();
    granted.sort();
    let asked = Interval::of(key, range_end);
    if let Some(end) = &asked.end {
        if end <= &asked.start {
            // An empty range (range_end at or before key) asks for no key at all; etcd's
            // interval tree refuses it, and so does this.
            return false;
        }
    }
    // Sweep: `reached` is how far from `asked.start` the granted intervals cover without a gap.
    let mut reached = asked.start.clone();
    for interval in &granted {
        if interval.start > reached {
            break;
        }
        match &interval.end {
            None => return true,
            Some(end) if *end > reached => reached = end.clone(),
            Some(_) => {}
        }
        if asked.end.as_ref().is_some_and(|end| reached >= *end) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perm(kind: PermissionType, key: &str, range_end: &str) -> Permission {
        Permission { kind, key: key.into(), range_end: range_end.into() }
    }

    use PermissionType::*;

    #[test]
    fn a_single_key_permission_allows_that_key_only() {
        let perms = [perm(Read, "foo", "")];
        assert!(covers(&perms, Read, b"foo", b""));
        assert!(!covers(&perms, Read, b"foo0", b""));
        assert!(!covers(&perms, Write, b"foo", b""));
        assert!(!covers(&perms, Read, b"foo", b"fop"), "a range is more than the key");
    }

    #[test]
    fn a_prefix_permission_allows_keys_and_ranges_inside_it() {
        let perms = [perm(ReadWrite, "foo", "fop")];
        assert!(covers(&perms, Write, b"foo/bar", b""));
        assert!(covers(&perms, Read, b"foo/", b"foo0"));
        assert!(!covers(&perms, Read, b"fo", b"foo0"), "starts before the permission");
        assert!(!covers(&perms, Read, b"foo", b"\0"), "from-key goes past the permission");
    }

    #[test]
    fn from_key_permissions_cover_everything_after_their_key() {
        let perms = [perm(Write, "m", "\0")];
        assert!(covers(&perms, Write, b"m", b"\0"));
        assert!(covers(&perms, Write, b"zzz", b""));
        assert!(!covers(&perms, Write, b"a", b""));
    }

    #[test]
    fn adjacent_permissions_from_several_roles_cover_a_range_together() {
        let perms = [perm(Read, "a", "c"), perm(ReadWrite, "c", "e"), perm(Write, "e", "g")];
        assert!(covers(&perms, Read, b"a", b"e"));
        assert!(!covers(&perms, Read, b"a", b"f"), "e..g is write only");
        let gap = [perm(Read, "a", "c"), perm(Read, "d", "e")];
        assert!(!covers(&gap, Read, b"a", b"e"));
    }

    #[test]
    fn an_empty_range_is_never_covered() {
        let perms = [perm(ReadWrite, "", "\0")];
        assert!(!covers(&perms, Read, b"b", b"a"));
        assert!(covers(&perms, Read, b"\0", b"\0"), "etcd's 'every key'");
    }
}
