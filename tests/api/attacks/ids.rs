//! Ids out of place (RESTler's namespace and use-after-free rules): an id that does not
//! parse, one that names nothing, one of another kind, one from another agency's or citizen's
//! namespace, and one of something deleted, withdrawn, answered or disabled. A read the
//! caller may not make is a 404 like a missing object, never a 403; an action on something
//! that no longer allows it is the documented 409 or 422; nothing is ever a 500.
//! (appeals/access.rs covers the appeal routes reader by reader; this file covers the rest.)

use reqwest::Method;
use serde_json::{Value, json};

use super::World;
use crate::support::appeals::{OTHER_AGENCY, RECEPTION, complaint, pdf};
use crate::support::{Session, agency, assert_problem};

/// Path segments that cannot be an id of any kind: not a UUID, not a number, not a code.
const MALFORMED: &[&str] = &[
    "not-an-id",
    "00000000-0000-0000-0000-00000000000g",
    "01234567-89ab-cdef-0123-456789abcdef0",
    "%27%20OR%201%3D1%20--",
    "..%2F..%2Fetc%2Fpasswd",
    "%D0%B0%D0%B9%D0%B4%D0%B8",
    "99999999999999999999999",
    "1.5",
    "UPPER-CASE",
];

/// Routes with one id in them, `{}` standing for the id, and who may use them.
fn id_routes(w: &World) -> Vec<(Method, String, Option<Value>, Session)> {
    let appeal = &w.appeal.id;
    let admin = &w.admin;
    let citizen = &w.citizen;
    vec![
        (Method::GET, "/api/v1/appeals/{}".into(), None, citizen.clone()),
        (Method::GET, "/api/v1/appeals/{}/timeline".into(), None, citizen.clone()),
        (Method::GET, "/api/v1/appeals/{}/routing".into(), None, w.official.clone()),
        (Method::GET, "/api/v1/appeals/{}/attachments".into(), None, citizen.clone()),
        (
            Method::POST,
            "/api/v1/appeals/{}/actions/message".into(),
            Some(json!({"text": "?", "version": 1})),
            citizen.clone(),
        ),
        (Method::GET, format!("/api/v1/appeals/{appeal}/attachments/{{}}"), None, citizen.clone()),
        (Method::GET, "/api/v1/admin/users/{}".into(), None, admin.clone()),
        (Method::PATCH, "/api/v1/admin/users/{}".into(), Some(json!({"full_name": "X"})), admin.clone()),
        (Method::GET, "/api/v1/admin/agencies/{}".into(), None, admin.clone()),
        (Method::PATCH, "/api/v1/admin/agencies/{}".into(), Some(json!({"name_en": "X"})), admin.clone()),
        (Method::DELETE, "/api/v1/admin/agencies/{}".into(), None, admin.clone()),
        (Method::GET, "/api/v1/admin/categories/{}".into(), None, admin.clone()),
        (Method::PATCH, "/api/v1/admin/categories/{}".into(), Some(json!({"name_en": "X"})), admin.clone()),
        (Method::DELETE, "/api/v1/admin/territories/{}".into(), None, admin.clone()),
        (Method::GET, "/api/v1/admin/rulesets/{}".into(), None, admin.clone()),
        (Method::POST, "/api/v1/admin/rulesets/{}/activate".into(), None, admin.clone()),
        (Method::POST, "/api/v1/admin/outbox/{}/requeue".into(), None, admin.clone()),
        (Method::GET, "/api/v1/admin/calendar/{}".into(), None, admin.clone()),
        (Method::GET, "/api/v1/public/appeals/{}".into(), None, citizen.clone()),
    ]
}

async fn send(
    w: &World,
    method: &Method,
    path: &str,
    body: &Option<Value>,
    who: &Session,
) -> reqwest::Response {
    let mut request = w.app.request(method.clone(), path, who.token());
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn an_id_that_does_not_parse_or_names_nothing_is_a_404_problem_on_every_route_with_an_id() {
    // Many guest lookups from one address; their rate limit is tested in bodies.rs.
    let w = World::with(|f| f.merge(("rate_limit.guest_lookup_per_ip.burst", 1000))).await;
    let before = w.snapshot().await;
    let unknown = uuid::Uuid::now_v7().to_string();
    for (method, template, body, who) in id_routes(&w) {
        for id in MALFORMED.iter().copied().chain([unknown.as_str(), "2147483648"]) {
            let path = template.replace("{}", id);
            let response = send(&w, &method, &path, &body, &who).await;
            assert_problem(response, 404, "not-found").await;
        }
    }
    // A NUL cannot be in any id, code or text (PostgreSQL could not even look it up): the
    // address is malformed.
    for (method, template, body, who) in id_routes(&w) {
        let response = send(&w, &method, &template.replace("{}", "%00"), &body, &who).await;
        assert_problem(response, 400, "bad-request").await;
        let response = send(&w, &method, &template.replace("{}", "code%00"), &body, &who).await;
        assert_problem(response, 400, "bad-request").await;
    }
    // An id with the right shape but of another kind names nothing either.
    let me: Value = w.app.get("/api/v1/me", w.official.token()).await.json().await.unwrap();
    let agency_id = me["agency_id"].as_str().expect("an official has an agency").to_owned();
    let crossed = [
        ("/api/v1/appeals/{}", &w.citizen.user_id),
        ("/api/v1/appeals/{}", &agency_id),
        ("/api/v1/admin/users/{}", &w.appeal.id),
        ("/api/v1/admin/users/{}", &agency_id),
        ("/api/v1/admin/agencies/{}", &w.appeal.id),
        ("/api/v1/admin/agencies/{}", &w.official.user_id),
        ("/api/v1/admin/outbox/{}/requeue", &w.appeal.id),
    ];
    for (template, id) in crossed {
        let method = if template.ends_with("requeue") { Method::POST } else { Method::GET };
        let who = if template.starts_with("/api/v1/appeals") { &w.citizen } else { &w.admin };
        let response = send(&w, &method, &template.replace("{}", id), &None, who).await;
        assert_problem(response, 404, "not-found").await;
    }
    assert_eq!(w.snapshot().await, before);
}

#[tokio::test]
async fn another_agencys_or_citizens_appeal_is_a_404_on_the_staff_routes_too() {
    let w = World::new().await;
    let routing = format!("{}/routing", w.appeal.url());
    for stranger in [&w.other_official, &w.citizen, &w.other_citizen] {
        assert_problem(w.app.get(&routing, stranger.token()).await, 404, "not-found").await;
    }
    assert_eq!(w.app.get(&routing, w.official.token()).await.status(), 200);
    assert_eq!(w.app.get(&routing, w.supervisor.token()).await.status(), 200);
    // Staff of another agency cannot reach the appeal through its work either: assigning it
    // to them, or filtering their queue by its assignee, finds nothing.
    let taken = w.app.acts(&w.official, &w.appeal.id, "take", 1, &json!({})).await;
    assert_eq!(taken["version"], 2);
    let response = w
        .app
        .act(&w.other_official, &w.appeal.id, "assign", 2, &json!({"assignee": w.other_official.user_id}))
        .await;
    assert_problem(response, 404, "not-found").await;
    let response = w
        .app
        .act(&w.official, &w.appeal.id, "assign", 2, &json!({"assignee": w.other_official.user_id}))
        .await;
    let problem = assert_problem(response, 422, "validation").await;
    assert_eq!(problem.error_code("assignee"), Some("unknown"));
    let queue: Value = w
        .app
        .get(&format!("/api/v1/queue?assignee={}", w.official.user_id), w.other_official.token())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue["items"], json!([]), "{queue}");
    // The guest routes do not open a registered citizen's appeal by its tracking number.
    let response = w.app.guest_get(&w.appeal.public_url(), Some("0000-0000")).await;
    assert_problem(response, 404, "not-found").await;
}

#[tokio::test]
async fn a_deleted_category_territory_or_agency_is_gone_for_reads_writes_and_references() {
    let w = World::new().await;
    let (app, admin) = (&w.app, &w.admin);
    for (table, body) in [
        ("categories", json!({"code": "short-lived", "name_tg": "Т", "name_ru": "Т", "name_en": "T"})),
        (
            "territories",
            json!({"code": "short-lived", "kind": "region", "name_tg": "Т", "name_ru": "Т", "name_en": "T"}),
        ),
    ] {
        let base = format!("/api/v1/admin/{table}");
        assert_eq!(app.post_json(&base, &body, admin.token()).await.status(), 201);
        let url = format!("{base}/short-lived");
        assert_eq!(app.delete(&url, admin.token()).await.status(), 204);
        assert_problem(app.get(&url, admin.token()).await, 404, "not-found").await;
        let response = app.patch_json(&url, &json!({"name_en": "Back"}), admin.token()).await;
        assert_problem(response, 404, "not-found").await;
        assert_problem(app.delete(&url, admin.token()).await, 404, "not-found").await;
    }
    // Filing under the deleted category or in the deleted region is a 422 naming the field.
    let appeals = app.count_appeals().await;
    for (field, value) in [("category", "short-lived"), ("region", "short-lived")] {
        let mut body = complaint();
        body[field] = json!(value);
        body.as_object_mut().unwrap().remove("district");
        let response = app.post_json("/api/v1/appeals", &body, w.citizen.token()).await;
        let problem = assert_problem(response, 422, "validation").await;
        assert!(problem.error_fields().contains(&field), "{:?}", problem.body);
    }
    assert_eq!(app.count_appeals().await, appeals);

    // An agency: created, deleted, then named by id, by code in a report, as the agency of a
    // new account and as the target of a forwarding.
    let created = app.create_agency(admin, agency("short-lived-ministry")).await;
    let url = format!("/api/v1/admin/agencies/{}", created["id"].as_str().unwrap());
    assert_eq!(app.delete(&url, admin.token()).await.status(), 204);
    assert_problem(app.get(&url, admin.token()).await, 404, "not-found").await;
    let response = app.patch_json(&url, &json!({"name_en": "Back"}), admin.token()).await;
    assert_problem(response, 404, "not-found").await;
    assert_problem(app.delete(&url, admin.token()).await, 404, "not-found").await;
    let response = app.get("/api/v1/reports/deadlines?agency=short-lived-ministry", admin.token()).await;
    assert_problem(response, 404, "not-found").await;
    let users = app.count_users().await;
    let account = json!({"email": "late@example.tj", "full_name": "Late", "role": "official", "agency": "short-lived-ministry"});
    let problem = assert_problem(
        app.post_json("/api/v1/admin/users", &account, admin.token()).await,
        422,
        "validation",
    )
    .await;
    assert_eq!(problem.error_fields(), ["agency"]);
    assert_eq!(app.count_users().await, users);
    app.acts(&w.official, &w.appeal.id, "take", 1, &json!({})).await;
    let forward = json!({"agency": "short-lived-ministry", "reason": "Theirs."});
    let problem =
        assert_problem(app.act(&w.official, &w.appeal.id, "forward", 2, &forward).await, 422, "validation")
            .await;
    assert_eq!(problem.error_fields(), ["agency"]);
    // A deactivated agency is still there to read, but receives nothing new.
    let other: Value = app.get("/api/v1/admin/agencies?limit=100", admin.token()).await.json().await.unwrap();
    let other_id =
        other["items"].as_array().unwrap().iter().find(|a| a["code"] == OTHER_AGENCY).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let deactivated = app
        .patch_json(&format!("/api/v1/admin/agencies/{other_id}"), &json!({"active": false}), admin.token())
        .await;
    assert_eq!(deactivated.status(), 200);
    let forward = json!({"agency": OTHER_AGENCY, "reason": "Theirs."});
    let problem =
        assert_problem(app.act(&w.official, &w.appeal.id, "forward", 2, &forward).await, 422, "validation")
            .await;
    assert_eq!(problem.error_fields(), ["agency"]);
    let stored: Value = app.get(&w.appeal.url(), w.official.token()).await.json().await.unwrap();
    assert_eq!((stored["agency"]["code"].as_str(), stored["version"].as_i64()), (Some(RECEPTION), Some(2)));
}

#[tokio::test]
async fn a_withdrawn_or_answered_appeal_refuses_further_actions_and_files_with_409() {
    let w = World::new().await;
    let app = &w.app;
    // Withdrawn by its citizen.
    let withdrawn = app.acts(&w.citizen, &w.appeal.id, "withdraw", 1, &json!({})).await;
    assert_eq!(withdrawn["status"], "withdrawn");
    let version = withdrawn["version"].as_i64().unwrap();
    let events = app.count_events().await;
    for (who, action, body) in [
        (&w.citizen, "withdraw", json!({})),
        (&w.citizen, "reply", json!({"message": "More."})),
        (&w.official, "take", json!({})),
        (&w.official, "answer", json!({"outcome": "explained", "text": "Done."})),
    ] {
        let response = app.act(who, &w.appeal.id, action, version, &body).await;
        let problem = assert_problem(response, 409, "conflict").await;
        assert!(problem.body["detail"].as_str().unwrap().contains("withdrawn"), "{:?}", problem.body);
    }
    let response = app.upload(&w.citizen, &w.appeal.id, "late.pdf", pdf("late")).await;
    assert_problem(response, 409, "conflict").await;
    assert_eq!(app.count_events().await, events);
    assert_eq!(app.count_attachments().await, 0);
    // It still exists for its readers.
    assert_eq!(app.get(&w.appeal.url(), w.citizen.token()).await.status(), 200);

    // Answered by the official: a second answer or a withdrawal comes too late.
    let second = app.files(&w.citizen, &complaint()).await;
    app.acts(&w.official, &second.id, "take", 1, &json!({})).await;
    let answered = app
        .acts(&w.official, &second.id, "answer", 2, &json!({"outcome": "explained", "text": "Fixed."}))
        .await;
    let version = answered["version"].as_i64().unwrap();
    let events = app.count_events().await;
    let response = app
        .act(&w.official, &second.id, "answer", version, &json!({"outcome": "satisfied", "text": "Again."}))
        .await;
    assert_problem(response, 409, "conflict").await;
    assert_problem(app.act(&w.citizen, &second.id, "withdraw", version, &json!({})).await, 409, "conflict")
        .await;
    assert_problem(app.upload(&w.official, &second.id, "late.pdf", pdf("late")).await, 409, "conflict").await;
    assert_eq!(app.count_events().await, events);
}

#[tokio::test]
async fn a_disabled_official_can_no_longer_be_assigned_and_a_spent_ruleset_or_message_is_not_acted_on() {
    let w = World::new().await;
    let app = &w.app;
    let colleague = app.official_of(RECEPTION).await;
    let path = format!("/api/v1/admin/users/{}", colleague.user_id);
    assert_eq!(app.patch_json(&path, &json!({"disabled": true}), w.admin.token()).await.status(), 200);
    // The account is still there for administrators to read (and to enable again)...
    let read: Value = app.get(&path, w.admin.token()).await.json().await.unwrap();
    assert_eq!(read["disabled"], true);
    // ...but it takes no work.
    app.acts(&w.official, &w.appeal.id, "take", 1, &json!({})).await;
    let response =
        app.act(&w.official, &w.appeal.id, "assign", 2, &json!({"assignee": colleague.user_id})).await;
    let problem = assert_problem(response, 422, "validation").await;
    assert_eq!(problem.error_code("assignee"), Some("unknown"));
    let stored: Value = app.get(&w.appeal.url(), w.official.token()).await.json().await.unwrap();
    assert_eq!(stored["version"], 2);

    // A ruleset already activated is no draft to activate again (409), and one that does not
    // exist is a 404.
    let created = app
        .request(Method::POST, "/api/v1/admin/rulesets", w.admin.token())
        .header("content-type", "application/toml")
        .body(format!("fallback_agency = \"{RECEPTION}\"\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    let activate = |version: u32| {
        app.request(Method::POST, &format!("/api/v1/admin/rulesets/{version}/activate"), w.admin.token())
            .send()
    };
    assert_eq!(activate(1).await.unwrap().status(), 200);
    assert_problem(activate(1).await.unwrap(), 409, "conflict").await;
    assert_problem(activate(2).await.unwrap(), 404, "not-found").await;

    // An email still waiting to be sent is not in the states an administrator may requeue.
    let outbox: Value =
        app.get("/api/v1/admin/outbox?status=pending", w.admin.token()).await.json().await.unwrap();
    let pending = outbox["items"][0]["id"].as_str().expect("registration mail is pending").to_owned();
    let response = app
        .request(Method::POST, &format!("/api/v1/admin/outbox/{pending}/requeue"), w.admin.token())
        .send()
        .await
        .unwrap();
    assert_problem(response, 404, "not-found").await;
}
