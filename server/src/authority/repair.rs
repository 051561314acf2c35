//! What to do with a request's `:authority`: keep a valid one, repair one that carries a URL.
//!
//! etcd 3.4's clientv3 dials each endpoint with the endpoint string as its gRPC target, so
//! `--endpoints http://127.0.0.1:2379` sends `:authority: http://127.0.0.1:2379`. Go's gRPC
//! server ignores that; h2 (under tonic) rejects it as a malformed request. The repair keeps
//! what a URL's authority is — strip `scheme://`, cut at the first `/` — and if even that is not
//! a valid authority the pseudo-header is dropped (it is optional in HTTP/2 and detcd routes by
//! `:path`). Validity is judged by the same parser h2 uses, so nothing we pass on is rejected
//! for its authority.

use ::http::uri::Authority;

/// The decision for one `:authority` value.
#[derive(Debug, PartialEq, Eq)]
pub enum AuthorityFix<'a> {
    /// Valid as it is.
    Keep,
    /// Invalid; this part of it is a valid authority.
    Replace(&'a [u8]),
    /// Invalid, and nothing in it is a valid authority.
    Drop,
}

/// Decides what `value` (the bytes of an `:authority` pseudo-header) needs.
pub fn fix_authority(value: &[u8]) -> AuthorityFix<'_> {
    if is_valid(value) {
        return AuthorityFix::Keep;
    }
    let candidate = authority_of_url(value);
    if is_valid(candidate) {
        AuthorityFix::Replace(candidate)
    } else {
        AuthorityFix::Drop
    }
}

/// The `host[:port]` part of `scheme://host[:port]/...` (or of `host[:port]/...`).
fn authority_of_url(value: &[u8]) -> &[u8] {
    let after_scheme = match value.windows(3).position(|w| w == b"://") {
        Some(at) => &value[at + 3..],
        None => value,
    };
    match after_scheme.iter().position(|&b| b == b'/') {
        Some(slash) => &after_scheme[..slash],
        None => after_scheme,
    }
}

fn is_valid(value: &[u8]) -> bool {
    Authority::try_from(value).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_host_and_port_is_kept() {
        assert_eq!(fix_authority(b"127.0.0.1:2379"), AuthorityFix::Keep);
        assert_eq!(fix_authority(b"localhost"), AuthorityFix::Keep);
        assert_eq!(fix_authority(b"[::1]:2379"), AuthorityFix::Keep);
    }

    #[test]
    fn a_url_is_cut_down_to_its_authority() {
        assert_eq!(
            fix_authority(b"http://127.0.0.1:2379"),
            AuthorityFix::Replace(b"127.0.0.1:2379")
        );
        assert_eq!(
            fix_authority(b"https://etcd.example:2379/"),
            AuthorityFix::Replace(b"etcd.example:2379")
        );
        assert_eq!(fix_authority(b"http://[::1]:2379/x/y"), AuthorityFix::Replace(b"[::1]:2379"));
        assert_eq!(fix_authority(b"host:1/path"), AuthorityFix::Replace(b"host:1"));
    }

    #[test]
    fn nothing_valid_left_means_drop() {
        assert_eq!(fix_authority(b"unix:///tmp/etcd.sock"), AuthorityFix::Drop);
        assert_eq!(fix_authority(b""), AuthorityFix::Drop);
        assert_eq!(fix_authority(b"http://a b"), AuthorityFix::Drop);
        assert_eq!(fix_authority(&[0xff, 0xfe]), AuthorityFix::Drop);
    }
}
