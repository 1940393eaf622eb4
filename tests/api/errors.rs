//! Every bad request is answered with an RFC 9457 problem, in the reader's language, with
//! the request id, and changes nothing.

use reqwest::Method;
use serde_json::json;

use crate::support::{ANONYMOUS, PASSWORD, agency, assert_problem, spawn_app};

#[tokio::test]
async fn an_unknown_route_is_a_404_problem() {
    let app = spawn_app().await;
    let problem = assert_problem(app.get("/api/v1/no-such-thing", ANONYMOUS).await, 404, "not-found").await;
    assert_eq!(problem.body["title"], "Ёфт нашуд", "Tajik is the default language");
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem_that_names_the_allowed_ones() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let agencies = app.count_agencies().await;
    let response = app.request(Method::PUT, "/api/v1/admin/agencies", admin.token()).send().await.unwrap();
    let problem = assert_problem(response, 405, "method-not-allowed").await;
    let allow = problem.header("allow").expect("an Allow header");
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    assert_eq!(app.count_agencies().await, agencies);
}

#[tokio::test]
async fn malformed_json_is_a_400_problem_and_creates_nothing() {
    let app = spawn_app().await;
    let users = app.count_users().await;
    let response = app
        .request(Method::POST, "/api/v1/auth/register", ANONYMOUS)
        .header("content-type", "application/json")
        .body(r#"{"email": "a@b.tj", "password": "#)
        .send()
        .await
        .unwrap();
    assert_problem(response, 400, "bad-request").await;
    assert_eq!(app.count_users().await, users);
}

#[tokio::test]
async fn an_unknown_field_is_a_400_problem_that_names_it_and_creates_nothing() {
    let app = spawn_app().await;
    let users = app.count_users().await;
    let body = json!({"email": "ali@example.tj", "password": PASSWORD, "full_name": "Ali", "role": "admin"});
    let problem =
        assert_problem(app.post_json("/api/v1/auth/register", &body, ANONYMOUS).await, 400, "bad-request")
            .await;
    let detail = problem.body["detail"].as_str().unwrap();
    assert!(detail.contains("'role'"), "{detail}");
    assert!(!detail.contains(" in role"), "a top-level field is not inside itself: {detail}");
    assert_eq!(app.count_users().await, users);
}

#[tokio::test]
async fn failed_validation_is_a_422_problem_listing_every_bad_field() {
    let app = spawn_app().await;
    let users = app.count_users().await;
    let body = json!({"email": "not-an-email", "password": "short", "full_name": "  "});
    let problem =
        assert_problem(app.post_json("/api/v1/auth/register", &body, ANONYMOUS).await, 422, "validation")
            .await;
    assert_eq!(problem.error_fields(), ["email", "password", "full_name"]);
    assert_eq!(problem.error_code("email"), Some("invalid"));
    assert_eq!(problem.error_code("password"), Some("too_short"));
    assert_eq!(problem.error_code("full_name"), Some("empty"));
    for error in problem.body["errors"].as_array().unwrap() {
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{error}");
    }
    assert_eq!(app.count_users().await, users);
}

#[tokio::test]
async fn a_missing_or_mistyped_field_is_a_422_naming_it() {
    let app = spawn_app().await;
    let missing = json!({"email": "ali@example.tj", "password": PASSWORD});
    let problem =
        assert_problem(app.post_json("/api/v1/auth/register", &missing, ANONYMOUS).await, 422, "validation")
            .await;
    assert_eq!(problem.error_code("full_name"), Some("required"));
    let mistyped = json!({"email": "ali@example.tj", "password": PASSWORD, "full_name": 42});
    let problem =
        assert_problem(app.post_json("/api/v1/auth/register", &mistyped, ANONYMOUS).await, 422, "validation")
            .await;
    assert_eq!(problem.error_code("full_name"), Some("invalid_type"));
    assert_eq!(app.count_users().await, 0);
}

#[tokio::test]
async fn a_json_body_over_64_kib_is_a_413_problem_and_creates_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let agencies = app.count_agencies().await;
    let mut body = agency("too-big").json();
    body["name_en"] = json!("x".repeat(64 * 1024));
    let response = app.post_json("/api/v1/admin/agencies", &body, admin.token()).await;
    assert_problem(response, 413, "payload-too-large").await;
    assert_eq!(app.count_agencies().await, agencies);
}

#[tokio::test]
async fn a_body_just_under_the_cap_is_read_and_judged_on_its_content() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut body = agency("long-name").json();
    body["name_en"] = json!("x".repeat(60 * 1024));
    // Read, then refused by validation (names are at most 300 characters), not by size.
    let problem = assert_problem(
        app.post_json("/api/v1/admin/agencies", &body, admin.token()).await,
        422,
        "validation",
    )
    .await;
    assert_eq!(problem.error_code("name_en"), Some("too_long"));
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415_problem_and_creates_nothing() {
    let app = spawn_app().await;
    let users = app.count_users().await;
    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let mut request = app
            .request(Method::POST, "/api/v1/auth/register", ANONYMOUS)
            .body(json!({"email": "ali@example.tj", "password": PASSWORD, "full_name": "Ali"}).to_string());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        assert_problem(request.send().await.unwrap(), 415, "unsupported-media-type").await;
    }
    assert_eq!(app.count_users().await, users);
}

#[tokio::test]
async fn a_missing_token_is_a_401_problem_with_a_bearer_challenge() {
    let app = spawn_app().await;
    let problem = assert_problem(app.get("/api/v1/me", ANONYMOUS).await, 401, "unauthorized").await;
    let challenge = problem.header("www-authenticate").expect("WWW-Authenticate");
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert!(!challenge.contains("invalid_token"), "no token is not an invalid token: {challenge}");
}

#[tokio::test]
async fn an_invalid_token_is_a_401_problem_saying_invalid_token_and_changes_nothing() {
    let app = spawn_app().await;
    let agencies = app.count_agencies().await;
    let response =
        app.post_json("/api/v1/admin/agencies", &agency("x-ministry").json(), Some("garbage")).await;
    let problem = assert_problem(response, 401, "unauthorized").await;
    let challenge = problem.header("www-authenticate").expect("WWW-Authenticate");
    assert!(challenge.starts_with("Bearer") && challenge.contains(r#"error="invalid_token""#), "{challenge}");
    assert_eq!(app.count_agencies().await, agencies);
}

#[tokio::test]
async fn an_authorization_header_of_another_scheme_is_a_401_problem() {
    let app = spawn_app().await;
    let response = app
        .request(Method::GET, "/api/v1/me", ANONYMOUS)
        .header("authorization", "Basic YWxpOnNlY3JldA==")
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 401, "unauthorized").await;
    assert!(problem.header("www-authenticate").is_some());
}

#[tokio::test]
async fn a_citizen_calling_the_admin_api_is_a_403_problem_and_changes_nothing() {
    let app = spawn_app().await;
    let citizen = app.citizen().await;
    let (users, agencies) = (app.count_users().await, app.count_agencies().await);
    assert_problem(app.get("/api/v1/admin/users", citizen.token()).await, 403, "forbidden").await;
    assert_problem(app.get("/api/v1/admin/agencies", citizen.token()).await, 403, "forbidden").await;
    let response = app.post_json("/api/v1/admin/agencies", &agency("mine").json(), citizen.token()).await;
    assert_problem(response, 403, "forbidden").await;
    let promote = json!({"email": "boss@example.tj", "full_name": "Boss", "role": "admin"});
    assert_problem(app.post_json("/api/v1/admin/users", &promote, citizen.token()).await, 403, "forbidden")
        .await;
    let myself = format!("/api/v1/admin/users/{}", citizen.user_id);
    let response = app.patch_json(&myself, &json!({"role": "admin"}), citizen.token()).await;
    assert_problem(response, 403, "forbidden").await;
    assert_eq!((app.count_users().await, app.count_agencies().await), (users, agencies));
    assert_eq!(app.stored_user(&citizen.email).await.role, "citizen");
}

#[tokio::test]
async fn too_many_registrations_from_one_address_are_a_429_problem_with_retry_after() {
    let app = spawn_app().await;
    // config/default.toml: 10 registrations per address per hour.
    for n in 0..10 {
        let response = app.register(&format!("person{n}@example.tj"), PASSWORD, "Person").await;
        assert_eq!(response.status(), 201);
    }
    let users = app.count_users().await;
    let problem = assert_problem(
        app.register("one-too-many@example.tj", PASSWORD, "Person").await,
        429,
        "rate-limited",
    )
    .await;
    let retry_after: u64 = problem.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    assert_eq!(app.count_users().await, users);
}

#[tokio::test]
async fn too_many_logins_to_one_account_are_a_429_problem_even_with_the_right_password() {
    let app = spawn_app().await;
    let citizen = app.citizen().await; // one login
    let sessions = app.count_refresh_tokens().await;
    // config/default.toml: 5 logins per account per 5 minutes; the citizen used one.
    for _ in 0..4 {
        let wrong = json!({"email": citizen.email, "password": "not the password at all"});
        let response = app.post_json("/api/v1/auth/login", &wrong, ANONYMOUS).await;
        assert_problem(response, 401, "invalid-credentials").await;
    }
    let right = json!({"email": citizen.email, "password": PASSWORD});
    let problem =
        assert_problem(app.post_json("/api/v1/auth/login", &right, ANONYMOUS).await, 429, "rate-limited")
            .await;
    assert!(problem.header("retry-after").is_some_and(|s| s.parse::<u64>().unwrap() >= 1));
    assert_eq!(app.count_refresh_tokens().await, sessions, "no session was started");
}

#[tokio::test]
async fn titles_follow_accept_language_and_default_to_tajik() {
    let app = spawn_app().await;
    for (accept, title, language) in [
        (None, "Ёфт нашуд", "tg"),
        (Some("tg"), "Ёфт нашуд", "tg"),
        (Some("ru-RU,ru;q=0.9,en;q=0.8"), "Не найдено", "ru"),
        (Some("en-GB"), "Not found", "en"),
        (Some("fr, de;q=0.5"), "Ёфт нашуд", "tg"),
    ] {
        let mut request = app.request(Method::GET, "/nowhere", ANONYMOUS);
        if let Some(accept) = accept {
            request = request.header("accept-language", accept);
        }
        let problem = assert_problem(request.send().await.unwrap(), 404, "not-found").await;
        assert_eq!(problem.body["title"], title, "Accept-Language: {accept:?}");
        assert_eq!(problem.header("content-language"), Some(language));
    }
}

#[tokio::test]
async fn a_clients_request_id_is_echoed_and_quoted_in_the_problem() {
    let app = spawn_app().await;
    let response = app
        .request(Method::GET, "/api/v1/me", ANONYMOUS)
        .header("x-request-id", "support-ticket-42")
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 401, "unauthorized").await;
    assert_eq!(problem.header("x-request-id"), Some("support-ticket-42"));
    assert_eq!(problem.body["request_id"], "support-ticket-42");
}

#[tokio::test]
async fn a_request_id_that_could_forge_log_lines_is_replaced() {
    let app = spawn_app().await;
    let response = app
        .request(Method::GET, "/healthz", ANONYMOUS)
        .header("x-request-id", "evil id with spaces")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let id = response.headers()["x-request-id"].to_str().unwrap();
    assert_ne!(id, "evil id with spaces");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "a fresh UUID: {id}");
}

#[tokio::test]
async fn errors_reveal_nothing_internal() {
    let app = spawn_app().await;
    let response = app
        .request(Method::POST, "/api/v1/auth/login", ANONYMOUS)
        .header("content-type", "application/json")
        .body("[1, 2")
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 400, "bad-request").await;
    let text = problem.body.to_string().to_lowercase();
    for leak in ["sqlx", "sea_orm", "panicked", "backend/", ".rs:"] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
}
