//! The etcd version detcd reports, and etcd's reading of a version string.
//!
//! detcd serves one API level: it reports itself as [`ETCD_VERSION`] (`Status.version`,
//! `/version`), and its cluster version (what etcd keeps cluster-wide, major.minor only) is that
//! version's major and minor. Downgrade targets are read as etcd reads them
//! (`convertToClusterVersion`: a semantic version `X.Y.Z[-pre][+build]`, or `X.Y`, of which
//! only major and minor count).

/// The etcd version detcd reports: the API level it serves, which clients use to pick features.
pub const ETCD_VERSION: &str = "3.4.23";

/// A cluster version: major and minor, as etcd keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClusterVersion {
    pub major: i64,
    pub minor: i64,
}

impl ClusterVersion {
    /// The cluster version of the API detcd serves.
    pub fn served() -> ClusterVersion {
        ClusterVersion::parse(ETCD_VERSION).expect("ETCD_VERSION is a semantic version")
    }

    /// etcd's `convertToClusterVersion`: `X.Y.Z` (with an optional `-pre-release` and
    /// `+metadata`), else `X.Y`; `None` when neither reads.
    pub fn parse(text: &str) -> Option<ClusterVersion> {
        semantic(text).or_else(|| semantic(&format!("{text}.0")))
    }

    /// The one version a cluster at this version may downgrade to (etcd's
    /// `AllowedDowngradeVersion`): the previous minor version.
    pub fn allowed_downgrade(self) -> ClusterVersion {
        ClusterVersion { major: self.major, minor: self.minor - 1 }
    }
}

/// As etcd prints a cluster version (a semantic version with patch 0): `3.4.0`.
impl std::fmt::Display for ClusterVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.0", self.major, self.minor)
    }
}

/// go-semver's `NewVersion`, keeping major and minor: metadata after the first `+`, then a
/// pre-release after the first `-` (each a dot-separated list of `[0-9A-Za-z-]+`), then
/// exactly three dot-separated decimal integers.
fn semantic(text: &str) -> Option<ClusterVersion> {
    let (rest, metadata) = split_off(text, '+');
    let (rest, pre_release) = split_off(rest, '-');
    if !identifier(pre_release) || !identifier(metadata) {
        return None;
    }
    let parts: Vec<&str> = rest.splitn(3, '.').collect();
    let [major, minor, patch] = parts[..] else { return None };
    let number = |part: &str| part.parse::<i64>().ok();
    number(patch)?;
    Some(ClusterVersion { major: number(major)?, minor: number(minor)? })
}

/// `text` before the first `delimiter`, and what follows it (empty when there is none).
fn split_off(text: &str, delimiter: char) -> (&str, &str) {
    text.split_once(delimiter).unwrap_or((text, ""))
}

/// Whether `id` is empty or a dot-separated list of `[0-9A-Za-z-]+`.
fn identifier(id: &str) -> bool {
    id.is_empty()
        || id.split('.').all(|part| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(major: i64, minor: i64) -> Option<ClusterVersion> {
        Some(ClusterVersion { major, minor })
    }

    #[test]
    fn versions_read_as_etcd_reads_them() {
        assert_eq!(ClusterVersion::parse("3.3.0"), v(3, 3));
        assert_eq!(ClusterVersion::parse("3.3"), v(3, 3));
        assert_eq!(ClusterVersion::parse("3.3.7-rc.1+build.5"), v(3, 3));
        assert_eq!(ClusterVersion::parse("03.04.00"), v(3, 4));
        // go-semver takes an empty pre-release after a trailing dash.
        assert_eq!(ClusterVersion::parse("3.4.0-"), v(3, 4));
        for bad in ["", "3", "three.four", "3.4.5.6", "3.4.x", "3.4-rc", "3..4", "v3.4"] {
            assert_eq!(ClusterVersion::parse(bad), None, "{bad:?}");
        }
        assert_eq!(ClusterVersion::served().to_string(), "3.4.0");
        assert_eq!(ClusterVersion::served().allowed_downgrade().to_string(), "3.3.0");
    }
}
