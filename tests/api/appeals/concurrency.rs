//! Done-when 4: retries and races. Concurrent filings under one Idempotency-Key make one
//! appeal; concurrent answers with one version make one answer.

use chrono::Duration;
use futures::future::join_all;
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

use crate::deferred::event_of;
use crate::support::appeals::{RECEPTION, complaint, guest_complaint, pdf, spawn_appeals_app};
use murojiat::auth::seal::Sealer;
use murojiat::store::deferred::Deferred;
use murojiat::store::entity::idempotency_key;
use murojiat::store::{StoreError, appeals, events};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};

use crate::support::{TestApp, assert_problem};

#[tokio::test]
async fn twenty_concurrent_filings_with_one_idempotency_key_make_one_appeal() {
    let app = spawn_appeals_app().await;
    let citizen = app.citizen().await;
    let file = || {
        app.request(Method::POST, "/api/v1/appeals", citizen.token())
            .header("Idempotency-Key", "retry-7f3a")
            .json(&complaint())
            .send()
    };
    let responses = join_all((0..20).map(|_| file())).await;
    let mut bodies = Vec::new();
    for response in responses {
        let response = response.expect("the server answers");
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, 201, "{text}");
        bodies.push(serde_json::from_str::<Value>(&text).unwrap());
    }
    assert_eq!(app.count_appeals().await, 1);
    assert_eq!(app.count_events().await, 1, "one 'file' event");
    assert_eq!(app.count_idempotency_keys().await, 1);
    assert!(bodies.iter().all(|b| *b == bodies[0]), "every retry gets the first response");

    // The same key with another body is refused, and stores nothing.
    let mut changed = complaint();
    changed["subject"] = json!("Another subject entirely");
    let response = app
        .request(Method::POST, "/api/v1/appeals", citizen.token())
        .header("Idempotency-Key", "retry-7f3a")
        .json(&changed)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 422, "validation").await;
    assert_eq!(problem.error_fields(), ["Idempotency-Key"]);
    assert_eq!(app.count_appeals().await, 1);

    // A key belongs to whoever sent it: another citizen's same key is a new appeal.
    let other = app.citizen().await;
    let response = app
        .request(Method::POST, "/api/v1/appeals", other.token())
        .header("Idempotency-Key", "retry-7f3a")
        .json(&complaint())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(app.count_appeals().await, 2);
}

/// An official's entry names the citizen it is for; the key's "same request" includes them,
/// so one key cannot give a citizen the appeal entered for another.
#[tokio::test]
async fn an_entry_retried_under_its_key_for_another_citizen_is_refused() {
    let app = spawn_appeals_app().await;
    let official = app.official_of(RECEPTION).await;
    let (first, second) = (app.citizen().await, app.citizen().await);
    let enter = |citizen: &str| {
        app.request(Method::POST, "/api/v1/entries", official.token())
            .header("Idempotency-Key", "entry-41")
            .json(&json!({"medium": "paper", "citizen_id": citizen, "appeal": complaint()}))
            .send()
    };
    let entered: Value = enter(&first.user_id).await.unwrap().json().await.unwrap();
    let again = enter(&first.user_id).await.unwrap();
    assert_eq!(again.status(), 201, "a retry for the same citizen replays");
    assert_eq!(again.json::<Value>().await.unwrap()["id"], entered["id"]);

    let problem = assert_problem(enter(&second.user_id).await.unwrap(), 422, "validation").await;
    assert_eq!(problem.error_fields(), ["Idempotency-Key"]);
    assert_eq!(app.count_appeals().await, 1);
}

/// A guest's filing of the same complaint under `key`.
fn guest_filing(app: &TestApp, key: &str) -> RequestBuilder {
    app.request(Method::POST, "/api/v1/public/appeals", None)
        .header("Idempotency-Key", key)
        .json(&guest_complaint())
}

/// The idempotency record is written first, naming the appeal's id and the guest's access
/// code chosen before the transaction: a guest's retry gets the same code (which opens the
/// appeal), and retries take no registration number.
#[tokio::test]
async fn a_guests_retries_get_the_same_access_code_and_take_no_registration_number() {
    let app = spawn_appeals_app().await;
    let file = || guest_filing(&app, "guest-retry-1").send();
    let mut answers = Vec::new();
    for response in join_all((0..5).map(|_| file())).await {
        let response = response.expect("the server answers");
        assert_eq!(response.status(), 201);
        answers.push(response.json::<Value>().await.unwrap());
    }
    let code = answers[0]["access_code"].as_str().expect("an access code").to_owned();
    assert!(answers.iter().all(|a| a["access_code"] == code.as_str()), "one code for every retry");
    let tracking = answers[0]["appeal"]["tracking_number"].as_str().unwrap();
    let status = app.guest_get(&format!("/api/v1/public/appeals/{tracking}"), Some(&code)).await;
    assert_eq!(status.status(), 200, "the replayed code opens the appeal");
    assert_eq!(app.count_appeals().await, 1);

    // The next appeal at the same agency gets the next registration number.
    let next = app.files_as_guest(&guest_complaint()).await;
    let number = |answer: &Value| answer["registration_number"].as_str().unwrap().to_owned();
    let first: Value =
        app.guest_get(&format!("/api/v1/public/appeals/{tracking}"), Some(&code)).await.json().await.unwrap();
    let second: Value = app
        .guest_get(&format!("/api/v1/public/appeals/{}", next.tracking_number), next.access_code.as_deref())
        .await
        .json()
        .await
        .unwrap();
    let sequence = |n: String| n.rsplit('-').next().unwrap().parse::<u64>().unwrap();
    assert_eq!(sequence(number(&first)), 1);
    assert_eq!(sequence(number(&second)), 2, "no number was taken by a retry");
}

/// The idempotency record keeps a guest's access code only sealed under the server's key:
/// nothing in the stored record reads as the code, yet a retry still shows it. A record
/// sealed under another key (the server's key changed since) gets a 409 that says so, and
/// nothing is filed again.
#[tokio::test]
async fn the_stored_record_holds_the_guests_code_only_sealed() {
    let app = spawn_appeals_app().await;
    let file = || guest_filing(&app, "guest-sealed-1").send();
    let first: Value = file().await.unwrap().json().await.unwrap();
    let code = first["access_code"].as_str().expect("an access code").to_owned();
    let records = idempotency_key::Entity::find().all(app.db.conn()).await.unwrap();
    assert_eq!(records.len(), 1);
    let stored = format!("{:?}", records[0]);
    let bare: String = code.chars().filter(char::is_ascii_alphanumeric).collect();
    assert!(!stored.contains(&code) && !stored.contains(&bare), "the code is stored readable: {stored}");

    let retry = file().await.unwrap();
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.json::<Value>().await.unwrap()["access_code"], code.as_str());

    // As if the server's key had changed since: the seal no longer opens.
    let appeal_id: uuid::Uuid = first["appeal"]["id"].as_str().unwrap().parse().unwrap();
    let other_key = Sealer::from_seed(&[7; 32]).seal(appeal_id.as_bytes(), code.as_bytes(), &mut rand::rng());
    let body = json!({ "appeal_id": appeal_id, "sealed_access_code": other_key }).to_string();
    let mut record: idempotency_key::ActiveModel = records[0].clone().into();
    record.response_body = Set(body);
    record.update(app.db.conn()).await.unwrap();
    let problem = assert_problem(file().await.unwrap(), 409, "conflict").await;
    let detail = problem.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("access code"), "{detail}");
    assert_eq!(app.count_appeals().await, 1);
}

/// A key is remembered for `appeals.idempotency_retention_hours`: a retry within that time
/// replays the first answer; after the scheduler's housekeeping, the same key files anew.
#[tokio::test]
async fn an_idempotency_key_is_forgotten_after_its_retention_time() {
    let app = spawn_appeals_app().await;
    let citizen = app.citizen().await;
    // Signed in afresh each time: the clock moves past the access token's life.
    let file = || async {
        let session = app.login(&citizen.email, crate::support::PASSWORD).await;
        app.request(Method::POST, "/api/v1/appeals", session.token())
            .header("Idempotency-Key", "kept-a-day")
            .json(&complaint())
            .send()
            .await
            .unwrap()
    };
    let first: Value = file().await.json().await.unwrap();
    let scheduler = murojiat::services::scheduler::Scheduler::new(app.app.clone());
    let kept = Duration::hours(app.app.settings.appeals.idempotency_retention_hours as i64);

    app.clock.advance(kept - Duration::seconds(1));
    assert_eq!(scheduler.housekeep(app.clock_now()).await.unwrap(), 0, "not yet");
    let retry: Value = file().await.json().await.unwrap();
    assert_eq!(retry["id"], first["id"], "a retry within the retention time replays");

    app.clock.advance(Duration::seconds(2));
    assert_eq!(scheduler.housekeep(app.clock_now()).await.unwrap(), 1);
    assert_eq!(app.count_idempotency_keys().await, 0);
    let later = file().await;
    assert_eq!(later.status(), 201);
    let later: Value = later.json().await.unwrap();
    assert_ne!(later["id"], first["id"], "the same key now files a new appeal");
    assert_eq!(app.count_appeals().await, 2);
}

/// Filing draws a tracking number and lets the unique index rule out the (astronomically
/// rare) collision: the appeal's insert, sent with the writes that follow it, fails as a
/// taken tracking number and writes nothing of them, which filing answers by drawing again.
#[tokio::test]
async fn an_appeal_with_a_taken_tracking_number_is_not_written() {
    let app = spawn_appeals_app().await;
    let citizen = app.citizen().await;
    let filed = app.files(&citizen, &complaint()).await;
    let conn = app.db.conn();
    let stored = appeals::by_id(conn, filed.id.parse().unwrap()).await.unwrap().unwrap();
    let events_before = app.count_events().await;

    let mut twin = stored.clone();
    twin.id = uuid::Uuid::now_v7();
    twin.registration_number = Some("twin".to_owned());
    let with_its_event = |twin: &appeals::Appeal| {
        let mut writes = Deferred::new();
        writes.push(appeals::inserting(twin));
        writes.push(events::first(event_of(twin.id, twin.created_at)).1);
        writes
    };
    let txn = app.db.write().await.unwrap();
    let err = with_its_event(&twin).flush(&txn).await.expect_err("the tracking number is taken");
    assert!(appeals::tracking_number_taken(&err), "{err:?}");
    drop(txn);
    assert_eq!(app.count_appeals().await, 1, "nothing written");
    assert_eq!(app.count_events().await, events_before, "nor what came with it");

    twin.tracking_number = "TWIN0000000000".to_owned();
    let txn = app.db.write().await.unwrap();
    with_its_event(&twin).flush(&txn).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(appeals::by_id(conn, twin.id).await.unwrap().unwrap().tracking_number, "TWIN0000000000");
    assert_eq!(app.count_events().await, events_before + 1);
    assert!(!appeals::tracking_number_taken(&StoreError::Conflict("idempotency_keys.key".to_owned())));
}

#[tokio::test]
async fn two_concurrent_answers_with_one_version_make_exactly_one_answer() {
    let app = spawn_appeals_app().await;
    let citizen = app.citizen().await;
    let official = app.official_of(RECEPTION).await;
    let colleague = app.supervisor_of(RECEPTION).await;
    let appeal = app.files(&citizen, &complaint()).await;
    let taken = app.acts(&official, &appeal.id, "take", 1, &json!({})).await;
    let version = taken["version"].as_i64().unwrap();

    let satisfied = json!({"outcome": "satisfied", "text": "Fixed."});
    let rejected = json!({"outcome": "rejected", "text": "No."});
    let (first, second) = tokio::join!(
        app.act(&official, &appeal.id, "answer", version, &satisfied),
        app.act(&colleague, &appeal.id, "answer", version, &rejected),
    );
    let mut statuses = [first.status().as_u16(), second.status().as_u16()];
    statuses.sort();
    assert!(matches!(statuses, [200, 409] | [200, 412]), "exactly one succeeds: {statuses:?}");
    assert_eq!(app.count_events_of(&appeal.id, "answer").await, 1);
    let stored: Value = app.get(&appeal.url(), official.token()).await.json().await.unwrap();
    assert_eq!(stored["status"], "answered");
    assert_eq!(stored["version"], version + 1);
}

#[tokio::test]
async fn many_concurrent_actions_on_one_version_leave_one_event_and_an_unbroken_chain() {
    let app = spawn_appeals_app().await;
    let citizen = app.citizen().await;
    let official = app.official_of(RECEPTION).await;
    let appeal = app.files(&citizen, &complaint()).await;
    app.acts(&official, &appeal.id, "take", 1, &json!({})).await;
    let bodies: Vec<Value> = (0..8).map(|i| json!({"text": format!("note {i}")})).collect();
    let notes = bodies.iter().map(|body| app.act(&official, &appeal.id, "note", 2, body));
    let statuses: Vec<u16> = join_all(notes).await.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| [200, 409, 412].contains(s)), "{statuses:?}");
    assert_eq!(app.count_events_of(&appeal.id, "note").await, 1);
    let verified = murojiat::store::events::verify_all(app.db.conn()).await.unwrap();
    assert!(verified.is_ok(), "the hash chain holds: {verified:?}");
}

#[tokio::test]
async fn files_attached_at_once_are_all_kept_and_never_exceed_the_limit() {
    let app = spawn_appeals_app().await;
    let citizen = app.citizen().await;
    let appeal = app.files(&citizen, &complaint()).await;
    let most = app.app.settings.appeals.max_attachments_per_appeal;

    // A browser sends a few files in parallel: each is kept.
    let uploads =
        (0..most - 1).map(|i| app.upload(&citizen, &appeal.id, "scan.pdf", pdf(&format!("page {i}"))));
    let statuses: Vec<u16> = join_all(uploads).await.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses, vec![201; most - 1]);
    // Racing for the last place: exactly one wins, the other is told the appeal is full.
    let (a, b) = tokio::join!(
        app.upload(&citizen, &appeal.id, "last.pdf", pdf("last a")),
        app.upload(&citizen, &appeal.id, "last.pdf", pdf("last b")),
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 409]);
    assert_eq!(app.count_attachments().await, most as u64);
    assert_eq!(app.count_events_of(&appeal.id, "attach").await, most as u64);
}

/// Found by benches/faults/crash.sh: while PostgreSQL restarted, filings were answered 500
/// ("Failed to acquire connection from pool"). Nothing was wrong with them and the same request
/// succeeds once the database is back, so the answer is 503 with Retry-After, telling clients
/// and load balancers to send it again (with the same Idempotency-Key).
#[tokio::test]
async fn filing_while_the_database_is_unreachable_is_a_503_to_retry_not_a_500() {
    let app = spawn_appeals_app().await;
    let citizen = app.citizen().await;
    // The server's pool, closed behind its back: every statement fails to get a connection,
    // as while the database is down.
    app.db.clone().close().await;
    let response = app
        .request(Method::POST, "/api/v1/appeals", citizen.token())
        .header("Idempotency-Key", "outage-1")
        .json(&complaint())
        .send()
        .await
        .expect("the server answers");
    let problem = assert_problem(response, 503, "unavailable").await;
    assert_eq!(problem.header("retry-after"), Some("1"));
}
