//! Authentication for a cluster with auth enabled (`--user name:password`, as etcdctl spells it).
//!
//! Each connection authenticates once against its own endpoint before the run starts, and every
//! request on it carries the token in the `token` metadata entry, as etcd's Go client sends it.
//! Authenticating per connection (not once for the run) keeps the bench independent of whether
//! the server's tokens are valid on every member. Without `--user`, [`Token::none`] adds nothing,
//! so requests look exactly as they did before auth existed.

use crate::options::Credentials;
use detcd_proto::etcdserverpb::auth_client::AuthClient;
use detcd_proto::etcdserverpb::AuthenticateRequest;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::transport::Channel;

/// The token a connection's requests carry, if any.
#[derive(Debug, Clone, Default)]
pub struct Token(Option<MetadataValue<Ascii>>);

impl Token {
    /// No authentication: requests go out unchanged.
    pub fn none() -> Token {
        Token(None)
    }

    /// Authenticates `user` over `channel` (an endpoint named `url` in errors).
    pub async fn authenticate(
        channel: Channel,
        url: &str,
        user: &Credentials,
    ) -> Result<Token, String> {
        let request =
            AuthenticateRequest { name: user.name.clone(), password: user.password.clone() };
        let reply = AuthClient::new(channel).authenticate(request).await.map_err(|status| {
            format!("authenticating as {} at {url}: {}", user.name, status.message())
        })?;
        let token = reply.into_inner().token;
        let value = MetadataValue::try_from(token.as_str())
            .map_err(|_| format!("{url} answered a token that is not ASCII: {token:?}"))?;
        Ok(Token(Some(value)))
    }
}

impl Interceptor for Token {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(token) = &self.0 {
            request.metadata_mut().insert("token", token.clone());
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_sent_in_the_token_entry_and_none_sends_nothing() {
        let mut token = Token(Some(MetadataValue::from_static("abc.42")));
        let sent = token.call(tonic::Request::new(())).unwrap();
        assert_eq!(sent.metadata().get("token").unwrap(), "abc.42");
        let bare = Token::none().call(tonic::Request::new(())).unwrap();
        assert!(bare.metadata().is_empty(), "{:?}", bare.metadata());
    }
}
