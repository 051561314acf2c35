//! The Auth service on a member, and every request on behalf of a caller (`Member::call_as`).
//!
//! A transport hands over the caller's credentials with the request (a token, or the verified
//! client certificate's common name), never a decision. `authorize` resolves them against this
//! member's replica into etcd's `AuthInfo` (user, auth revision): a token must be in the
//! replicated token table and alive on this member's clock (`token_ttl`), or a JWT this
//! member's key verifies (`auth::jwt`); without a token the
//! certificate's name is the user; with neither, the caller is anonymous. Then:
//! - a write (put, delete, txn, lease revoke, compact, lease grant, every Auth call) goes
//!   through the log carrying the `AuthInfo` (`Command::As`), and apply checks it against the
//!   auth store at that point of the log: a permission changed in between gives
//!   `AuthOldRevision`, never a write the new permissions forbid;
//! - a linearizable range is checked by the member that serves it, at its read's point
//!   (`auth_range`); a serializable one here against this replica before it is served, and
//!   refused with `AuthOldRevision` if the store changed while it was served (etcd's
//!   `doSerialize`);
//! - membership changes, defragment, snapshot and hashes need the root role (`check_admin`);
//! - calls etcd 3.4 does not check (status, member list, alarms, keep-alives, lease reads) are
//!   served as they are.
//!
//! The work apply must not do is done here, before proposing: bcrypt hashes (`--bcrypt-cost`),
//! the password check of `Authenticate` (against this replica, at an auth revision the log
//! entry carries, so a password changed meanwhile refuses it), and drawing the token from the
//! member's seeded randomness (the simulator replays it).

use super::move_leader::MoveLeaderRequest;
use super::request::{HashKvRequest, MemberListRequest, MemberRequest, StatusRequest};
use super::route::LeaderRequest;
use super::Member;
use crate::api::*;
use crate::apply::{AlarmRequest, Command, Proposal, Response};
use crate::auth::request::*;
use crate::auth::token::TokenKind;
use crate::auth::{password, AuthAnswer, AuthCommand, AuthInfo, Caller};
use crate::client::outcome::Rpc;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::kv::ResponseHeader;
use crate::runtime::NodeClock;
use std::future::Future;

/// A unary request a member serves on behalf of a caller.
pub trait CallerRequest: MemberRequest {
    /// Serves the request for `info` (`None`: the member itself, unchecked).
    fn serve_as(
        self,
        member: &Member,
        info: Option<AuthInfo>,
    ) -> impl Future<Output = Result<Self::Answer>> + Send;
}

/// A proposal with the caller it is made for.
#[derive(Debug, Clone)]
pub struct Authorized<P> {
    pub info: Option<AuthInfo>,
    pub request: P,
}

impl<P: Proposal> Proposal for Authorized<P> {
    type Applied = P::Applied;

    fn into_command(self) -> Command {
        match self.info {
            Some(info) => Command::As(info, Box::new(self.request.into_command())),
            None => self.request.into_command(),
        }
    }

    fn applied(response: Response) -> std::result::Result<P::Applied, Response> {
        P::applied(response)
    }
}

impl<P> LeaderRequest for Authorized<P>
where
    P: Proposal + Clone + Send + Sync + 'static,
    P::Applied: Send + 'static,
{
    type Answer = P::Applied;

    async fn serve_on_leader(self, member: &Member) -> Result<P::Applied> {
        super::propose::typed(member.node(), self).await
    }

    type Wire = Command;

    fn into_wire(self) -> Command {
        self.into_command()
    }

    fn from_wire(response: Response, member: &Member) -> Result<P::Applied> {
        super::propose::forwarded::<P>(member, response)
    }

    fn may_repeat(&self) -> bool {
        false
    }
}

/// An auth command as a proposal: answered with the header and the store's answer.
#[derive(Debug, Clone)]
pub struct AuthProposal(pub AuthCommand);

impl Proposal for AuthProposal {
    type Applied = (ResponseHeader, AuthAnswer);

    fn into_command(self) -> Command {
        Command::Auth(self.0)
    }

    fn applied(response: Response) -> std::result::Result<Self::Applied, Response> {
        match response {
            Response::Auth(header, answer) => Ok((header, answer)),
            other => Err(other),
        }
    }
}

impl Member {
    /// Serves one unary request for `caller`; `Stopped` until this member is ready.
    pub async fn call_as<R: CallerRequest>(
        &self,
        caller: &Caller,
        request: R,
    ) -> Result<R::Answer> {
        if !self.is_ready() {
            return Err(Error::Stopped);
        }
        let info = self.authorize(caller)?;
        request.serve_as(self, info).await
    }

    /// Who `caller` is, resolved against this member's replica now (see the module docs).
    pub fn authorize(&self, caller: &Caller) -> Result<Option<AuthInfo>> {
        let Caller::Client(credentials) = caller else { return Ok(None) };
        let state = self.node().replica.lock();
        let auth = state.machine.auth();
        if !auth.is_enabled() {
            // etcd ignores credentials while auth is off; if it is on by the time the request
            // is applied, an anonymous caller is refused there.
            return Ok(Some(AuthInfo::default()));
        }
        if let Some(token) = &credentials.token {
            if let TokenKind::Jwt(jwt) = &self.node().config.auth.tokens {
                return jwt.verify(token).map(Some).ok_or(Error::InvalidAuthToken);
            }
            let user = auth.token_user(token).ok_or(Error::InvalidAuthToken)?;
            let ttl = self.node().config.auth.token_ttl;
            let mut clock = self.inner.tokens.lock().unwrap_or_else(|e| e.into_inner());
            if !clock.touch(token, NodeClock.now(), ttl, |t| auth.token_user(t).is_some()) {
                return Err(Error::InvalidAuthToken);
            }
            return Ok(Some(auth.info_for(user)));
        }
        if let Some(name) = &credentials.common_name {
            return Ok(Some(auth.info_for(name)));
        }
        Ok(Some(AuthInfo::default()))
    }

    /// etcd's admin check for calls only the root role may make while auth is on (membership
    /// changes, defragment, snapshot, hashes): `Ok` for the member itself and when auth is off.
    pub fn check_admin(&self, caller: &Caller) -> Result<()> {
        match self.authorize(caller)? {
            None => Ok(()),
            Some(info) => self.node().replica.lock().machine.auth().check_admin(&info),
        }
    }

    /// A range for `info`: a linearizable one is checked where it is served (`auth_range`); a
    /// serializable one against this replica, served, and refused if the auth store moved on
    /// meanwhile (etcd's `doSerialize`).
    async fn range_as(
        &self,
        info: Option<AuthInfo>,
        request: RangeRequest,
    ) -> Result<RangeResponse> {
        let Some(info) = info else { return request.serve(self).await };
        if !request.serializable && self.node().replica.lock().machine.auth().is_enabled() {
            let range = super::auth_range::AuthorizedRange { info, request };
            return self.route(range).await;
        }
        self.node().replica.lock().machine.auth().check_range(&info, &request)?;
        let response = request.serve(self).await?;
        let revision = self.node().replica.lock().machine.auth().revision();
        if !info.is_anonymous() && info.revision < revision {
            return Err(Error::AuthOldRevision);
        }
        Ok(response)
    }

    /// Proposes `command` for `info` and finds the typed answer in what applying it answered.
    async fn propose_auth<A: FromAnswer>(
        &self,
        info: Option<AuthInfo>,
        command: AuthCommand,
    ) -> Result<A> {
        let (header, answer) =
            self.route(Authorized { info, request: AuthProposal(command) }).await?;
        A::from_answer(header, answer)
            .ok_or_else(|| Error::Internal("an auth command answered another kind".into()))
    }

    /// etcd's `CheckPassword` and token assignment, then the proposal.
    async fn authenticate(
        &self,
        info: Option<AuthInfo>,
        request: AuthenticateRequest,
    ) -> Result<AuthenticateResponse> {
        let (hash, revision) = {
            let state = self.node().replica.lock();
            let auth = state.machine.auth();
            if !auth.is_enabled() {
                return Err(Error::AuthNotEnabled);
            }
            let user = auth.user(&request.name).ok_or(Error::AuthFailed)?;
            (user.hash.clone().ok_or(Error::AuthFailed)?, auth.revision())
        };
        if !password::verify(&request.password, &hash) {
            return Err(Error::AuthFailed);
        }
        let jwt = match &self.node().config.auth.tokens {
            TokenKind::Jwt(jwt) => Some(jwt.clone()),
            TokenKind::Simple => None,
        };
        // A JWT is signed once the log took the login (at the revision the password was
        // checked at, which apply confirmed): the proposal carries no token.
        let token = if jwt.is_some() { String::new() } else { new_token() };
        let name = request.name.clone();
        let command =
            AuthCommand::Authenticate { name: request.name, token: token.clone(), revision };
        let answer: AuthenticateResponse = self.propose_auth(info, command).await?;
        if let Some(jwt) = jwt {
            return Ok(AuthenticateResponse { token: jwt.sign(&name, revision)?, ..answer });
        }
        let ttl = self.node().config.auth.token_ttl;
        let mut clock = self.inner.tokens.lock().unwrap_or_else(|e| e.into_inner());
        clock.touch(&token, NodeClock.now(), ttl, |_| true);
        Ok(answer)
    }
}

/// etcd's simple token: 16 random letters and a number, from the member's seeded source.
fn new_token() -> String {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut token: String =
        (0..16).map(|_| LETTERS[madsim::rand::random::<usize>() % LETTERS.len()] as char).collect();
    token.push('.');
    token.push_str(&(madsim::rand::random::<u32>()).to_string());
    token
}

/// Requests proposed with the caller they carry (checked in apply).
macro_rules! proposed_as {
    ($($request:ty,)*) => {$(
        impl CallerRequest for $request {
            async fn serve_as(self, member: &Member, info: Option<AuthInfo>) -> Result<Self::Answer> {
                member.route(Authorized { info, request: self }).await
            }
        }
    )*};
}

proposed_as! {
    PutRequest,
    DeleteRangeRequest,
    TxnRequest,
    CompactionRequest,
    LeaseGrantRequest,
    LeaseRevokeRequest,
}

/// Requests etcd 3.4 serves without a permission check.
macro_rules! unchecked {
    ($($request:ty,)*) => {$(
        impl CallerRequest for $request {
            async fn serve_as(self, member: &Member, _: Option<AuthInfo>) -> Result<Self::Answer> {
                self.serve(member).await
            }
        }
    )*};
}

unchecked! {
    LeaseKeepAliveRequest,
    StatusRequest,
    MemberListRequest,
    HashKvRequest,
    LeaseTimeToLiveRequest,
    LeaseLeasesRequest,
    // Maintenance's Alarm and MoveLeader: etcd 3.4's auth layer passes them through.
    AlarmRequest,
    MoveLeaderRequest,
}

impl CallerRequest for RangeRequest {
    async fn serve_as(self, member: &Member, info: Option<AuthInfo>) -> Result<RangeResponse> {
        member.range_as(info, self).await
    }
}

/// The Auth service: each request becomes its command (the closure may hash a password) and is
/// answered with its typed answer.
macro_rules! auth_requests {
    ($($request:ty => $answer:ty, |$r:ident, $member:ident| $command:expr;)*) => {$(
        impl MemberRequest for $request {
            type Answer = $answer;

            fn rpc(&self) -> Rpc<'_> {
                Rpc::Auth
            }

            async fn serve(self, member: &Member) -> Result<$answer> {
                self.serve_as(member, None).await
            }
        }

        impl CallerRequest for $request {
            async fn serve_as(self, member: &Member, info: Option<AuthInfo>) -> Result<$answer> {
                let command = {
                    let $r = self;
                    let $member = member;
                    $command
                };
                member.propose_auth(info, command?).await
            }
        }
    )*};
}

fn hash(member: &Member, password: &str) -> Result<String> {
    password::hash(password, member.node().config.auth.bcrypt_cost)
}

auth_requests! {
    AuthEnableRequest => ResponseHeader, |_r, _m| Ok(AuthCommand::Enable);
    AuthDisableRequest => ResponseHeader, |_r, _m| Ok(AuthCommand::Disable);
    AuthStatusRequest => AuthStatusResponse, |_r, _m| Ok(AuthCommand::Status);
    AuthUserAddRequest => ResponseHeader, |r, m| {
        let hash = match r.no_password {
            true => None,
            false => Some(hash(m, &r.password)?),
        };
        Ok(AuthCommand::UserAdd { name: r.name, hash })
    };
    AuthUserGetRequest => AuthNamesResponse, |r, _m| Ok(AuthCommand::UserGet { name: r.name });
    AuthUserListRequest => AuthNamesResponse, |_r, _m| Ok(AuthCommand::UserList);
    AuthUserDeleteRequest => ResponseHeader, |r, _m| Ok(AuthCommand::UserDelete { name: r.name });
    AuthUserChangePasswordRequest => ResponseHeader, |r, m| {
        Ok(AuthCommand::UserChangePassword { hash: hash(m, &r.password)?, name: r.name })
    };
    AuthUserGrantRoleRequest => ResponseHeader, |r, _m| {
        Ok(AuthCommand::UserGrantRole { user: r.user, role: r.role })
    };
    AuthUserRevokeRoleRequest => ResponseHeader, |r, _m| {
        Ok(AuthCommand::UserRevokeRole { name: r.name, role: r.role })
    };
    AuthRoleAddRequest => ResponseHeader, |r, _m| Ok(AuthCommand::RoleAdd { name: r.name });
    AuthRoleGetRequest => AuthRoleGetResponse, |r, _m| Ok(AuthCommand::RoleGet { role: r.role });
    AuthRoleListRequest => AuthNamesResponse, |_r, _m| Ok(AuthCommand::RoleList);
    AuthRoleDeleteRequest => ResponseHeader, |r, _m| Ok(AuthCommand::RoleDelete { role: r.role });
    AuthRoleGrantPermissionRequest => ResponseHeader, |r, _m| {
        // etcd: a grant without a permission is refused before raft.
        let perm = r.perm.ok_or_else(|| Error::Other("permission not given".into()))?;
        Ok(AuthCommand::RoleGrantPermission { name: r.name, perm })
    };
    AuthRoleRevokePermissionRequest => ResponseHeader, |r, _m| {
        Ok(AuthCommand::RoleRevokePermission { role: r.role, key: r.key, range_end: r.range_end })
    };
}

impl MemberRequest for AuthenticateRequest {
    type Answer = AuthenticateResponse;

    fn rpc(&self) -> Rpc<'_> {
        Rpc::Auth
    }

    async fn serve(self, member: &Member) -> Result<AuthenticateResponse> {
        self.serve_as(member, None).await
    }
}

impl CallerRequest for AuthenticateRequest {
    async fn serve_as(
        self,
        member: &Member,
        info: Option<AuthInfo>,
    ) -> Result<AuthenticateResponse> {
        member.authenticate(info, self).await
    }
}
