//! Bodies and request rates meant to wear the server down, on every route family that reads a
//! body: an oversized body (with a length or streamed in chunks) is a 413, a body that is not
//! JSON a 415, broken or absurdly nested JSON a 400, and none of them stores anything. The
//! functions worth hammering (sign-in, token refresh, reset mail, guest look-ups) answer 429
//! with Retry-After. (errors.rs covers agencies and registration, limits.rs attachments and
//! the guest status page; tests here cover the rest.)

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::World;
use crate::support::appeals::{complaint, guest_complaint};
use crate::support::{PASSWORD, Session, assert_problem, spawn_app_with};

/// A route that reads a JSON body: method, path, a valid body, and who sends it.
struct JsonRoute {
    method: Method,
    path: String,
    body: Value,
    caller: Option<Session>,
}

fn json_routes(w: &World) -> Vec<JsonRoute> {
    let route = |method, path: &str, body, caller: Option<&Session>| JsonRoute {
        method,
        path: path.to_owned(),
        body,
        caller: caller.cloned(),
    };
    let appeal = w.appeal.url();
    vec![
        route(
            Method::POST,
            "/api/v1/auth/register",
            json!({"email": "new@example.tj", "password": PASSWORD, "full_name": "New"}),
            None,
        ),
        route(
            Method::POST,
            "/api/v1/auth/login",
            json!({"email": w.citizen.email, "password": PASSWORD}),
            None,
        ),
        route(Method::PATCH, "/api/v1/me", json!({"full_name": "Renamed"}), Some(&w.citizen)),
        route(
            Method::POST,
            "/api/v1/admin/users",
            json!({"email": "staff@example.tj", "full_name": "Staff", "role": "admin"}),
            Some(&w.admin),
        ),
        route(
            Method::POST,
            "/api/v1/admin/categories",
            json!({"code": "bulky", "name_tg": "Т", "name_ru": "Т", "name_en": "T"}),
            Some(&w.admin),
        ),
        route(Method::PUT, "/api/v1/admin/calendar/2027", json!({"entries": []}), Some(&w.admin)),
        route(Method::POST, "/api/v1/appeals", complaint(), Some(&w.citizen)),
        route(Method::POST, "/api/v1/public/appeals", guest_complaint(), None),
        route(
            Method::POST,
            "/api/v1/entries",
            json!({"medium": "paper", "appeal": complaint()}),
            Some(&w.official),
        ),
        route(
            Method::POST,
            &format!("{appeal}/actions/message"),
            json!({"text": "Any news?", "version": 1}),
            Some(&w.citizen),
        ),
        route(
            Method::POST,
            "/api/v1/admin/rulesets/1/replay",
            json!({"from": "2026-01-01T00:00:00Z", "until": "2026-02-01T00:00:00Z"}),
            Some(&w.admin),
        ),
    ]
}

impl World {
    async fn send_raw(
        &self,
        route: &JsonRoute,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> reqwest::Response {
        let token = route.caller.as_ref().map(|s| s.access_token.as_str());
        let mut request = self.app.request(route.method.clone(), &route.path, token).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.send().await.unwrap()
    }
}

/// `value` with its first string field made `bytes` long, so the body stays valid JSON.
fn padded(value: &Value, bytes: usize) -> Vec<u8> {
    let mut value = value.clone();
    let field = value.as_object().unwrap().iter().find(|(_, v)| v.is_string()).map(|(k, _)| k.clone());
    match field {
        Some(field) => value[field] = json!("я".repeat(bytes / 2)),
        None => value["padding"] = json!("x".repeat(bytes)),
    }
    serde_json::to_vec(&value).unwrap()
}

#[tokio::test]
async fn oversized_foreign_and_broken_bodies_are_413_415_and_400_problems_on_every_json_route() {
    let w = World::new().await;
    let routes = json_routes(&w);
    let limit = w.app.app.settings.server.json_body_limit_bytes;
    let before = w.snapshot().await;
    for route in &routes {
        let what = format!("{} {}", route.method, route.path);
        let response = w.send_raw(route, Some("application/json"), padded(&route.body, limit + 1)).await;
        assert_problem(response, 413, "payload-too-large").await;

        let valid = serde_json::to_vec(&route.body).unwrap();
        for content_type in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("application/xml"),
            Some("application/jsonp"),
            Some("json"),
        ] {
            let response = w.send_raw(route, content_type, valid.clone()).await;
            let status = response.status();
            assert_eq!(status, 415, "{what} as {content_type:?}");
            assert_problem(response, 415, "unsupported-media-type").await;
        }

        let nested = "[".repeat(60_000);
        let broken: [&[u8]; 8] = [
            b"",
            b"{",
            br#"{"text": "unterminated"#,
            b"[1, 2",
            br#"{"a": 1} {"b": 2}"#,
            b"\xff\xfe{\x00}",
            b"{'single': 'quotes'}",
            nested.as_bytes(),
        ];
        for body in broken {
            let response = w.send_raw(route, Some("application/json"), body.to_vec()).await;
            let status = response.status();
            assert_eq!(status, 400, "{what} with {:?}", String::from_utf8_lossy(&body[..body.len().min(20)]));
            assert_problem(response, 400, "bad-request").await;
        }
    }
    assert_eq!(w.snapshot().await, before, "a refused body changed something");
    // The server is still well: the same valid bodies are read and acted on.
    let response =
        w.send_raw(&routes[2], Some("application/json"), serde_json::to_vec(&routes[2].body).unwrap()).await;
    assert_eq!(response.status(), 200);
}

/// Sends a request whose body comes in chunks, with no Content-Length to refuse it by.
async fn send_chunked(w: &World, path: &str, token: &str, chunks: usize, chunk: &[u8]) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(w.app.addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        w.app.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for _ in 0..chunks {
        let frame = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
        // The server may answer and close before the whole body is sent.
        if stream.write_all(&frame).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn a_body_streamed_in_chunks_past_the_limit_is_a_413_problem_and_stores_nothing() {
    let w = World::new().await;
    let before = w.snapshot().await;
    let chunk = format!("{{\"pad\": \"{}\"", "x".repeat(4096));
    let (status, text) =
        send_chunked(&w, "/api/v1/appeals", &w.citizen.access_token, 64, chunk.as_bytes()).await;
    assert_eq!(status, 413, "{text}");
    assert!(text.to_ascii_lowercase().contains("content-type: application/problem+json"), "{text}");
    assert!(text.contains("/problems/payload-too-large"), "{text}");
    assert_eq!(w.snapshot().await, before);
    // A small chunked body is read like any other.
    let body = complaint().to_string();
    let (status, text) =
        send_chunked(&w, "/api/v1/appeals", &w.citizen.access_token, 1, body.as_bytes()).await;
    assert_eq!(status, 201, "{text}");
}

#[tokio::test]
async fn a_ruleset_body_that_is_too_large_of_another_type_or_not_toml_is_refused_and_saves_nothing() {
    let w = World::new().await;
    let before = w.snapshot().await;
    let send = |content_type: &str, body: Vec<u8>| {
        w.app
            .request(Method::POST, "/api/v1/admin/rulesets", w.admin.token())
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let limit = w.app.app.settings.server.ruleset_body_limit_bytes;
    let big = format!("fallback_agency = \"president-office\"\n# {}\n", "x".repeat(limit));
    assert_problem(send("application/toml", big.into_bytes()).await.unwrap(), 413, "payload-too-large").await;
    for content_type in ["image/png", "application/x-www-form-urlencoded", "application/xml"] {
        let response =
            send(content_type, b"fallback_agency = \"president-office\"\n".to_vec()).await.unwrap();
        assert_problem(response, 415, "unsupported-media-type").await;
    }
    assert_problem(send("application/toml", b"\xff\xfe\x00".to_vec()).await.unwrap(), 400, "bad-request")
        .await;
    // Not TOML at all, or JSON that is not a ruleset: validation findings (422), never a 500.
    for (content_type, body) in
        [("application/toml", "[[[rule"), ("application/json", "{\"rule\": 5"), ("application/json", "[]")]
    {
        let response = send(content_type, body.as_bytes().to_vec()).await.unwrap();
        assert_problem(response, 422, "validation").await;
    }
    assert_eq!(w.snapshot().await, before);
}

/// Retry-After is whole seconds, at least one, at most the limit's window.
fn retry_after(problem: &crate::support::Problem, window_secs: u64) -> u64 {
    let secs: u64 = problem.header("retry-after").expect("Retry-After").parse().expect("seconds");
    assert!((1..=window_secs).contains(&secs), "{secs}");
    secs
}

#[tokio::test]
async fn sign_ins_from_one_address_are_limited_across_accounts_with_429_and_retry_after() {
    let app = spawn_app_with(|f| f.merge(("rate_limit.login_per_ip.burst", 4))).await;
    let email = app.unique_email("citizen");
    assert_eq!(app.register(&email, PASSWORD, "Ali").await.status(), 201);
    let sessions = app.count_refresh_tokens().await;
    // Guessing at four different accounts, each tried once: the per-account limit never
    // bites, the per-address one does.
    for n in 0..4 {
        let guess = json!({"email": format!("victim{n}@example.tj"), "password": "password123"});
        assert_problem(app.post_json("/api/v1/auth/login", &guess, None).await, 401, "invalid-credentials")
            .await;
    }
    let right = json!({"email": email, "password": PASSWORD});
    let problem =
        assert_problem(app.post_json("/api/v1/auth/login", &right, None).await, 429, "rate-limited").await;
    retry_after(&problem, 60);
    assert_eq!(app.count_refresh_tokens().await, sessions, "no session was started");
}

/// Behind a trusted reverse proxy each client the proxy names has its own allowance; from
/// anyone else `X-Forwarded-For` is ignored, so writing it buys no new allowance, and a
/// client's own entry before the proxy's is never read.
#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_sign_in_allowance() {
    let guess = |n: usize| json!({"email": format!("victim{n}@example.tj"), "password": "password123"});
    let attempt = |app: &crate::support::TestApp, n: usize, forwarded: &str| {
        app.request(Method::POST, "/api/v1/auth/login", None)
            .header("x-forwarded-for", forwarded.to_owned())
            .json(&guess(n))
            .send()
    };
    // Nobody is trusted: three "clients" are one address, the test's.
    let app = spawn_app_with(|f| f.merge(("rate_limit.login_per_ip.burst", 2))).await;
    for (n, forwarded) in ["198.51.100.1", "198.51.100.2"].into_iter().enumerate() {
        assert_eq!(attempt(&app, n, forwarded).await.unwrap().status(), 401);
    }
    let response = attempt(&app, 2, "198.51.100.3").await.unwrap();
    assert_problem(response, 429, "rate-limited").await;

    // The test's address is a trusted proxy: each forwarded client counts for itself.
    let app = spawn_app_with(|f| {
        f.merge(("rate_limit.login_per_ip.burst", 2)).merge(("server.trusted_proxies", ["127.0.0.1"]))
    })
    .await;
    for n in 0..2 {
        assert_eq!(attempt(&app, n, "198.51.100.1").await.unwrap().status(), 401);
    }
    let spoofed = attempt(&app, 2, "6.6.6.6, 198.51.100.1").await.unwrap();
    assert_problem(spoofed, 429, "rate-limited").await;
    assert_eq!(attempt(&app, 3, "198.51.100.2").await.unwrap().status(), 401, "another client");
}

#[tokio::test]
async fn refreshes_and_reset_mails_from_one_address_are_limited_with_429_and_retry_after() {
    let app = spawn_app_with(|f| {
        f.merge(("rate_limit.refresh_per_ip.burst", 3)).merge(("rate_limit.account_mail_per_ip.burst", 2))
    })
    .await;
    let citizen = app.citizen().await;
    for n in 0..3 {
        let body = json!({"refresh_token": format!("guess-{n}")});
        assert_problem(app.post_json("/api/v1/auth/refresh", &body, None).await, 401, "unauthorized").await;
    }
    let sessions = app.count_refresh_tokens().await;
    let body = json!({"refresh_token": citizen.refresh_token});
    let problem =
        assert_problem(app.post_json("/api/v1/auth/refresh", &body, None).await, 429, "rate-limited").await;
    retry_after(&problem, 60);
    assert_eq!(app.count_refresh_tokens().await, sessions, "the genuine refresh token was not spent");

    let mails = app.outbox_count().await;
    for _ in 0..2 {
        let body = json!({"email": citizen.email});
        assert_eq!(app.post_json("/api/v1/auth/password-reset", &body, None).await.status(), 202);
    }
    assert_eq!(app.outbox_count().await, mails + 2);
    let body = json!({"email": citizen.email});
    let problem =
        assert_problem(app.post_json("/api/v1/auth/password-reset", &body, None).await, 429, "rate-limited")
            .await;
    retry_after(&problem, 900);
    // The same budget covers new confirmation links, which send mail too.
    let problem = assert_problem(
        app.request(Method::POST, "/api/v1/me/verify-email", citizen.token()).send().await.unwrap(),
        429,
        "rate-limited",
    )
    .await;
    retry_after(&problem, 900);
    assert_eq!(app.outbox_count().await, mails + 2, "no mail was queued past the limit");
}

#[tokio::test]
async fn guest_lookups_share_one_limit_across_status_timeline_and_actions() {
    let w = World::with(|f| f.merge(("rate_limit.guest_lookup_per_ip.burst", 3))).await;
    let guest = w.app.files_as_guest(&guest_complaint()).await;
    let code = guest.access_code.clone().unwrap();
    for path in [guest.public_url(), format!("{}/timeline", guest.public_url())] {
        assert_eq!(w.app.guest_get(&path, Some(&code)).await.status(), 200);
    }
    let message = |text: &str| {
        w.app
            .request(Method::POST, &format!("{}/actions/message", guest.public_url()), None)
            .header("X-Access-Code", &code)
            .json(&json!({"text": text, "version": 1}))
            .send()
    };
    assert_eq!(message("first").await.unwrap().status(), 200);
    let events = w.app.count_events().await;
    // The budget is spent: each route, with the right code, now waits.
    for path in [guest.public_url(), format!("{}/timeline", guest.public_url())] {
        let problem = assert_problem(w.app.guest_get(&path, Some(&code)).await, 429, "rate-limited").await;
        retry_after(&problem, 60);
    }
    let problem = assert_problem(message("second").await.unwrap(), 429, "rate-limited").await;
    retry_after(&problem, 60);
    assert_eq!(w.app.count_events().await, events, "the second message was not taken");
}

#[tokio::test]
async fn a_nul_character_in_a_query_or_a_json_string_is_refused_before_it_reaches_the_database() {
    let w = World::new().await;
    let before = w.snapshot().await;
    for (path, who) in [
        ("/api/v1/queue?q=water%00", &w.official),
        ("/api/v1/queue?category=%00", &w.official),
        ("/api/v1/admin/users?q=%00", &w.admin),
        ("/api/v1/admin/rulesets?cursor=%00", &w.admin),
        ("/api/v1/reports/deadlines?agency=%00", &w.supervisor),
    ] {
        assert_problem(w.app.get(path, who.token()).await, 400, "bad-request").await;
    }
    // Inside a cursor's base64 (here `"\u0000"`) the NUL is not spelled %00; it still shows
    // the cursor is not one of ours.
    for list in ["agencies", "users", "territories", "categories"] {
        let path = format!("/api/v1/admin/{list}?cursor=Ilx1MDAwMCI");
        let problem = assert_problem(w.app.get(&path, w.admin.token()).await, 422, "validation").await;
        assert_eq!(problem.error_fields(), ["cursor"], "{path}");
    }
    let sign_in = json!({"email": "ali\u{0}@example.tj", "password": PASSWORD});
    let cases = [
        (Method::POST, "/api/v1/auth/login".to_owned(), sign_in, None, "email"),
        (
            Method::PATCH,
            "/api/v1/me".to_owned(),
            json!({"full_name": "Ali\u{0}"}),
            Some(&w.citizen),
            "full_name",
        ),
        (
            Method::POST,
            "/api/v1/appeals".to_owned(),
            {
                let mut body = complaint();
                body["subject"] = json!("Об\u{0}нест");
                body
            },
            Some(&w.citizen),
            "subject",
        ),
        (
            Method::POST,
            format!("{}/actions/message", w.appeal.url()),
            json!({"text": "\u{0}", "version": 1}),
            Some(&w.citizen),
            "text",
        ),
        (
            Method::POST,
            "/api/v1/admin/categories".to_owned(),
            json!({"code": "nul", "name_tg": "Т", "name_ru": "Т\u{0}", "name_en": "T"}),
            Some(&w.admin),
            "name_ru",
        ),
    ];
    for (method, path, body, who, field) in cases {
        // serde_json writes the NUL as the escape \u0000, as any client would.
        let text = body.to_string();
        assert!(text.contains("\\u0000"), "{text}");
        let mut request = w.app.request(method, &path, who.map(|s| s.access_token.as_str()));
        request = request.header("content-type", "application/json").body(text);
        let problem = assert_problem(request.send().await.unwrap(), 422, "validation").await;
        assert_eq!(problem.error_fields(), [field], "{path}");
        assert_eq!(problem.error_code(field), Some("invalid"));
    }
    assert_eq!(w.snapshot().await, before, "a NUL reached the database");
}
