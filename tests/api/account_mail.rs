//! The account flows that go through email: confirming an address before filing, choosing
//! a new password, and turning off optional mail.

use chrono::TimeDelta;
use murojiat::services::delivery;
use serde_json::json;

use crate::support::{ANONYMOUS, PASSWORD, assert_problem, spawn_app};

#[tokio::test]
async fn registration_mails_a_link_and_filing_waits_until_it_is_opened() {
    let app = spawn_app().await;
    let citizen = app.unconfirmed_citizen().await;
    let me: serde_json::Value = app.get("/api/v1/me", citizen.token()).await.json().await.unwrap();
    assert_eq!(me["email_verified"], false);

    let body = json!({"kind": "request", "subject": "Савол", "text": "Матн", "category": "x", "region": "y"});
    let response = app.post_json("/api/v1/appeals", &body, citizen.token()).await;
    assert_problem(response, 403, "forbidden").await;

    let token = app.mailed_token(&citizen.email, "verify_email").await;
    let confirmed = app.post_json("/api/v1/auth/verify-email", &json!({ "token": token }), ANONYMOUS).await;
    assert_eq!(confirmed.status(), 200);
    let me: serde_json::Value = app.get("/api/v1/me", citizen.token()).await.json().await.unwrap();
    assert_eq!(me["email_verified"], true);
    // Past the check: now the (unknown) category is what is wrong.
    let response = app.post_json("/api/v1/appeals", &body, citizen.token()).await;
    assert_eq!(response.status(), 422);

    // Single use.
    let again = app.post_json("/api/v1/auth/verify-email", &json!({ "token": token }), ANONYMOUS).await;
    let problem = assert_problem(again, 422, "validation").await;
    assert_eq!(problem.error_fields(), ["token"]);
}

#[tokio::test]
async fn a_confirmation_link_expires_and_a_new_one_replaces_it() {
    let app = spawn_app().await;
    let citizen = app.unconfirmed_citizen().await;
    let first = app.mailed_token(&citizen.email, "verify_email").await;
    app.clock.advance(TimeDelta::hours(49));
    let expired = app.post_json("/api/v1/auth/verify-email", &json!({ "token": first }), ANONYMOUS).await;
    assert_problem(expired, 422, "validation").await;

    let citizen = app.login(&citizen.email, PASSWORD).await;
    let resent = app.post_json("/api/v1/me/verify-email", &json!({}), citizen.token()).await;
    assert_eq!(resent.status(), 202);
    let second = app.mailed_token(&citizen.email, "verify_email").await;
    assert_ne!(first, second);
    let ok = app.post_json("/api/v1/auth/verify-email", &json!({ "token": second }), ANONYMOUS).await;
    assert_eq!(ok.status(), 200);
    // Nothing left to confirm.
    let resent = app.post_json("/api/v1/me/verify-email", &json!({}), citizen.token()).await;
    assert_problem(resent, 409, "conflict").await;
}

#[tokio::test]
async fn a_password_reset_answers_alike_for_unknown_addresses_and_ends_every_session() {
    let app = spawn_app().await;
    let citizen = app.citizen().await;
    let outbox_before = app.outbox_count().await;
    let unknown =
        app.post_json("/api/v1/auth/password-reset", &json!({"email": "nobody@example.tj"}), ANONYMOUS).await;
    assert_eq!(unknown.status(), 202);
    assert_eq!(app.outbox_count().await, outbox_before, "nothing is mailed for an unknown address");
    let known =
        app.post_json("/api/v1/auth/password-reset", &json!({"email": citizen.email}), ANONYMOUS).await;
    assert_eq!(known.status(), 202);
    assert_eq!(app.outbox_count().await, outbox_before + 1);

    let token = app.mailed_token(&citizen.email, "password_reset").await;
    let weak = json!({"token": token, "new_password": "123"});
    let response = app.post_json("/api/v1/auth/password-reset/confirm", &weak, ANONYMOUS).await;
    assert_problem(response, 422, "validation").await;
    let new_password = "a brand new passphrase 2026";
    let body = json!({"token": token, "new_password": new_password});
    let response = app.post_json("/api/v1/auth/password-reset/confirm", &body, ANONYMOUS).await;
    assert_eq!(response.status(), 204, "{}", response.text().await.unwrap());

    let refresh = json!({"refresh_token": citizen.refresh_token});
    assert_eq!(app.post_json("/api/v1/auth/refresh", &refresh, ANONYMOUS).await.status(), 401);
    let old_login = json!({"email": citizen.email, "password": PASSWORD});
    assert_eq!(app.post_json("/api/v1/auth/login", &old_login, ANONYMOUS).await.status(), 401);
    app.login(&citizen.email, new_password).await;
    // The token is spent.
    let response = app.post_json("/api/v1/auth/password-reset/confirm", &body, ANONYMOUS).await;
    assert_problem(response, 422, "validation").await;
}

#[tokio::test]
async fn reset_requests_are_rate_limited() {
    let app = spawn_app().await;
    let limit = app.app.settings.rate_limit.account_mail_per_ip.burst;
    for n in 0..limit {
        let body = json!({"email": format!("a{n}@example.tj")});
        let response = app.post_json("/api/v1/auth/password-reset", &body, ANONYMOUS).await;
        assert_eq!(response.status(), 202);
    }
    let response =
        app.post_json("/api/v1/auth/password-reset", &json!({"email": "b@example.tj"}), ANONYMOUS).await;
    assert_problem(response, 429, "rate-limited").await;
}

/// Reset requests from many client addresses (here: one address with a limit too high to
/// matter) cannot flood one inbox: past the per-address limit nothing more is mailed to it,
/// and the answer is the same whether the address is registered or not.
#[tokio::test]
async fn reset_mails_to_one_address_are_limited_whoever_asks() {
    let app =
        crate::support::spawn_app_with(|f| f.merge(("rate_limit.account_mail_per_ip.burst", 1000))).await;
    let citizen = app.citizen().await;
    let limit = app.app.settings.rate_limit.account_mail_per_address.burst;
    let mails = app.outbox_count().await;
    for email in [citizen.email.as_str(), "nobody@example.tj"] {
        for _ in 0..limit {
            let body = json!({"email": email.to_uppercase()});
            assert_eq!(app.post_json("/api/v1/auth/password-reset", &body, ANONYMOUS).await.status(), 202);
        }
        let body = json!({"email": email});
        let response = app.post_json("/api/v1/auth/password-reset", &body, ANONYMOUS).await;
        assert_problem(response, 429, "rate-limited").await;
    }
    assert_eq!(app.outbox_count().await, mails + u64::from(limit), "only the first requests mailed");
    // Other addresses are not held back.
    let body = json!({"email": "someone.else@example.tj"});
    assert_eq!(app.post_json("/api/v1/auth/password-reset", &body, ANONYMOUS).await.status(), 202);
}

#[tokio::test]
async fn the_optional_mail_preference_is_kept_and_legal_notices_still_go_out() {
    let app = spawn_app().await;
    let citizen = app.citizen().await;
    let response = app.patch_json("/api/v1/me", &json!({"optional_mail": false}), citizen.token()).await;
    assert_eq!(response.status(), 200);
    let me: serde_json::Value = response.json().await.unwrap();
    assert_eq!(me["optional_mail"], false);
    // A legal notice (a new confirmation link is one) is still written.
    let before = app.outbox_count().await;
    let response =
        app.post_json("/api/v1/auth/password-reset", &json!({"email": citizen.email}), ANONYMOUS).await;
    assert_eq!(response.status(), 202);
    assert_eq!(app.outbox_count().await, before + 1);
    let report = delivery::deliver_due(&app.app).await.unwrap();
    assert!(report.sent >= 1, "{report:?}");
}
