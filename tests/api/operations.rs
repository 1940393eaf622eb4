//! What operators and client developers rely on: health checks, metrics, the published keys
//! and the OpenAPI contract.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::Value;

use crate::support::{ANONYMOUS, spawn_app};

/// Every operation the API serves. A route added to the router but not to the document (or
/// the other way round) fails `the_openapi_document_lists_every_route`.
const ROUTES: &[(&str, &str)] = &[
    ("get", "/.well-known/jwks.json"),
    ("get", "/api/v1/admin/agencies"),
    ("post", "/api/v1/admin/agencies"),
    ("get", "/api/v1/admin/agencies/{id}"),
    ("patch", "/api/v1/admin/agencies/{id}"),
    ("get", "/api/v1/admin/outbox"),
    ("post", "/api/v1/admin/outbox/{id}/requeue"),
    ("delete", "/api/v1/admin/agencies/{id}"),
    ("get", "/api/v1/admin/rulesets"),
    ("post", "/api/v1/admin/rulesets"),
    ("get", "/api/v1/admin/rulesets/{version}"),
    ("post", "/api/v1/admin/rulesets/{version}/activate"),
    ("post", "/api/v1/admin/rulesets/{version}/replay"),
    ("post", "/api/v1/admin/rulesets/{version}/simulate"),
    ("get", "/api/v1/admin/calendar/{year}"),
    ("put", "/api/v1/admin/calendar/{year}"),
    ("get", "/api/v1/admin/categories"),
    ("post", "/api/v1/admin/categories"),
    ("get", "/api/v1/admin/categories/{code}"),
    ("patch", "/api/v1/admin/categories/{code}"),
    ("delete", "/api/v1/admin/categories/{code}"),
    ("get", "/api/v1/admin/territories"),
    ("post", "/api/v1/admin/territories"),
    ("get", "/api/v1/admin/territories/{code}"),
    ("patch", "/api/v1/admin/territories/{code}"),
    ("delete", "/api/v1/admin/territories/{code}"),
    ("get", "/api/v1/admin/users"),
    ("post", "/api/v1/admin/users"),
    ("get", "/api/v1/admin/users/{id}"),
    ("patch", "/api/v1/admin/users/{id}"),
    ("get", "/api/v1/appeals"),
    ("post", "/api/v1/appeals"),
    ("get", "/api/v1/appeals/{id}"),
    ("post", "/api/v1/appeals/{id}/actions/{action}"),
    ("get", "/api/v1/appeals/{id}/attachments"),
    ("post", "/api/v1/appeals/{id}/attachments"),
    ("get", "/api/v1/appeals/{id}/attachments/{attachment_id}"),
    ("get", "/api/v1/appeals/{id}/routing"),
    ("get", "/api/v1/appeals/{id}/timeline"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/auth/password-reset"),
    ("post", "/api/v1/auth/password-reset/confirm"),
    ("post", "/api/v1/auth/verify-email"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/register"),
    ("get", "/api/v1/categories"),
    ("post", "/api/v1/entries"),
    ("get", "/api/v1/me"),
    ("patch", "/api/v1/me"),
    ("post", "/api/v1/me/password"),
    ("post", "/api/v1/me/verify-email"),
    ("post", "/api/v1/public/appeals"),
    ("get", "/api/v1/public/appeals/{tracking_number}"),
    ("post", "/api/v1/public/appeals/{tracking_number}/actions/{action}"),
    ("get", "/api/v1/public/appeals/{tracking_number}/timeline"),
    ("get", "/api/v1/queue"),
    ("get", "/api/v1/reports/deadlines"),
    ("get", "/api/v1/reports/overdue"),
    ("get", "/api/v1/reports/trend"),
    ("get", "/api/v1/territories"),
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("get", "/readyz"),
];

#[tokio::test]
async fn healthz_says_the_process_is_alive() {
    let app = spawn_app().await;
    let response = app.get("/healthz", ANONYMOUS).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["status"], "ok");
}

#[tokio::test]
async fn readyz_says_the_database_is_reachable_and_migrated() {
    let app = spawn_app().await;
    let response = app.get("/readyz", ANONYMOUS).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["status"], "ok");
    // Revert a migration behind the server's back: it is no longer ready.
    app.db.migrate_down(1).await.unwrap();
    let response = app.get("/readyz", ANONYMOUS).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn metrics_count_requests_by_matched_route_not_by_raw_path() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.get("/api/v1/admin/agencies/0197a000-0000-7000-8000-000000000001", admin.token()).await;
    app.get("/api/v1/admin/agencies/0197a000-0000-7000-8000-000000000002", admin.token()).await;
    app.get("/no/such/page", ANONYMOUS).await;
    let response = app.get("/metrics", ANONYMOUS).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = response.text().await.unwrap();
    assert!(
        text.contains(
            r#"http_requests_total{method="GET",route="/api/v1/admin/agencies/{id}",status="404"} 2"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"http_requests_total{method="POST",route="/api/v1/auth/login",status="200"} 1"#));
    assert!(text.contains(r#"route="unmatched",status="404"} 1"#), "{text}");
    assert!(!text.contains("0197a000"), "ids never become label values");
    assert!(text.contains("# TYPE http_request_duration_seconds histogram"));
}

#[tokio::test]
async fn the_jwks_publishes_the_key_that_signs_access_tokens() {
    let app = spawn_app().await;
    let citizen = app.citizen().await;
    let header = citizen.access_token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    let jwks: Value = app.get("/.well-known/jwks.json", ANONYMOUS).await.json().await.unwrap();
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the signing key is published");
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str(), key["alg"].as_str()),
        (Some("OKP"), Some("Ed25519"), Some("EdDSA"))
    );
    assert_eq!(key["use"], "sig");
    let x = URL_SAFE_NO_PAD.decode(key["x"].as_str().unwrap()).unwrap();
    assert_eq!(x, app.app.tokens.keys().verifying[0].public);
    assert!(key.get("d").is_none(), "never the private part");
}

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let app = spawn_app().await;
    let response = app.get("/api/v1/openapi.json", ANONYMOUS).await;
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object().unwrap().keys().map(move |method| (method.clone(), path.clone()))
        })
        .collect();
    let expected: BTreeSet<(String, String)> =
        ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    assert_eq!(documented, expected);

    // Every documented operation is served: the router matches it (no 405, and the metrics
    // name the route) and documents the problem responses it can give.
    for (method, path) in ROUTES {
        let concrete = concrete_path(path);
        let method: Method = method.to_uppercase().parse().unwrap();
        let response = app.request(method.clone(), &concrete, ANONYMOUS).send().await.unwrap();
        assert_ne!(response.status(), 405, "{method} {path}");
        let operation = &doc["paths"][path][method.as_str().to_lowercase()];
        assert!(operation["responses"].get("500").is_some(), "{method} {path} documents its errors");
    }
    let metrics = app.get("/metrics", ANONYMOUS).await.text().await.unwrap();
    for (method, path) in ROUTES {
        let label = format!(r#"method="{}",route="{path}""#, method.to_uppercase());
        assert!(metrics.contains(&label), "{label} was not matched");
    }
}

#[tokio::test]
async fn the_openapi_document_describes_problems_and_bearer_auth() {
    let app = spawn_app().await;
    let doc: Value = app.get("/api/v1/openapi.json", ANONYMOUS).await.json().await.unwrap();
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    let me = &doc["paths"]["/api/v1/me"]["get"];
    assert!(me["responses"]["401"].is_object(), "{me}");
    let register = &doc["paths"]["/api/v1/auth/register"]["post"];
    for status in ["400", "413", "415", "422", "429"] {
        assert!(register["responses"][status].is_object(), "register documents {status}");
    }
}

#[tokio::test]
async fn the_docs_page_is_served_from_the_binary() {
    let app = spawn_app().await;
    let response = app.get("/docs/", ANONYMOUS).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = response.text().await.unwrap();
    assert!(html.contains("swagger"), "the Swagger UI page");
    assert!(!html.contains("cdn") && !html.contains("unpkg"), "no CDN: {html}");
    let bare = app.get("/docs", ANONYMOUS).await;
    assert!(bare.status().is_redirection() || bare.status() == 200);
}

/// A documented path with its parameters filled in with well-formed values.
fn concrete_path(path: &str) -> String {
    path.replace("{id}", "0197a000-0000-7000-8000-000000000001")
        .replace("{attachment_id}", "0197a000-0000-7000-8000-000000000002")
        .replace("{tracking_number}", "TJ-0000-0000-0")
        .replace("{action}", "answer")
        .replace("{version}", "1")
        .replace("{year}", "2026")
        .replace("{code}", "water")
}

/// Past `server.max_in_flight_requests` a request is answered at once with 503 and
/// Retry-After instead of waiting in memory (the load harness once saw the server grow past
/// 1 GiB while 25,000 filings queued for database connections); probes are still answered,
/// and the next request after a permit is free is served.
#[tokio::test]
async fn a_request_past_the_in_flight_limit_is_a_503_at_once_and_probes_still_answer() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = crate::support::spawn_app_with(|f| {
        f.merge(figment::providers::Serialized::default("server.max_in_flight_requests", 1))
    })
    .await;
    // One request held in flight: its headers promise a body that has not arrived yet.
    let body = br#"{"email":"held@example.tj","password":"not-the-password"}"#;
    let mut held = tokio::net::TcpStream::connect(app.addr).await.expect("a connection");
    let head = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nhost: murojiat\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    held.write_all(head.as_bytes()).await.unwrap();
    held.write_all(&body[..1]).await.unwrap();

    // Until the held request has its permit, another one may still get in; from then on,
    // every other request is refused at once.
    let mut refused = None;
    for _ in 0..1000 {
        let response = app.request(Method::GET, "/api/v1/categories", ANONYMOUS).send().await.unwrap();
        if response.status() == 503 {
            refused = Some(response);
            break;
        }
        tokio::task::yield_now().await;
    }
    let refused = refused.expect("a request past the limit is refused");
    let problem = crate::support::assert_problem(refused, 503, "unavailable").await;
    assert_eq!(problem.header("retry-after"), Some("1"));
    let health = app.request(Method::GET, "/healthz", ANONYMOUS).send().await.unwrap();
    assert_eq!(health.status(), 200, "probes are never refused");

    // The held request completes (a wrong password: 401) and frees its permit.
    held.write_all(&body[1..]).await.unwrap();
    let mut answer = String::new();
    held.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    let after = app.request(Method::GET, "/api/v1/categories", ANONYMOUS).send().await.unwrap();
    assert_eq!(after.status(), 200);
}

/// `serve` on port 0 with the port overridden: what it prints names the address it actually
/// listens on, not the configured public address that emails link to.
#[test]
fn serve_prints_the_address_it_listens_on() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_murojiat"))
        .args(["--env", "test", "serve"])
        .env("MUROJIAT_DATABASE__URL", format!("sqlite://{}", path("murojiat.db")))
        .env("MUROJIAT_SERVER__HOST", "127.0.0.1")
        .env("MUROJIAT_SERVER__PORT", "0")
        .env("MUROJIAT_SERVER__PUBLIC_URL", "https://murojiat.example.tj")
        .env("MUROJIAT_AUTH__SIGNING_KEY_FILE", path("key.pem"))
        .env("MUROJIAT_APPEALS__ATTACHMENTS_DIR", path("attachments"))
        .env("MUROJIAT_MAIL__FILE_DIR", path("mail"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the binary runs");
    let lines: Vec<String> =
        BufReader::new(child.stdout.take().unwrap()).lines().map_while(Result::ok).take(5).collect();
    child.kill().unwrap();
    child.wait().unwrap();
    let listening =
        lines.iter().find_map(|l| l.strip_prefix("Murojiat is listening on ")).expect("the banner");
    let port: u16 =
        listening.strip_prefix("http://127.0.0.1:").and_then(|p| p.parse().ok()).expect("an address");
    assert_ne!(port, 0, "the port actually bound");
    assert!(lines.contains(&format!("  API docs:  http://127.0.0.1:{port}/docs")), "{lines:?}");
    assert!(
        lines.contains(&"  Links in emails point to https://murojiat.example.tj".to_owned()),
        "{lines:?}"
    );
}
