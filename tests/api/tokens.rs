//! Access tokens are EdDSA JWTs checked for algorithm, key, signature, issuer, audience and
//! time; refresh tokens rotate, and a reused one ends its whole session.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use murojiat::auth::keys::{KeyRing, public_pem};
use serde_json::{Value, json};

use crate::support::{ANONYMOUS, PASSWORD, Session, TestApp, assert_problem, spawn_app};

/// The claims the server would put in `user`'s token now.
fn claims(app: &TestApp, user: &Session) -> Value {
    let now = app.clock_now().timestamp();
    json!({
        "iss": "murojiat",
        "aud": "murojiat-api",
        "sub": user.user_id,
        "role": "citizen",
        "iat": now,
        "nbf": now,
        "exp": now + 900,
    })
}

/// Signs `claims` with the server's own key and key id, as a genuine token would be.
fn signed_by_server(app: &TestApp, claims: &Value) -> String {
    let keys = app.app.tokens.keys();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(keys.signing_kid.clone());
    jsonwebtoken::encode(&header, claims, &keys.encoding).unwrap()
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

async fn assert_refused(app: &TestApp, token: &str) {
    let problem = assert_problem(app.get("/api/v1/me", Some(token)).await, 401, "unauthorized").await;
    let challenge = problem.header("www-authenticate").unwrap_or_default();
    assert!(challenge.contains(r#"error="invalid_token""#), "{challenge}");
}

#[tokio::test]
async fn a_token_the_server_signed_is_accepted() {
    let app = spawn_app().await;
    let citizen = app.citizen().await;
    let token = signed_by_server(&app, &claims(&app, &citizen));
    assert_eq!(app.get("/api/v1/me", Some(&token)).await.status(), 200, "the crafting itself is sound");
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_refused() {
    let app = spawn_app().await;
    let citizen = app.citizen().await;
    let header = json!({"alg": "none", "typ": "JWT", "kid": app.app.tokens.keys().signing_kid});
    let token = format!("{}.{}.", b64(&header), b64(&claims(&app, &citizen)));
    assert_refused(&app, &token).await;
}

#[tokio::test]
async fn an_hs256_token_keyed_with_the_public_key_is_refused() {
    let app = spawn_app().await;
    let citizen = app.citizen().await;
    let keys = app.app.tokens.keys();
    let public = keys.verifying[0].public;
    // The classic confusion attack: the public key (raw, PEM, or as published in the JWKS)
    // used as an HMAC secret.
    let jwks_x = URL_SAFE_NO_PAD.encode(public);
    for secret in [public.to_vec(), public_pem(&public).into_bytes(), jwks_x.into_bytes()] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(keys.signing_kid.clone());
        let token = jsonwebtoken::encode(
            &header,
            &claims(&app, &citizen),
            &EncodingKey::from_secret(&secret).unwrap(),
        )
        .unwrap();
        assert_refused(&app, &token).await;
    }
}

#[tokio::test]
async fn a_token_from_another_issuer_is_refused() {
    let app = spawn_app().await;
    let citizen = app.citizen().await;
    let mut claims = claims(&app, &citizen);
    claims["iss"] = json!("someone-else");
    assert_refused(&app, &signed_by_server(&app, &claims)).await;
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused() {
    let app = spawn_app().await;
    let citizen = app.citizen().await;
    let mut claims = claims(&app, &citizen);
    claims["aud"] = json!("another-api");
    assert_refused(&app, &signed_by_server(&app, &claims)).await;
}

#[tokio::test]
async fn an_access_token_works_for_fifteen_minutes_plus_thirty_seconds_of_leeway() {
    let app = spawn_app().await;
    let citizen = app.citizen().await;
    app.clock.advance(Duration::seconds(15 * 60 + 29));
    assert_eq!(app.get("/api/v1/me", citizen.token()).await.status(), 200, "still inside the leeway");
    app.clock.advance(Duration::seconds(1));
    assert_refused(&app, &citizen.access_token).await;
}

#[tokio::test]
async fn a_token_that_is_not_yet_valid_is_refused() {
    let app = spawn_app().await;
    let citizen = app.citizen().await;
    let mut claims = claims(&app, &citizen);
    let now = app.clock_now().timestamp();
    claims["nbf"] = json!(now + 31);
    claims["iat"] = json!(now + 31);
    claims["exp"] = json!(now + 931);
    assert_refused(&app, &signed_by_server(&app, &claims)).await;
    // Within the leeway, a clock a few seconds ahead is tolerated.
    claims["nbf"] = json!(now + 20);
    let token = signed_by_server(&app, &claims);
    assert_eq!(app.get("/api/v1/me", Some(&token)).await.status(), 200);
}

#[tokio::test]
async fn a_token_without_expiry_is_refused() {
    let app = spawn_app().await;
    let citizen = app.citizen().await;
    let mut claims = claims(&app, &citizen);
    claims.as_object_mut().unwrap().remove("exp");
    assert_refused(&app, &signed_by_server(&app, &claims)).await;
}

#[tokio::test]
async fn a_tampered_payload_is_refused() {
    let app = spawn_app().await;
    let citizen = app.citizen().await;
    let admin = app.admin().await;
    let [header, _, signature]: [&str; 3] =
        citizen.access_token.split('.').collect::<Vec<_>>().try_into().unwrap();
    // Same signature, but the payload now claims to be the administrator.
    let mut forged = claims(&app, &citizen);
    forged["sub"] = json!(admin.user_id);
    forged["role"] = json!("admin");
    let token = format!("{header}.{}.{signature}", b64(&forged));
    assert_refused(&app, &token).await;
    let response = app.get("/api/v1/admin/users", Some(&token)).await;
    assert_problem(response, 401, "unauthorized").await;
}

#[tokio::test]
async fn a_token_with_an_unknown_key_id_is_refused() {
    let app = spawn_app().await;
    let citizen = app.citizen().await;
    let keys = app.app.tokens.keys();
    let claims = claims(&app, &citizen);
    // Our key, a kid we never published.
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("0123456789abcdef".into());
    assert_refused(&app, &jsonwebtoken::encode(&header, &claims, &keys.encoding).unwrap()).await;
    // No kid at all.
    let header = Header::new(Algorithm::EdDSA);
    assert_refused(&app, &jsonwebtoken::encode(&header, &claims, &keys.encoding).unwrap()).await;
    // A foreign key under its own kid, and under ours.
    let foreign = KeyRing::generate();
    for kid in [foreign.signing_kid.clone(), keys.signing_kid.clone()] {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid);
        assert_refused(&app, &jsonwebtoken::encode(&header, &claims, &foreign.encoding).unwrap()).await;
    }
}

#[tokio::test]
async fn refresh_rotates_the_pair_and_each_refresh_token_works_once() {
    let app = spawn_app().await;
    let citizen = app.citizen().await;
    app.clock.advance(Duration::minutes(20)); // the access token has expired
    assert_refused(&app, &citizen.access_token).await;
    let response = app
        .post_json("/api/v1/auth/refresh", &json!({"refresh_token": citizen.refresh_token}), ANONYMOUS)
        .await;
    assert_eq!(response.status(), 200);
    let rotated: Value = response.json().await.unwrap();
    let (access, refresh) =
        (rotated["access_token"].as_str().unwrap(), rotated["refresh_token"].as_str().unwrap());
    assert_ne!(refresh, citizen.refresh_token);
    assert_eq!(rotated["user"]["id"], citizen.user_id.as_str());
    assert_eq!(app.get("/api/v1/me", Some(access)).await.status(), 200);
    let again = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": refresh}), ANONYMOUS).await;
    assert_eq!(again.status(), 200, "the new refresh token works");
}

#[tokio::test]
async fn a_reused_refresh_token_is_refused_and_ends_the_whole_session() {
    let app = spawn_app().await;
    let citizen = app.citizen().await;
    let other_session = app.login(&citizen.email, PASSWORD).await;
    let first =
        app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": citizen.refresh_token}), None).await;
    let newest: Value = first.json().await.unwrap();
    // The old token comes back: someone copied it.
    let replay =
        app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": citizen.refresh_token}), None).await;
    let problem = assert_problem(replay, 401, "unauthorized").await;
    assert!(problem.header("www-authenticate").is_some());
    // The legitimate holder's newest token is revoked as well...
    let newest_refresh = newest["refresh_token"].as_str().unwrap();
    let response =
        app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": newest_refresh}), None).await;
    assert_problem(response, 401, "unauthorized").await;
    // ...but a separate login of the same person is another family and lives on.
    let response = app
        .post_json("/api/v1/auth/refresh", &json!({"refresh_token": other_session.refresh_token}), None)
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn an_unknown_or_expired_refresh_token_is_refused() {
    let app = spawn_app().await;
    let citizen = app.citizen().await;
    let response = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": "made-up"}), None).await;
    assert_problem(response, 401, "unauthorized").await;
    app.clock.advance(Duration::days(30) + Duration::seconds(1));
    let response =
        app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": citizen.refresh_token}), None).await;
    assert_problem(response, 401, "unauthorized").await;
}

#[tokio::test]
async fn logout_ends_the_session_and_is_harmless_twice() {
    let app = spawn_app().await;
    let citizen = app.citizen().await;
    let body = json!({"refresh_token": citizen.refresh_token});
    assert_eq!(app.post_json("/api/v1/auth/logout", &body, ANONYMOUS).await.status(), 204);
    assert_problem(app.post_json("/api/v1/auth/refresh", &body, ANONYMOUS).await, 401, "unauthorized").await;
    assert_eq!(app.post_json("/api/v1/auth/logout", &body, ANONYMOUS).await.status(), 204);
}

#[tokio::test]
async fn changing_the_password_ends_every_session_and_replaces_the_password() {
    let app = spawn_app().await;
    let citizen = app.citizen().await;
    let laptop = app.login(&citizen.email, PASSWORD).await;
    let change = json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"});
    assert_eq!(app.post_json("/api/v1/me/password", &change, citizen.token()).await.status(), 204);
    for session in [&citizen, &laptop] {
        let body = json!({"refresh_token": session.refresh_token});
        assert_problem(app.post_json("/api/v1/auth/refresh", &body, None).await, 401, "unauthorized").await;
    }
    let old = json!({"email": citizen.email, "password": PASSWORD});
    assert_problem(app.post_json("/api/v1/auth/login", &old, None).await, 401, "invalid-credentials").await;
    app.login(&citizen.email, "a brand new passphrase").await;
}

#[tokio::test]
async fn a_wrong_current_password_changes_nothing() {
    let app = spawn_app().await;
    let citizen = app.citizen().await;
    let hash = app.stored_user(&citizen.email).await.password_hash;
    let change = json!({"current_password": "not my password", "new_password": "a brand new passphrase"});
    let problem = assert_problem(
        app.post_json("/api/v1/me/password", &change, citizen.token()).await,
        422,
        "validation",
    )
    .await;
    assert_eq!(problem.error_code("current_password"), Some("mismatch"));
    assert_eq!(app.stored_user(&citizen.email).await.password_hash, hash);
    let body = json!({"refresh_token": citizen.refresh_token});
    assert_eq!(app.post_json("/api/v1/auth/refresh", &body, None).await.status(), 200);
}

#[tokio::test]
async fn a_disabled_users_tokens_stop_working_at_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let citizen = app.citizen().await;
    assert_eq!(app.get("/api/v1/me", citizen.token()).await.status(), 200);
    let path = format!("/api/v1/admin/users/{}", citizen.user_id);
    let response = app.patch_json(&path, &json!({"disabled": true}), admin.token()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["disabled"], true);
    // The access token is still within its lifetime, but the account is checked each time.
    assert_refused(&app, &citizen.access_token).await;
    let body = json!({"refresh_token": citizen.refresh_token});
    assert_problem(app.post_json("/api/v1/auth/refresh", &body, None).await, 401, "unauthorized").await;
    let login = json!({"email": citizen.email, "password": PASSWORD});
    assert_problem(app.post_json("/api/v1/auth/login", &login, None).await, 401, "invalid-credentials").await;
    let citizens_tokens: Vec<_> =
        app.refresh_tokens().await.into_iter().filter(|t| t.user_id.to_string() == citizen.user_id).collect();
    assert!(!citizens_tokens.is_empty() && citizens_tokens.iter().all(|t| t.revoked_at.is_some()));
}

#[tokio::test]
async fn the_login_answer_describes_the_tokens() {
    let app = spawn_app().await;
    let email = app.unique_email("citizen");
    assert_eq!(app.register(&email, PASSWORD, "Ali").await.status(), 201);
    let response =
        app.post_json("/api/v1/auth/login", &json!({"email": email, "password": PASSWORD}), None).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["expires_at"], "2026-03-02T05:15:00Z");
    assert_eq!(body["user"]["email"], email);
    let [header, _, _]: [&str; 3] =
        body["access_token"].as_str().unwrap().split('.').collect::<Vec<_>>().try_into().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["kid"], app.app.tokens.keys().signing_kid.as_str());
}
