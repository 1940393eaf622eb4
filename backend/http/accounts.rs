//! Registration, sign-in and the caller's own account: `/api/v1/auth/*` and `/api/v1/me`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Authenticated, ClientAddr, Valid};
use super::problem::ApiError;
use super::views::UserView;
use crate::app::App;
use crate::domain::locale::Locale;
use crate::services::{account_mail, accounts, sessions};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(me, update_me))
        .routes(routes!(change_password))
        .routes(routes!(verify_email))
        .routes(routes!(resend_verification))
        .routes(routes!(request_password_reset))
        .routes(routes!(reset_password))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub email: String,
    /// 8 to 128 characters; the most common passwords are refused.
    pub password: String,
    pub full_name: String,
    pub locale: Option<Locale>,
}

/// Register a citizen account.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth",
    request_body = RegisterRequest,
    responses((status = 201, description = "Account created", body = UserView)))]
async fn register(
    State(app): State<App>,
    ClientAddr(client): ClientAddr,
    Valid(req): Valid<RegisterRequest>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let input = accounts::Registration {
        email: req.email,
        password: req.password,
        full_name: req.full_name,
        locale: req.locale,
    };
    let user = accounts::register(&app, &client, input).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// A new session.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub expires_at: DateTime<Utc>,
    /// Trade at `/api/v1/auth/refresh` for a new pair; single use.
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
    pub user: UserView,
}

impl TokenResponse {
    fn new(app: &App, session: sessions::Session) -> Self {
        Self {
            access_token: session.access.token,
            token_type: "Bearer",
            expires_in: (session.access.expires_at - app.clock.now()).num_seconds(),
            expires_at: session.access.expires_at,
            refresh_token: session.refresh_token,
            refresh_expires_at: session.refresh_expires_at,
            user: session.user.into(),
        }
    }
}

/// Sign in with email and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses((status = 200, description = "Signed in", body = TokenResponse)))]
async fn login(
    State(app): State<App>,
    ClientAddr(client): ClientAddr,
    Valid(req): Valid<LoginRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let session = sessions::login(&app, &client, &req.email, &req.password).await?;
    Ok(Json(TokenResponse::new(&app, session)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Trade a refresh token for a new access and refresh token. Presenting a refresh token a
/// second time ends its whole session.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses((status = 200, description = "Rotated", body = TokenResponse)))]
async fn refresh(
    State(app): State<App>,
    ClientAddr(client): ClientAddr,
    Valid(req): Valid<RefreshRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let session = sessions::refresh(&app, &client, &req.refresh_token).await?;
    Ok(Json(TokenResponse::new(&app, session)))
}

/// End the session a refresh token belongs to.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    request_body = RefreshRequest,
    responses((status = 204, description = "Signed out")))]
async fn logout(State(app): State<App>, Valid(req): Valid<RefreshRequest>) -> Result<StatusCode, ApiError> {
    sessions::logout(&app, &req.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's own account.
#[utoipa::path(get, path = "/api/v1/me", tag = "me", security(("bearer" = [])),
    responses((status = 200, description = "The account", body = UserView)))]
async fn me(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(accounts::profile(&app, &caller).await?.into()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    pub full_name: Option<String>,
    pub locale: Option<Locale>,
    /// `false` turns off mail the law does not require (reminders, digests).
    pub optional_mail: Option<bool>,
}

/// Change the caller's name, language or mail preference.
#[utoipa::path(patch, path = "/api/v1/me", tag = "me", security(("bearer" = [])),
    request_body = UpdateMeRequest,
    responses((status = 200, description = "Changed", body = UserView)))]
async fn update_me(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Valid(req): Valid<UpdateMeRequest>,
) -> Result<Json<UserView>, ApiError> {
    let change = accounts::ProfileChange {
        full_name: req.full_name,
        locale: req.locale,
        optional_mail: req.optional_mail,
    };
    let user = accounts::update_profile(&app, &caller, change).await?;
    Ok(Json(user.into()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

/// Change the caller's password; every session of the account ends.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "me", security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses((status = 204, description = "Changed")))]
async fn change_password(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Valid(req): Valid<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    accounts::change_password(&app, &caller, &req.current_password, &req.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A single-use token from an emailed link.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub token: String,
}

/// Confirm an email address with the token from the link sent to it.
#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "auth",
    request_body = TokenRequest,
    responses((status = 200, description = "Confirmed", body = UserView)))]
async fn verify_email(
    State(app): State<App>,
    Valid(req): Valid<TokenRequest>,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(account_mail::verify_email(&app, &req.token).await?.into()))
}

/// Send a new confirmation link to the caller's address (earlier links stop working).
#[utoipa::path(post, path = "/api/v1/me/verify-email", tag = "me", security(("bearer" = [])),
    responses((status = 202, description = "A new link is on its way")))]
async fn resend_verification(
    State(app): State<App>,
    ClientAddr(client): ClientAddr,
    Authenticated(caller): Authenticated,
) -> Result<StatusCode, ApiError> {
    account_mail::resend_verification(&app, &client, &caller).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    pub email: String,
}

/// Ask for a password reset link. The answer is the same whether or not the address
/// belongs to an account.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "auth",
    request_body = PasswordResetRequest,
    responses((status = 202, description = "If the address has an account, a link is on its way")))]
async fn request_password_reset(
    State(app): State<App>,
    ClientAddr(client): ClientAddr,
    Valid(req): Valid<PasswordResetRequest>,
) -> Result<StatusCode, ApiError> {
    account_mail::request_password_reset(&app, &client, &req.email).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirmRequest {
    pub token: String,
    /// 8 to 128 characters; the most common passwords are refused.
    pub new_password: String,
}

/// Choose a new password with the token from a reset link; every session of the account ends.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "auth",
    request_body = PasswordResetConfirmRequest,
    responses((status = 204, description = "Changed")))]
async fn reset_password(
    State(app): State<App>,
    Valid(req): Valid<PasswordResetConfirmRequest>,
) -> Result<StatusCode, ApiError> {
    account_mail::reset_password(&app, &req.token, &req.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}
