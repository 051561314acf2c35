//! Who the members of a cluster are: ids, names and URLs from `--initial-cluster`.
//!
//! Ids must be the same on every member without talking, so they are derived, as etcd derives
//! them, by hashing: a member's id from its peer URLs and the cluster token (so `member add`,
//! which carries only peer URLs, and the added member itself compute the same id), the cluster id
//! from the token. A 64-bit FNV-1a hash keeps that dependency-free and stable across builds
//! (never `std`'s randomly seeded hasher). Id 0 means "none" in etcd, so it is never produced.

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

    /// The first voters: every member with its id, name and peer URLs. Every member that
    /// bootstraps must propose exactly this map (raft keeps whichever copy won, and copies must
    /// not differ), so client URLs, which only their own member knows, stay empty here and are
    /// published through raft once the cluster runs.
    pub fn voters(&self, token: &str) -> BTreeMap<NodeId, MemberInfo> {
        self.peers
            .iter()
            .map(|(name, peer_urls)| {
                let info = MemberInfo {
                    name: name.clone(),
                    peer_urls: peer_urls.clone(),
                    client_urls: Vec::new(),
                };
                (member_id(peer_urls, token), info)
            })
            .collect()
    }
}

/// A member's id: a hash of its (sorted) peer URLs and the cluster token.
pub fn member_id(peer_urls: &[String], token: &str) -> NodeId {
    let mut urls = peer_urls.to_vec();
    urls.sort();
    let mut parts: Vec<&[u8]> = urls.iter().map(|u| u.as_bytes()).collect();
    parts.push(token.as_bytes());
    nonzero(fnv1a(&parts))
}

/// The cluster's id: a hash of the token (the same on members that joined later).
pub fn cluster_id(token: &str) -> u64 {
    nonzero(fnv1a(&[b"cluster", token.as_bytes()]))
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
    fn ids_depend_on_peer_urls_and_token_only() {
        let a = vec!["http://a:1".to_string(), "http://b:1".to_string()];
        let b = vec!["http://b:1".to_string(), "http://a:1".to_string()];
        assert_eq!(member_id(&a, "t"), member_id(&b, "t"));
        assert_ne!(member_id(&a, "t"), member_id(&a[..1], "t"));
        assert_ne!(member_id(&a, "t"), member_id(&a, "u"));
    }

    #[test]
    fn initial_cluster_parses_etcd_syntax() {
        let cluster =
            InitialCluster::parse("a=http://127.0.0.1:1,b=http://127.0.0.1:2").expect("parses");
        assert_eq!(cluster.peers.len(), 2);
        let voters = cluster.voters("t");
        let a = member_id(&["http://127.0.0.1:1".to_string()], "t");
        assert_eq!(voters[&a].name, "a");
        assert!(voters.values().all(|info| info.client_urls.is_empty()));
        assert!(InitialCluster::parse("nonsense").is_err());
        assert!(InitialCluster::parse("").is_err());
    }
}
