//! The write-ahead log: raft entries, vote, committed marker, truncations and purges.
//!
//! The log is generic over payload bytes: an entry is `(index, term, payload)` and the vote,
//! committed marker and purged log id are opaque byte strings, so this module knows nothing of
//! openraft's types (the raft layer serialises them).
//!
//! Layout: numbered segment files in one directory (`wal/0000000000000000.wal`, ...), each a
//! sequence of checksummed records starting with a segment header ([`record`]). Writing
//! ([`writer`]): append, then fsync before acknowledging; conflict truncation and purges are
//! records too, and whole segments below the purge point are deleted. Reading back
//! ([`recovery`], [`segment`]): replay every segment into a [`WalState`]; a torn tail is cut off,
//! any other damage refuses to start with the file and offset.

pub mod record;
pub mod recovery;
pub mod segment;
pub mod state;
pub mod writer;

pub use record::{Entry, Purged, Record};
pub use state::WalState;
pub use writer::{Wal, WalOptions};
