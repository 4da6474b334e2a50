//! The identity of a request, and the access checks every route makes with it.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;

use crate::accounts::{Account, Role};
use crate::error::ApiError;

/// How the caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A browser session cookie.
    Session,
    /// An account's API token.
    Token,
    /// The configured admin token (`SOUNDLAKE_ADMIN_TOKEN`), an admin credential for scripts.
    AdminToken,
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Caller {
    /// No credential.
    #[default]
    Anonymous,
    /// A person or script acting as an account.
    Account {
        account: Account,
        credential: Credential,
    },
    /// An ingest-scoped token: may post listens for any listener, nothing else.
    Ingest { account: Account },
}

impl Caller {
    /// The admin behind the configured admin token.
    pub fn admin_token() -> Self {
        Caller::Account {
            account: Account {
                account_id: 0,
                name: crate::accounts::name::RESERVED.into(),
                role: Role::Admin,
                listener_id: None,
                disabled: false,
            },
            credential: Credential::AdminToken,
        }
    }

    /// The account's role, for callers acting as an account.
    pub fn role(&self) -> Option<Role> {
        match self {
            Caller::Account { account, .. } => Some(account.role),
            _ => None,
        }
    }

    pub fn account(&self) -> Option<&Account> {
        match self {
            Caller::Account { account, .. } => Some(account),
            _ => None,
        }
    }

    /// Whether the caller came with a browser session (and so needs the cross-site check).
    pub fn by_session(&self) -> bool {
        matches!(
            self,
            Caller::Account {
                credential: Credential::Session,
                ..
            }
        )
    }

    /// The caller's own listener id, for a listener.
    pub fn listener_id(&self) -> Option<&str> {
        self.account()
            .filter(|a| a.role == Role::Listener)
            .and_then(|a| a.listener_id.as_deref())
    }

    /// Refuses callers without one of `roles`: 401 without a credential, 403 with another.
    pub fn require(&self, roles: &[Role]) -> Result<&Account, ApiError> {
        match self {
            Caller::Account { account, .. } if roles.contains(&account.role) => Ok(account),
            Caller::Anonymous => Err(unauthenticated()),
            _ => Err(forbidden(format!(
                "this needs the role {}",
                roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ))),
        }
    }

    /// Refuses callers who may not read or steer listener `user_id`'s data: only that
    /// listener and admins may.
    pub fn require_listener(&self, user_id: &str) -> Result<(), ApiError> {
        match self.require(&[Role::Listener, Role::Admin])?.role {
            Role::Admin => Ok(()),
            _ if self.listener_id() == Some(user_id) => Ok(()),
            _ => Err(forbidden("a listener reaches only their own data")),
        }
    }

    /// Whether the caller may post listens of listener `user_id`: that listener, an admin, or
    /// an ingest token.
    pub fn may_post_listens_of(&self, user_id: &str) -> bool {
        match self {
            Caller::Ingest { .. } => true,
            Caller::Account { account, .. } => match account.role {
                Role::Admin => true,
                Role::Listener => account.listener_id.as_deref() == Some(user_id),
                Role::Business => false,
            },
            Caller::Anonymous => false,
        }
    }

    /// Refuses callers who may post no listens at all.
    pub fn require_ingest(&self) -> Result<(), ApiError> {
        match self {
            Caller::Ingest { .. } => Ok(()),
            _ => self.require(&[Role::Listener, Role::Admin]).map(|_| ()),
        }
    }
}

pub fn unauthenticated() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "log in, or send an API token: Authorization: Bearer <token>",
    )
}

pub fn forbidden(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
}

/// The caller [`super::identify`] found (anonymous if it did not run).
impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Caller>()
            .cloned()
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(role: Role, listener: Option<&str>) -> Caller {
        Caller::Account {
            account: Account {
                account_id: 1,
                name: "a".into(),
                role,
                listener_id: listener.map(str::to_owned),
                disabled: false,
            },
            credential: Credential::Session,
        }
    }

    #[test]
    fn listeners_reach_only_their_own_data_and_admins_all() {
        let ana = account(Role::Listener, Some("u1"));
        assert!(ana.require_listener("u1").is_ok());
        assert_eq!(ana.require_listener("u2").unwrap_err().status, 403);
        assert!(account(Role::Admin, None).require_listener("u2").is_ok());
        assert_eq!(
            account(Role::Business, None)
                .require_listener("u1")
                .unwrap_err()
                .status,
            403
        );
        assert_eq!(
            Caller::Anonymous.require_listener("u1").unwrap_err().status,
            401
        );
        assert!(ana.may_post_listens_of("u1"));
        assert!(!ana.may_post_listens_of("u2"));
        assert!(!account(Role::Business, None).may_post_listens_of("u1"));
    }
}
