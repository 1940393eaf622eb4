//! Done-when 3: every appeal route × every kind of reader gives exactly the status in one
//! table, a denied read is a 404 (never a 403), and no response carries what its reader may
//! not see.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::appeals::{
    Filed, GOVERNMENT, OTHER_AGENCY, RECEPTION, complaint, guest_complaint, pdf, spawn_appeals_app_with,
};
use crate::support::{Session, TestApp};

/// Who asks. Guests have no account; the citizen appeal's routes are behind a bearer token,
/// the guest appeal's behind its tracking number and X-Access-Code.
const READERS: [&str; 9] = [
    "owner",
    "other_citizen",
    "guest_with_code",
    "guest_without_code",
    "guest_wrong_code",
    "official",
    "other_official",
    "parent_supervisor",
    "admin",
];

/// Expected answers. `200+` is a 200 whose list holds the appeal, `200-` one that does not.
/// The first block is about the citizen's appeal (filed by `owner`, routed to the
/// reception); the second about a guest's appeal (the guest holds its access code).
/// `official` works at the reception, `other_official` at a sibling agency,
/// `parent_supervisor` supervises the agency both belong to.
#[rustfmt::skip]
const MATRIX: &[(&str, [&str; 9])] = &[
    //                          owner   other  g+code g-none g-wrong official other-off parent-sup admin
    ("GET appeal",              ["200", "404", "401", "401", "401", "200", "404", "200", "404"]),
    ("GET timeline",            ["200", "404", "401", "401", "401", "200", "404", "200", "404"]),
    ("POST action message",     ["200", "404", "401", "401", "401", "200", "404", "200", "404"]),
    ("POST action note",        ["403", "404", "401", "401", "401", "200", "404", "200", "404"]),
    ("GET attachments",         ["200", "404", "401", "401", "401", "200", "404", "200", "404"]),
    ("POST attachment",         ["201", "404", "401", "401", "401", "201", "404", "201", "404"]),
    ("GET attachment file",     ["200", "404", "401", "401", "401", "200", "404", "200", "404"]),
    ("GET my appeals",          ["200+", "200-", "401", "401", "401", "403", "403", "403", "403"]),
    ("GET queue",               ["403", "403", "401", "401", "401", "200+", "200-", "200+", "403"]),
    // The guest's appeal, by tracking number and access code.
    ("GET public appeal",       ["404", "404", "200", "404", "404", "404", "404", "404", "404"]),
    ("GET public timeline",     ["404", "404", "200", "404", "404", "404", "404", "404", "404"]),
    ("POST public message",     ["404", "404", "200", "404", "404", "404", "404", "404", "404"]),
    // Filing: citizens file for themselves, staff enter oral and paper appeals, anyone may
    // file as a guest (a token is ignored there), and an administrator files nothing.
    ("POST appeals",            ["201", "201", "401", "401", "401", "403", "403", "403", "403"]),
    ("POST entries",            ["403", "403", "401", "401", "401", "201", "201", "201", "403"]),
    ("POST public appeals",     ["201", "201", "201", "201", "201", "201", "201", "201", "201"]),
];

/// A reader: a bearer token, an access code, or neither.
struct Reader {
    name: &'static str,
    session: Option<Session>,
    access_code: Option<String>,
    staff: bool,
}

/// What must never appear in a response to a reader who is not staff.
struct Secrets {
    internal_note: &'static str,
    staff_user_ids: Vec<String>,
    contact_emails: Vec<String>,
    guest_postal_address: String,
}

const INTERNAL_NOTE: &str = "Internal: the applicant called twice, see file 7/B.";

#[tokio::test]
async fn every_route_answers_every_reader_exactly_as_the_table_says_and_leaks_nothing() {
    // Many guest lookups from one address; the rate limit has its own test.
    let app = spawn_appeals_app_with(|f| f.merge(("rate_limit.guest_lookup_per_ip.burst", 1000))).await;
    let owner = app.citizen().await;
    let other_citizen = app.citizen().await;
    let official = app.official_of(RECEPTION).await;
    let other_official = app.official_of(OTHER_AGENCY).await;
    let supervisor = app.supervisor_of(GOVERNMENT).await;
    let admin = app.admin().await;

    let appeal = app.files(&owner, &complaint()).await;
    let guest = app.files_as_guest(&guest_complaint()).await;
    // Both appeals are taken, carry an internal note, and the citizen's has a file.
    for filed in [&appeal, &guest] {
        app.acts(&official, &filed.id, "take", 1, &json!({})).await;
        app.acts(&official, &filed.id, "note", 2, &json!({"text": INTERNAL_NOTE})).await;
    }
    let uploaded = app.upload(&official, &appeal.id, "act.pdf", pdf("first")).await;
    assert_eq!(uploaded.status(), 201);
    let attachment: Value = uploaded.json().await.unwrap();
    let attachment_id = attachment["id"].as_str().unwrap().to_owned();

    let readers = [
        Reader { name: "owner", session: Some(owner.clone()), access_code: None, staff: false },
        Reader {
            name: "other_citizen",
            session: Some(other_citizen.clone()),
            access_code: None,
            staff: false,
        },
        Reader {
            name: "guest_with_code",
            session: None,
            access_code: guest.access_code.clone(),
            staff: false,
        },
        Reader { name: "guest_without_code", session: None, access_code: None, staff: false },
        Reader {
            name: "guest_wrong_code",
            session: None,
            access_code: Some(wrong_code(&guest)),
            staff: false,
        },
        Reader { name: "official", session: Some(official.clone()), access_code: None, staff: true },
        Reader {
            name: "other_official",
            session: Some(other_official.clone()),
            access_code: None,
            staff: true,
        },
        Reader {
            name: "parent_supervisor",
            session: Some(supervisor.clone()),
            access_code: None,
            staff: true,
        },
        Reader { name: "admin", session: Some(admin.clone()), access_code: None, staff: false },
    ];
    assert_eq!(readers.each_ref().map(|r| r.name), READERS);
    let secrets = Secrets {
        internal_note: INTERNAL_NOTE,
        staff_user_ids: [&official, &other_official, &supervisor, &admin].map(|s| s.user_id.clone()).to_vec(),
        contact_emails: vec![owner.email.clone(), guest_complaint()["email"].as_str().unwrap().to_owned()],
        guest_postal_address: guest_complaint()["postal_address"].as_str().unwrap().to_owned(),
    };
    let hash = stored_access_code_hash(&app, &guest.id).await;

    let mut mismatches = Vec::new();
    for (route, expected) in MATRIX {
        for (reader, want) in readers.iter().zip(expected) {
            let (status, body) = call(&app, route, reader, &appeal, &guest, &attachment_id).await;
            let got = match *want {
                "200+" | "200-" if status == 200 => {
                    let listed =
                        body["items"].as_array().unwrap().iter().any(|a| a["id"] == appeal.id.as_str());
                    if listed { "200+" } else { "200-" }.to_owned()
                }
                _ => status.to_string(),
            };
            if got != *want {
                mismatches.push(format!("{route} as {}: expected {want}, got {got}: {body}", reader.name));
            }
            let text = body.to_string();
            assert!(!text.contains(&hash), "{route} as {}: the access code hash leaked", reader.name);
            if let Some(code) = &guest.access_code {
                assert!(!text.contains(code.as_str()), "{route} as {}: the access code leaked", reader.name);
            }
            if !reader.staff {
                assert_nothing_for_staff_only(route, reader.name, &body, &secrets);
            }
        }
    }
    assert!(mismatches.is_empty(), "the access matrix differs:\n{}", mismatches.join("\n"));
    // The staff did see what the citizen may not: the proof that the checks above can fail.
    let staff_view = app.timeline_of(&official, &appeal.id).await;
    assert!(serde_json::to_string(&staff_view).unwrap().contains(INTERNAL_NOTE));
    let staff_appeal: Value = app.get(&appeal.url(), official.token()).await.json().await.unwrap();
    assert_eq!(staff_appeal["staff"]["contact_email"], owner.email.as_str());
}

/// Sends `route` as `reader`; returns the status and the JSON body (Null when not JSON).
async fn call(
    app: &TestApp,
    route: &str,
    reader: &Reader,
    appeal: &Filed,
    guest: &Filed,
    attachment_id: &str,
) -> (u16, Value) {
    let token = reader.session.as_ref().map(|s| s.access_token.as_str());
    // Each reader acts at the version it is shown: staff count every change, the others
    // only what a citizen sees.
    let version = version_of(app, &appeal.id, reader.staff).await;
    let guest_version = version_of(app, &guest.id, reader.staff).await;
    let id = &appeal.id;
    let (method, path, body) = match route {
        "GET appeal" => (Method::GET, appeal.url(), None),
        "GET timeline" => (Method::GET, format!("{}/timeline", appeal.url()), None),
        "POST action message" => (
            Method::POST,
            format!("{}/actions/message", appeal.url()),
            Some(json!({"text": "Any news?", "version": version})),
        ),
        "POST action note" => (
            Method::POST,
            format!("{}/actions/note", appeal.url()),
            Some(json!({"text": "checked", "version": version})),
        ),
        "GET attachments" => (Method::GET, format!("{}/attachments", appeal.url()), None),
        "POST attachment" => {
            let mut request = app
                .request(Method::POST, &format!("/api/v1/appeals/{id}/attachments?file_name=scan.pdf"), token)
                .header("Content-Type", "application/pdf")
                .body(pdf(reader.name));
            if let Some(code) = &reader.access_code {
                request = request.header("X-Access-Code", code);
            }
            return send(request).await;
        }
        "GET attachment file" => (Method::GET, format!("{}/attachments/{attachment_id}", appeal.url()), None),
        "GET my appeals" => (Method::GET, "/api/v1/appeals".to_owned(), None),
        "GET queue" => (Method::GET, "/api/v1/queue".to_owned(), None),
        "GET public appeal" => (Method::GET, guest.public_url(), None),
        "GET public timeline" => (Method::GET, format!("{}/timeline", guest.public_url()), None),
        "POST public message" => (
            Method::POST,
            format!("{}/actions/message", guest.public_url()),
            Some(json!({"text": "Is there news?", "version": guest_version})),
        ),
        "POST appeals" => (Method::POST, "/api/v1/appeals".to_owned(), Some(complaint())),
        "POST entries" => (
            Method::POST,
            "/api/v1/entries".to_owned(),
            Some(json!({"medium": "oral", "appeal": complaint()})),
        ),
        "POST public appeals" => (Method::POST, "/api/v1/public/appeals".to_owned(), Some(guest_complaint())),
        other => panic!("no such route in the matrix: {other}"),
    };
    let mut request = app.request(method, &path, token);
    if let Some(code) = &reader.access_code {
        request = request.header("X-Access-Code", code);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    send(request).await
}

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let disposition = response.headers().get("content-disposition").cloned();
    let bytes = response.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        // A download: keep what a leak check needs.
        json!({
            "content_disposition": disposition.map(|d| d.to_str().unwrap().to_owned()),
            "bytes": String::from_utf8_lossy(&bytes),
        })
    });
    (status, body)
}

fn assert_nothing_for_staff_only(route: &str, reader: &str, body: &Value, secrets: &Secrets) {
    let text = body.to_string();
    assert!(!text.contains(secrets.internal_note), "{route} as {reader}: an internal note leaked: {text}");
    assert!(!text.contains("\"staff\""), "{route} as {reader}: staff fields leaked: {text}");
    assert!(!text.contains("\"actor_id\""), "{route} as {reader}: who among staff acted leaked: {text}");
    assert!(!text.contains("\"internal\""), "{route} as {reader}: an internal event leaked: {text}");
    for id in &secrets.staff_user_ids {
        assert!(!text.contains(id.as_str()), "{route} as {reader}: a staff member's id leaked: {text}");
    }
    for email in &secrets.contact_emails {
        assert!(!text.contains(email.as_str()), "{route} as {reader}: contact data leaked: {text}");
    }
    assert!(!text.contains(&secrets.guest_postal_address), "{route} as {reader}: an address leaked: {text}");
}

/// A well-formed code that is not the appeal's.
fn wrong_code(guest: &Filed) -> String {
    let code = guest.access_code.as_deref().unwrap();
    let mut chars: Vec<char> = code.chars().collect();
    let i = chars.iter().rposition(|c| c.is_ascii_alphanumeric()).unwrap();
    chars[i] = if chars[i] == '2' { '3' } else { '2' };
    let wrong: String = chars.into_iter().collect();
    assert_ne!(wrong, code);
    wrong
}

async fn version_of(app: &TestApp, id: &str, staff: bool) -> i32 {
    let stored = stored(app, id).await;
    if staff { stored.version } else { stored.public_version }
}

async fn stored_access_code_hash(app: &TestApp, id: &str) -> String {
    stored(app, id).await.access_code_hash.expect("a guest appeal keeps a hash of its code")
}

async fn stored(app: &TestApp, id: &str) -> murojiat::store::appeals::Appeal {
    let id: Uuid = id.parse().unwrap();
    murojiat::store::appeals::by_id(app.db.conn(), id).await.unwrap().unwrap()
}

#[tokio::test]
async fn an_appeal_one_may_not_see_looks_exactly_like_one_that_does_not_exist() {
    let app = spawn_appeals_app_with(|f| f).await;
    let owner = app.citizen().await;
    let stranger = app.citizen().await;
    let appeal = app.files(&owner, &complaint()).await;
    let missing = format!("/api/v1/appeals/{}", Uuid::now_v7());
    for suffix in ["", "/timeline", "/attachments"] {
        let denied = crate::support::assert_problem(
            app.get(&format!("{}{suffix}", appeal.url()), stranger.token()).await,
            404,
            "not-found",
        )
        .await;
        let absent = crate::support::assert_problem(
            app.get(&format!("{missing}{suffix}"), stranger.token()).await,
            404,
            "not-found",
        )
        .await;
        assert_eq!(denied.body["detail"], absent.body["detail"], "{suffix}");
        assert_eq!(denied.body["title"], absent.body["title"], "{suffix}");
    }
    let malformed = app.get("/api/v1/appeals/not-an-id", stranger.token()).await;
    crate::support::assert_problem(malformed, 404, "not-found").await;
    // Acting on it is no different: the action is not even weighed.
    let response = app.act(&stranger, &appeal.id, "withdraw", 1, &json!({})).await;
    crate::support::assert_problem(response, 404, "not-found").await;
    let stored: serde_json::Value = app.get(&appeal.url(), owner.token()).await.json().await.unwrap();
    assert_eq!(stored["status"], "registered");
}
