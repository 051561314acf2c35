//! Who the members of a cluster are: ids, names and URLs from `--initial-cluster`.
//!
//! Ids must be the same on every member without talking, so they are derived, as etcd derives
//! them, by hashing: a member's id from its name and the cluster token, the cluster id from the
//! token and the sorted member ids. A 64-bit FNV-1a hash keeps that dependency-free and stable
//! across builds (never `std`'s randomly seeded hasher). Id 0 means "none" in etcd, so it is
//! never produced.

use detcd_core::raft::types::{MemberInfo, NodeId};
use std::collections::BTreeMap;

/// One `name=url` entry of `--initial-cluster` (a name may repeat with several URLs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialCluster {
    /// Peer URLs by member name, in the order given.
    pub peers: BTreeMap<String, Vec<String>>,
}

impl InitialCluster {
    pub fn parse(text: &str) -> Result<InitialCluster, String> {
        let mut peers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, url) = item
                .split_once('=')
                .ok_or_else(|| format!("--initial-cluster: {item:?} is not name=peer-url"))?;
            if name.is_empty() || url.is_empty() {
                return Err(format!("--initial-cluster: {item:?} is not name=peer-url"));
            }
            peers.entry(name.to_string()).or_default().push(url.to_string());
        }
        if peers.is_empty() {
            return Err("--initial-cluster is empty".into());
        }
        Ok(InitialCluster { peers })
    }

    /// The first voters: every member with its id and what raft knows about it. Client URLs are
    /// known only for this member (`own_name`); the others' stay empty until they are published.
    pub fn voters(
        &self,
        token: &str,
        own_name: &str,
        own_client_urls: &[String],
    ) -> BTreeMap<NodeId, MemberInfo> {
        self.peers
            .iter()
            .map(|(name, peer_urls)| {
                let client_urls =
                    if name == own_name { own_client_urls.to_vec() } else { Vec::new() };
                let info =
                    MemberInfo { name: name.clone(), peer_urls: peer_urls.clone(), client_urls };
                (member_id(name, token), info)
            })
            .collect()
    }
}

/// A member's id: a hash of its name and the cluster token.
pub fn member_id(name: &str, token: &str) -> NodeId {
    nonzero(fnv1a(&[name.as_bytes(), token.as_bytes()]))
}

/// The cluster's id: a hash of the token and the (sorted) ids of its first members.
pub fn cluster_id(token: &str, ids: impl IntoIterator<Item = NodeId>) -> u64 {
    let mut parts: Vec<Vec<u8>> = vec![token.as_bytes().to_vec()];
    parts.extend(ids.into_iter().map(|id| id.to_be_bytes().to_vec()));
    let borrowed: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    nonzero(fnv1a(&borrowed))
}

/// FNV-1a over the parts, with a separator byte between them so ("ab","c") != ("a","bc").
fn fnv1a(parts: &[&[u8]]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hash = (hash ^ 0xff).wrapping_mul(PRIME);
        }
        for byte in *part {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(PRIME);
        }
    }
    hash
}

fn nonzero(hash: u64) -> u64 {
    if hash == 0 {
        1
    } else {
        hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_depend_on_name_and_token_only() {
        assert_eq!(member_id("infra1", "t"), member_id("infra1", "t"));
        assert_ne!(member_id("infra1", "t"), member_id("infra2", "t"));
        assert_ne!(member_id("infra1", "t"), member_id("infra1", "u"));
    }

    #[test]
    fn initial_cluster_parses_etcd_syntax() {
        let cluster =
            InitialCluster::parse("a=http://127.0.0.1:1,b=http://127.0.0.1:2").expect("parses");
        assert_eq!(cluster.peers.len(), 2);
        let voters = cluster.voters("t", "a", &["http://127.0.0.1:9".into()]);
        assert_eq!(voters[&member_id("a", "t")].client_urls, vec!["http://127.0.0.1:9"]);
        assert!(voters[&member_id("b", "t")].client_urls.is_empty());
        assert!(InitialCluster::parse("nonsense").is_err());
        assert!(InitialCluster::parse("").is_err());
    }
}
