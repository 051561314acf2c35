//! Who sent a gRPC request: the credentials a transport can see, handed to core as they are.
//!
//! etcd's clients send the token from `Authenticate` in the `token` metadata key; a client
//! certificate verified at the TLS handshake gives its common name (`ClientIdentity`). Core
//! decides what they mean (`Member::call_as`); nothing here checks a permission.

use crate::tls::ClientIdentity;
use detcd_core::auth::{Caller, Credentials};
use tonic::Request;

/// The caller of `request`.
pub fn caller_of<T>(request: &Request<T>) -> Caller {
    let token = request
        .metadata()
        .get("token")
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
        .filter(|token| !token.is_empty());
    let common_name =
        ClientIdentity::of_request(request.extensions()).map(|id| id.common_name.clone());
    Caller::Client(Credentials { token, common_name })
}
