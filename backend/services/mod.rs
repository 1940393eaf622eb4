//! Use cases. Each public function parses nothing (it takes domain types or plain values
//! from the HTTP layer), authorizes against the caller, runs in one transaction when it
//! writes, and returns a domain result or a [`ServiceError`].

pub mod account_mail;
pub mod accounts;
pub mod agencies;
pub mod appeals;
pub mod audit;
pub mod cache;
pub mod calendar;
pub mod delivery;
pub mod limits;
pub mod notices;
pub mod reference;
pub mod reports;
pub mod routing;
pub mod rulesets;
pub mod scheduler;
pub mod sessions;

use uuid::Uuid;

use crate::auth::password::HashError;
use crate::domain::field::FieldError;
use crate::domain::locale::Locale;
use crate::domain::role::Role;
use crate::store::StoreError;
use crate::store::users::User;

/// Waits `wait` of real time (a background loop's poll interval), or less if `stop` turns
/// true first; true when it did. The loops of `serve` and `worker` (scheduler, delivery,
/// calendar) pause between passes with it, so each stops at once when told.
pub async fn paused_until_stopped(
    wait: std::time::Duration,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(wait) => false,
        _ = stop.wait_for(|stop| *stop) => true,
    }
}

/// The signed-in user a service acts for, as loaded for this request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub id: Uuid,
    pub role: Role,
    pub agency_id: Option<Uuid>,
    pub locale: Locale,
    /// The account's name and address as loaded with it: a use case that needs them (filing
    /// records the citizen's contact details) does not read the account again.
    pub full_name: String,
    pub email: String,
    pub email_verified: bool,
}

impl Caller {
    /// The caller an enabled account acts as; `None` for a disabled account or an unknown role.
    pub fn of(user: &User) -> Option<Self> {
        if user.disabled {
            return None;
        }
        Some(Caller {
            id: user.id,
            role: user.role.parse().ok()?,
            agency_id: user.agency_id,
            locale: user.locale.parse().unwrap_or(Locale::Tg),
            full_name: user.full_name.clone(),
            email: user.email.clone(),
            email_verified: user.email_verified_at.is_some(),
        })
    }
}

/// Why a use case did not happen. The HTTP layer maps each variant to one status code.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// One or more fields are invalid or refer to something that does not exist (422).
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// The thing does not exist, or the caller may not know that it does (404).
    #[error("not found")]
    NotFound,
    /// The request conflicts with the current state (409).
    #[error("conflict: {0}")]
    Conflict(String),
    /// Wrong email or password; deliberately says no more (401).
    #[error("wrong email or password")]
    BadCredentials,
    /// A refresh token that is unknown, expired, revoked or reused (401).
    #[error("session expired")]
    SessionExpired,
    /// The caller's role may not use this function at all (403).
    #[error("forbidden")]
    Forbidden,
    /// The action is not possible in the appeal's current status (409); `allowed` lists what
    /// the caller may do now.
    #[error("the appeal is {status}; allowed now: {allowed:?}")]
    Refused { status: String, action: String, allowed: Vec<String> },
    /// The caller's copy of the appeal is out of date: someone changed it since (412).
    #[error("stale version; the appeal is now at version {current}")]
    Stale { current: i32 },
    /// A change to an appeal must say which version it applies to (428).
    #[error("version required")]
    VersionRequired,
    /// Too many attempts; try again after this many seconds (429).
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing: {0}")]
    Hashing(#[from] HashError),
    /// A self-registered citizen has not confirmed their email address yet (403).
    #[error("email address not confirmed")]
    EmailUnconfirmed,
    /// Something on our side failed (a file could not be written, ...): 500, logged.
    #[error("internal: {0}")]
    Internal(String),
}

impl ServiceError {
    /// A 422 for one field.
    pub fn field(error: FieldError) -> Self {
        ServiceError::Invalid(vec![error])
    }
}

impl From<FieldError> for ServiceError {
    fn from(error: FieldError) -> Self {
        ServiceError::Invalid(vec![error])
    }
}

impl From<Vec<FieldError>> for ServiceError {
    fn from(errors: Vec<FieldError>) -> Self {
        ServiceError::Invalid(errors)
    }
}

impl From<sea_orm::DbErr> for ServiceError {
    fn from(err: sea_orm::DbErr) -> Self {
        ServiceError::Store(err.into())
    }
}
