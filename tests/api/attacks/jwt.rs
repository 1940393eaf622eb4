//! Forged, broken and missing access tokens against one representative route of every router
//! that needs a token (tokens.rs tries the same attacks on `/api/v1/me` alone). Every attempt
//! is a 401 problem with the bearer challenge and changes nothing; the same request with an
//! honest token then gets its normal answer, so each refusal is the token's doing.
//!
//! Not here because they need no token: `/healthz`, `/readyz`, `/metrics` (scraped by
//! Prometheus inside the deployment), `/.well-known/jwks.json`, the public appeal routes and
//! the reference lists.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

use super::World;
use crate::support::appeals::{complaint, pdf};
use crate::support::{PASSWORD, Session, agency, assert_problem};

/// What a route is sent.
#[derive(Clone)]
enum Body {
    None,
    Json(Value),
    Pdf,
}

/// One representative route, who may call it, and what an honest call answers.
struct Route {
    family: &'static str,
    method: Method,
    path: String,
    body: Body,
    caller: Session,
    role: &'static str,
    honest: u16,
}

/// The routes, in the order their honest calls may run (the last ones change accounts).
fn routes(w: &World) -> Vec<Route> {
    let appeal = &w.appeal.id;
    let citizen = |family, method, path: String, body, honest| Route {
        family,
        method,
        path,
        body,
        caller: w.citizen.clone(),
        role: "citizen",
        honest,
    };
    let admin = |family, method, path: String, body, honest| Route {
        family,
        method,
        path,
        body,
        caller: w.admin.clone(),
        role: "admin",
        honest,
    };
    let official = |family, method, path: String, body, honest| Route {
        family,
        method,
        path,
        body,
        caller: w.official.clone(),
        role: "official",
        honest,
    };
    let category =
        json!({"code": "forged-topic", "name_tg": "Мавзӯъ", "name_ru": "Тема", "name_en": "Topic"});
    vec![
        citizen("me", Method::GET, "/api/v1/me".into(), Body::None, 200),
        citizen(
            "me",
            Method::PATCH,
            "/api/v1/me".into(),
            Body::Json(json!({"full_name": "Someone Else"})),
            200,
        ),
        admin("admin", Method::GET, "/api/v1/admin/users".into(), Body::None, 200),
        admin(
            "admin",
            Method::POST,
            "/api/v1/admin/agencies".into(),
            Body::Json(agency("forged-agency").json()),
            201,
        ),
        admin("outbox", Method::GET, "/api/v1/admin/outbox".into(), Body::None, 200),
        admin(
            "outbox",
            Method::POST,
            format!("/api/v1/admin/outbox/{}/requeue", uuid::Uuid::now_v7()),
            Body::None,
            404,
        ),
        admin("calendar", Method::GET, "/api/v1/admin/calendar/2026".into(), Body::None, 200),
        admin(
            "calendar",
            Method::PUT,
            "/api/v1/admin/calendar/2027".into(),
            Body::Json(json!({"entries": []})),
            200,
        ),
        citizen("appeals", Method::GET, "/api/v1/appeals".into(), Body::None, 200),
        citizen("appeals", Method::POST, "/api/v1/appeals".into(), Body::Json(complaint()), 201),
        official(
            "appeals",
            Method::POST,
            "/api/v1/entries".into(),
            Body::Json(json!({"medium": "paper", "appeal": complaint()})),
            201,
        ),
        official("queue", Method::GET, "/api/v1/queue".into(), Body::None, 200),
        citizen("attachments", Method::GET, format!("/api/v1/appeals/{appeal}/attachments"), Body::None, 200),
        citizen(
            "attachments",
            Method::POST,
            format!("/api/v1/appeals/{appeal}/attachments?file_name=a.pdf"),
            Body::Pdf,
            201,
        ),
        admin("rulesets", Method::GET, "/api/v1/admin/rulesets".into(), Body::None, 200),
        citizen(
            "appeals",
            Method::POST,
            format!("/api/v1/appeals/{appeal}/actions/withdraw"),
            Body::Json(json!({"version": 2})),
            200,
        ),
        official("rulesets", Method::GET, format!("/api/v1/appeals/{appeal}/routing"), Body::None, 200),
        admin("reference", Method::POST, "/api/v1/admin/categories".into(), Body::Json(category), 201),
        admin("reference", Method::DELETE, "/api/v1/admin/territories/sughd-khujand".into(), Body::None, 204),
        Route {
            family: "reports",
            method: Method::GET,
            path: "/api/v1/reports/deadlines".into(),
            body: Body::None,
            caller: w.supervisor.clone(),
            role: "supervisor",
            honest: 200,
        },
        citizen(
            "me",
            Method::POST,
            "/api/v1/me/password".into(),
            Body::Json(json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"})),
            204,
        ),
        admin(
            "admin",
            Method::PATCH,
            format!("/api/v1/admin/users/{}", w.citizen.user_id),
            Body::Json(json!({"role": "admin"})),
            200,
        ),
    ]
}

/// The claims the server itself would sign for `user` in `role` now.
fn claims(w: &World, user: &Session, role: &str) -> Value {
    let now = w.app.clock_now().timestamp();
    json!({
        "iss": "murojiat", "aud": "murojiat-api", "sub": user.user_id, "role": role,
        "iat": now, "nbf": now, "exp": now + 900,
    })
}

fn signed_by_server(w: &World, claims: &Value, kid: Option<&str>) -> String {
    let keys = w.app.app.tokens.keys();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.unwrap_or(&keys.signing_kid).to_owned());
    jsonwebtoken::encode(&header, claims, &keys.encoding).unwrap()
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// Every forged or broken `Authorization` header for `route`, by name. `None` sends none.
fn attacks(w: &World, route: &Route) -> Vec<(&'static str, Option<String>)> {
    let genuine = claims(w, &route.caller, route.role);
    let keys = w.app.app.tokens.keys();
    let bearer = |token: String| Some(format!("Bearer {token}"));
    let with = |field: &str, value: Value| {
        let mut c = genuine.clone();
        c[field] = value;
        c
    };
    let now = w.app.clock_now().timestamp();
    let expired = json!({
        "iss": "murojiat", "aud": "murojiat-api", "sub": route.caller.user_id, "role": route.role,
        "iat": now - 1000, "nbf": now - 1000, "exp": now - 100,
    });
    let none_header = json!({"alg": "none", "typ": "JWT", "kid": keys.signing_kid});
    let mut hs256 = Header::new(Algorithm::HS256);
    hs256.kid = Some(keys.signing_kid.clone());
    let public = keys.verifying[0].public;
    let hs256_token =
        jsonwebtoken::encode(&hs256, &genuine, &EncodingKey::from_secret(&public).unwrap()).unwrap();
    // A citizen's genuine header and signature around an administrator's claims.
    let [header, _, signature]: [&str; 3] =
        w.citizen.access_token.split('.').collect::<Vec<_>>().try_into().unwrap();
    let escalated = claims(w, &w.admin, "admin");
    let tampered = format!("{header}.{}.{signature}", b64(&escalated));
    vec![
        ("alg none", bearer(format!("{}.{}.", b64(&none_header), b64(&genuine)))),
        ("HS256 keyed with the public key", bearer(hs256_token)),
        ("wrong issuer", bearer(signed_by_server(w, &with("iss", json!("someone-else")), None))),
        ("wrong audience", bearer(signed_by_server(w, &with("aud", json!("another-api")), None))),
        ("expired", bearer(signed_by_server(w, &expired, None))),
        ("tampered payload (citizen to admin)", bearer(tampered)),
        ("unknown kid", bearer(signed_by_server(w, &genuine, Some("0123456789abcdef")))),
        ("not a JWT", bearer("not-a-token".into())),
        ("two segments", bearer(format!("{}.{}", b64(&none_header), b64(&genuine)))),
        ("bearer without a token", Some("Bearer".into())),
        ("another scheme", Some(format!("Basic {}", URL_SAFE_NO_PAD.encode("admin:demo-admin-2026")))),
        ("the right token without a scheme", Some(route.caller.access_token.clone())),
        ("no token", None),
    ]
}

fn request(w: &World, route: &Route, authorization: Option<&str>) -> RequestBuilder {
    let mut request = w.app.request(route.method.clone(), &route.path, None);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    match &route.body {
        Body::None => request,
        Body::Json(body) => request.json(body),
        Body::Pdf => request.header("content-type", "application/octet-stream").body(pdf("forged")),
    }
}

#[tokio::test]
async fn forged_broken_and_missing_tokens_are_401s_on_every_protected_route_family_and_change_nothing() {
    let w = World::new().await;
    let routes = routes(&w);
    let families: std::collections::BTreeSet<_> = routes.iter().map(|r| r.family).collect();
    assert_eq!(
        families.into_iter().collect::<Vec<_>>(),
        [
            "admin",
            "appeals",
            "attachments",
            "calendar",
            "me",
            "outbox",
            "queue",
            "reference",
            "reports",
            "rulesets"
        ],
    );
    let before = w.snapshot().await;
    for route in &routes {
        for (attack, authorization) in attacks(&w, route) {
            let response = request(&w, route, authorization.as_deref()).send().await.unwrap();
            let what = format!("{} {} with {attack}", route.method, route.path);
            assert_eq!(response.status(), 401, "{what}");
            let problem = assert_problem(response, 401, "unauthorized").await;
            let challenge = problem.header("www-authenticate").unwrap_or_default().to_owned();
            assert!(challenge.starts_with(r#"Bearer realm="murojiat""#), "{what}: {challenge}");
            // RFC 6750 section 3.1: a request without credentials gets the challenge without
            // an error code; every token sent and refused is an invalid_token.
            let invalid = challenge.contains(r#"error="invalid_token""#);
            assert_eq!(invalid, authorization.is_some(), "{what}: {challenge}");
        }
    }
    assert_eq!(w.snapshot().await, before, "an attack changed something");
    // The same requests with the caller's own token get their usual answers.
    for route in &routes {
        let authorization = format!("Bearer {}", route.caller.access_token);
        let response = request(&w, route, Some(&authorization)).send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert_eq!(status, route.honest, "{} {} with an honest token: {text}", route.method, route.path);
    }
}
