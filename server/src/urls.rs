//! etcd-style URLs (`http://host:port`) as socket addresses to bind.
//!
//! Only `http` is accepted: `https` would need TLS, which detcd refuses rather than ignores.
//! `localhost` binds the IPv4 loopback; other host names are resolved (first address wins).

use std::net::{SocketAddr, ToSocketAddrs};

pub fn socket_addr(flag: &str, url: &str) -> Result<SocketAddr, String> {
    let rest = match url.split_once("://") {
        Some(("http", rest)) => rest,
        Some(("https", _)) => {
            return Err(format!("{flag}: {url}: https is not supported (no TLS)"))
        }
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
        assert!(socket_addr("f", "https://127.0.0.1:2379").is_err());
        assert!(socket_addr("f", "http://nohost").is_err());
        assert!(socket_addr("f", "http://0.0.0.0:2379").is_ok());
    }
}
