//! etcd-style URLs (`http://host:port`, `https://host:port`) as socket addresses to bind.
//!
//! `https` means the listener serves TLS (`run` checks that the side has a certificate).
//! `localhost` binds the IPv4 loopback; other host names are resolved (first address wins).

use std::net::{SocketAddr, ToSocketAddrs};

/// Whether `url` asks for TLS.
pub fn is_https(url: &str) -> bool {
    url.starts_with("https://")
}

/// The host part of `url` (for auto TLS certificates).
pub fn host(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host_port = rest.trim_end_matches('/');
    let host = host_port.rsplit_once(':').map_or(host_port, |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then(|| host.to_string())
}

pub fn socket_addr(flag: &str, url: &str) -> Result<SocketAddr, String> {
    let rest = match url.split_once("://") {
        Some(("http" | "https", rest)) => rest,
        Some((scheme, _)) => return Err(format!("{flag}: {url}: unsupported scheme {scheme:?}")),
        None => url,
    };
    let host_port = rest.trim_end_matches('/');
    let host_port = host_port.replacen("localhost:", "127.0.0.1:", 1);
    if let Ok(addr) = host_port.parse() {
        return Ok(addr);
    }
    let resolved = host_port.to_socket_addrs().ok().and_then(|mut addrs| addrs.next());
    resolved.ok_or_else(|| format!("{flag}: {url} is not http://host:port"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_etcd_urls() {
        assert_eq!(
            socket_addr("f", "http://127.0.0.1:2379"),
            Ok("127.0.0.1:2379".parse().unwrap())
        );
        assert_eq!(
            socket_addr("f", "http://localhost:2380/"),
            Ok("127.0.0.1:2380".parse().unwrap())
        );
        assert_eq!(
            socket_addr("f", "https://127.0.0.1:2379"),
            Ok("127.0.0.1:2379".parse().unwrap())
        );
        assert!(socket_addr("f", "ftp://127.0.0.1:2379").is_err());
        assert!(is_https("https://a:1") && !is_https("http://a:1"));
        assert_eq!(host("https://node1.example:2380/").as_deref(), Some("node1.example"));
        assert_eq!(host("http://[::1]:2379").as_deref(), Some("::1"));
        assert!(socket_addr("f", "http://nohost").is_err());
        assert!(socket_addr("f", "http://0.0.0.0:2379").is_ok());
    }
}
