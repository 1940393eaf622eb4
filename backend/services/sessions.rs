//! Signing in and out: login, refresh-token rotation with reuse detection, logout.

use chrono::Duration;
use uuid::Uuid;

use super::ServiceError;
use crate::app::App;
use crate::auth::password::Verdict;
use crate::auth::tokens::{AccessToken, RefreshSecret, hash_refresh_token};
use crate::domain::account::Email;
use crate::domain::role::Role;
use crate::store::{refresh_tokens, users};

/// A signed-in session: a short-lived access token and the refresh token that renews it.
#[derive(Debug)]
pub struct Session {
    pub access: AccessToken,
    pub refresh_token: String,
    pub refresh_expires_at: chrono::DateTime<chrono::Utc>,
    pub user: users::User,
}

/// Signs a user in. An unknown email, a wrong password and a disabled account all cost one
/// argon2 verification and all answer [`ServiceError::BadCredentials`].
pub async fn login(app: &App, client: &str, email: &str, password: &str) -> Result<Session, ServiceError> {
    app.limits.login_per_ip.check(client)?;
    let email = Email::parse("email", email).ok();
    if let Some(email) = &email {
        app.limits.login_per_account.check(email.as_str())?;
    }
    let user = match &email {
        Some(email) => users::by_email(app.db.conn(), email.as_str()).await?,
        None => None,
    };
    let verdict = app.hasher.verify(password, user.as_ref().map(|u| u.password_hash.as_str())).await?;
    let (user, rehash) = match (user, verdict) {
        (Some(user), Verdict::Match { rehash }) if !user.disabled => (user, rehash),
        _ => return Err(ServiceError::BadCredentials),
    };
    let txn = app.db.write().await?;
    let user = if rehash {
        let hash = app.hasher.hash(password).await?;
        let mut changed: crate::store::entity::user::ActiveModel = user.into();
        changed.password_hash = sea_orm::Set(hash);
        users::update(&txn, changed).await?
    } else {
        user
    };
    let session = start_session(app, &txn, user, Uuid::now_v7()).await?;
    txn.commit().await?;
    Ok(session)
}

/// Trades a refresh token for a new pair. A token presented a second time means it was
/// stolen or replayed: its whole family is revoked and the answer is 401.
pub async fn refresh(app: &App, client: &str, token: &str) -> Result<Session, ServiceError> {
    app.limits.refresh_per_ip.check(client)?;
    let now = app.clock.now();
    let txn = app.db.write().await?;
    let Some(row) = refresh_tokens::by_hash(&txn, &hash_refresh_token(token)).await? else {
        return Err(ServiceError::SessionExpired);
    };
    if row.revoked_at.is_some() || row.expires_at <= now {
        return Err(ServiceError::SessionExpired);
    }
    if row.used_at.is_some() || !refresh_tokens::claim(&txn, row.id, now).await? {
        tracing::warn!(family = %row.family_id, user = %row.user_id, "refresh token reused; revoking its family");
        refresh_tokens::revoke_family(&txn, row.family_id, now).await?;
        txn.commit().await?;
        return Err(ServiceError::SessionExpired);
    }
    let user = match users::by_id(&txn, row.user_id).await? {
        Some(user) if !user.disabled => user,
        _ => {
            refresh_tokens::revoke_family(&txn, row.family_id, now).await?;
            txn.commit().await?;
            return Err(ServiceError::SessionExpired);
        }
    };
    let session = start_session(app, &txn, user, row.family_id).await?;
    txn.commit().await?;
    Ok(session)
}

/// Ends the session a refresh token belongs to. Unknown tokens are ignored, so logging out
/// twice is harmless.
pub async fn logout(app: &App, token: &str) -> Result<(), ServiceError> {
    let now = app.clock.now();
    let txn = app.db.write().await?;
    if let Some(row) = refresh_tokens::by_hash(&txn, &hash_refresh_token(token)).await? {
        refresh_tokens::revoke_family(&txn, row.family_id, now).await?;
    }
    txn.commit().await?;
    Ok(())
}

async fn start_session(
    app: &App,
    txn: &sea_orm::DatabaseTransaction,
    user: users::User,
    family: Uuid,
) -> Result<Session, ServiceError> {
    let now = app.clock.now();
    let role: Role = user.role.parse().map_err(|_| ServiceError::BadCredentials)?;
    let secret = RefreshSecret::generate();
    let refresh_expires_at = now + Duration::days(app.settings.auth.refresh_token_ttl_days);
    refresh_tokens::insert(txn, user.id, family, secret.hash, now, refresh_expires_at).await?;
    Ok(Session {
        access: app.tokens.issue(user.id, role, now),
        refresh_token: secret.token,
        refresh_expires_at,
        user,
    })
}
