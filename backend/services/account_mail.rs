//! The account flows that go through email: confirming an address, and choosing a new
//! password. Each sends a single-use link; only the token's hash is stored, and it expires.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use rand::RngCore;
use sea_orm::{ConnectionTrait, Set};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::notices::{self, Recipient};
use super::{Caller, ServiceError};
use crate::app::App;
use crate::domain::account::Email;
use crate::domain::field::FieldError;
use crate::domain::locale::Locale;
use crate::notify::MessageKind;
use crate::store::deferred::Deferred;
use crate::store::entity::user::ActiveModel as UserChange;
use crate::store::users::{self, User};
use crate::store::{account_tokens, refresh_tokens};

const VERIFY: &str = "verify_email";
const RESET: &str = "reset_password";

/// Writes a verification link for `user` into the outbox, inside the caller's transaction
/// (registration, or a request for a new link). Earlier open links stop working.
pub async fn send_verification(
    app: &App,
    db: &impl ConnectionTrait,
    user: &User,
) -> Result<(), ServiceError> {
    let now = app.clock.now();
    let expires_at = now + TimeDelta::hours(app.settings.auth.verify_email_ttl_hours);
    let token = issue(db, user, VERIFY, expires_at, now).await?;
    let url = link(app, "verify-email", &token);
    let data = json!({ "name": user.full_name, "verify_url": url, "expires_at": expires_at });
    mail(app, db, user, MessageKind::VerifyEmail, data, now).await
}

/// Asks for a new verification link for the caller's own account.
pub async fn resend_verification(app: &App, client: &str, caller: &Caller) -> Result<(), ServiceError> {
    app.limits.account_mail_per_ip.check(client)?;
    app.limits.account_mail_per_address.check(&caller.email.to_lowercase())?;
    let txn = app.db.write().await?;
    let user = users::by_id(&txn, caller.id).await?.ok_or(ServiceError::NotFound)?;
    if user.email_verified_at.is_some() {
        return Err(ServiceError::Conflict("the email address is already confirmed".into()));
    }
    send_verification(app, &txn, &user).await?;
    txn.commit().await?;
    Ok(())
}

/// Confirms the address the token was sent to.
pub async fn verify_email(app: &App, token: &str) -> Result<User, ServiceError> {
    let now = app.clock.now();
    let txn = app.db.write().await?;
    let found = account_tokens::consume(&txn, VERIFY, &hash(token), now).await?.ok_or_else(invalid_token)?;
    let user = users::by_id(&txn, found.user_id).await?.ok_or_else(invalid_token)?;
    let user = mark_verified(&txn, user, now).await?;
    txn.commit().await?;
    Ok(user)
}

/// Sends a password reset link if an active account has this address. The answer is the
/// same either way, so nobody learns whether an address is registered. Limited per client
/// address and per email address (`rate_limit.account_mail_per_*`).
pub async fn request_password_reset(app: &App, client: &str, email: &str) -> Result<(), ServiceError> {
    app.limits.account_mail_per_ip.check(client)?;
    let Ok(email) = Email::parse("email", email) else {
        return Ok(());
    };
    // Counted for every address asked for, registered or not, so the answer tells nothing.
    app.limits.account_mail_per_address.check(email.as_str())?;
    let now = app.clock.now();
    let txn = app.db.write().await?;
    let Some(user) = users::by_email(&txn, email.as_str()).await?.filter(|u| !u.disabled) else {
        return Ok(());
    };
    let expires_at = now + TimeDelta::minutes(app.settings.auth.password_reset_ttl_minutes);
    let token = issue(&txn, &user, RESET, expires_at, now).await?;
    let data = json!({ "name": user.full_name, "reset_url": link(app, "reset-password", &token), "expires_at": expires_at });
    mail(app, &txn, &user, MessageKind::PasswordReset, data, now).await?;
    txn.commit().await?;
    Ok(())
}

/// Sets a new password with a reset token, ends every session of the account, and counts
/// the address as confirmed (the link reached it).
pub async fn reset_password(app: &App, token: &str, new_password: &str) -> Result<(), ServiceError> {
    let now = app.clock.now();
    let txn = app.db.write().await?;
    let found = account_tokens::consume(&txn, RESET, &hash(token), now).await?.ok_or_else(invalid_token)?;
    let user = users::by_id(&txn, found.user_id).await?.ok_or_else(invalid_token)?;
    let email = Email::parse("email", &user.email)?;
    let auth = &app.settings.auth;
    let password = crate::domain::account::Password::parse(
        "new_password",
        new_password,
        auth.min_password_chars,
        auth.max_password_chars,
        Some(email.as_str()),
    )?;
    let password_hash = app.hasher.hash(password.expose()).await?;
    let user_id = user.id;
    let verified = user.email_verified_at.unwrap_or(now);
    let mut change: UserChange = user.into();
    change.password_hash = Set(password_hash);
    change.email_verified_at = Set(Some(verified));
    change.updated_at = Set(now);
    users::update(&txn, change).await?;
    refresh_tokens::revoke_user(&txn, user_id, now).await?;
    account_tokens::expire_open(&txn, user_id, RESET, now).await?;
    txn.commit().await?;
    Ok(())
}

/// Whether `caller` may file: staff-created accounts and confirmed addresses may.
pub fn may_file(app: &App, caller: &Caller) -> bool {
    !app.settings.auth.require_verified_email || caller.email_verified
}

/// Records that `user`'s address is confirmed now.
pub async fn mark_verified(
    db: &impl ConnectionTrait,
    user: User,
    now: DateTime<Utc>,
) -> Result<User, ServiceError> {
    if user.email_verified_at.is_some() {
        return Ok(user);
    }
    let mut change: UserChange = user.into();
    change.email_verified_at = Set(Some(now));
    change.updated_at = Set(now);
    Ok(users::update(db, change).await?)
}

async fn issue(
    db: &impl ConnectionTrait,
    user: &User,
    purpose: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<String, ServiceError> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    account_tokens::expire_open(db, user.id, purpose, now).await?;
    account_tokens::insert(db, user.id, purpose, hash(&token), expires_at, now).await?;
    Ok(token)
}

async fn mail(
    app: &App,
    db: &impl ConnectionTrait,
    user: &User,
    kind: MessageKind,
    data: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let recipient = Recipient {
        email: user.email.clone(),
        name: user.full_name.clone(),
        locale: user.locale.parse().unwrap_or(Locale::Tg),
    };
    // Each link is its own message: the cause is the link's hash, unique per token.
    let cause = format!("{kind}:{}", &hash(data.to_string().as_str())[..16]);
    let time_zone = app.jurisdiction.calendar.rules().time_zone.name();
    let mut writes = Deferred::new();
    notices::enqueue(app, db, &mut writes, &recipient, kind, data, time_zone, None, &cause, now).await?;
    Ok(writes.flush(db).await?)
}

fn link(app: &App, page: &str, token: &str) -> String {
    format!("{}/{page}?token={token}", app.settings.server.public_url.trim_end_matches('/'))
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn invalid_token() -> ServiceError {
    ServiceError::field(FieldError::new("token", "invalid", "is unknown, expired or already used"))
}
