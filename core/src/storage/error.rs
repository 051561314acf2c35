//! Storage errors, each naming the file (and, for damage, the byte offset) it is about.
//!
//! openraft's storage traits speak `std::io::Error`, so every `StorageError` converts into one
//! (keeping its message). Corruption is an error, never a panic: bytes read from disk are untrusted.

use std::io;

/// What went wrong while reading or writing durable state.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A disk operation failed.
    #[error("storage: {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: String,
        #[source]
        source: io::Error,
    },
    /// Damage that recovery must not paper over: acknowledged data may be behind it.
    #[error("storage: corrupt {path} at offset {offset}: {reason}")]
    Corrupt { path: String, offset: u64, reason: String },
    /// An earlier write or fsync failed; the log refuses further work until it is reopened.
    #[error("storage: write-ahead log poisoned by an earlier failure: {0}")]
    Poisoned(String),
    /// A caller asked for something the log cannot represent (a bug in the caller).
    #[error("storage: invalid operation: {0}")]
    Invalid(String),
}

impl StorageError {
    /// Wraps a disk error with the operation and path it happened on.
    pub fn io(op: &'static str, path: &str) -> impl FnOnce(io::Error) -> StorageError {
        let path = path.to_string();
        move |source| StorageError::Io { op, path, source }
    }

    /// Damage at `offset` of `path`.
    pub fn corrupt(path: &str, offset: u64, reason: impl Into<String>) -> StorageError {
        StorageError::Corrupt { path: path.to_string(), offset, reason: reason.into() }
    }
}

impl From<StorageError> for io::Error {
    fn from(err: StorageError) -> io::Error {
        let kind = match &err {
            StorageError::Io { source, .. } => source.kind(),
            StorageError::Corrupt { .. } => io::ErrorKind::InvalidData,
            StorageError::Poisoned(_) | StorageError::Invalid(_) => io::ErrorKind::Other,
        };
        io::Error::new(kind, err.to_string())
    }
}
