//! Done-when 1: one appeal from filing to the supervisor's review, over HTTP, with every
//! step in the timeline each reader is entitled to.

use serde_json::{Value, json};

use crate::support::appeals::{GOVERNMENT, RECEPTION, complaint, spawn_appeals_app};

/// The `action` of every event, in order.
fn actions(timeline: &[Value]) -> Vec<&str> {
    timeline.iter().map(|e| e["action"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn an_appeal_goes_from_filing_through_contest_to_the_supervisors_review() {
    let app = spawn_appeals_app().await;
    let citizen = app.citizen().await;
    let official = app.official_of(RECEPTION).await;
    let supervisor = app.supervisor_of(GOVERNMENT).await;

    // The citizen files: registered at the reception, version 1, ETag "1".
    let response = app.post_json("/api/v1/appeals", &complaint(), citizen.token()).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["etag"], "\"1\"");
    let filed: Value = response.json().await.unwrap();
    let id = filed["id"].as_str().unwrap().to_owned();
    assert_eq!(filed["status"], "registered");
    assert_eq!(filed["version"], 1);
    assert_eq!(filed["channel"], "web");
    assert_eq!(filed["agency"]["code"], RECEPTION);
    assert!(filed["registration_number"].as_str().is_some_and(|n| n.contains(RECEPTION)), "{filed}");
    assert!(filed["tracking_number"].as_str().is_some_and(|t| t.len() <= 14), "{filed}");
    assert_eq!(filed["allowed_actions"], json!(["withdraw", "message"]));
    assert!(filed.get("staff").is_none(), "a citizen gets no staff fields: {filed}");

    // It is in the reception's queue, unassigned.
    let queue: Value =
        app.get("/api/v1/queue?assignee=unassigned", official.token()).await.json().await.unwrap();
    assert_eq!(queue["items"].as_array().unwrap().len(), 1, "{queue}");
    assert_eq!(queue["items"][0]["id"], id.as_str());

    // The official takes it, notes something internal and asks for information.
    let taken = app.acts(&official, &id, "take", 1, &json!({})).await;
    assert_eq!((taken["status"].as_str(), taken["version"].as_i64()), (Some("in_progress"), Some(2)));
    assert_eq!(taken["staff"]["assignee_id"], official.user_id.as_str());
    app.clock.advance(chrono::Duration::minutes(5));
    let noted = app.acts(&official, &id, "note", 2, &json!({"text": "Call the vodokanal first."})).await;
    assert_eq!((noted["status"].as_str(), noted["version"].as_i64()), (Some("in_progress"), Some(3)));
    // The citizen's view counts and dates only what the citizen sees: the internal note
    // changes neither its version (nor ETag) nor its time of last change.
    let response = app.get(&format!("/api/v1/appeals/{id}"), citizen.token()).await;
    assert_eq!(response.headers()["etag"], "\"2\"");
    let seen: Value = response.json().await.unwrap();
    assert_eq!((seen["version"].as_i64(), &seen["updated_at"]), (Some(2), &taken["updated_at"]));
    assert_ne!(noted["updated_at"], taken["updated_at"], "staff see the note's time");
    let asked = app
        .acts(
            &official,
            &id,
            "request-info",
            3,
            &json!({"message": "Which house numbers are without water?"}),
        )
        .await;
    assert_eq!((asked["status"].as_str(), asked["version"].as_i64()), (Some("awaiting_citizen"), Some(4)));
    assert!(asked["paused_at"].is_string(), "the deadline clock stops: {asked}");

    // The citizen sees the request and replies.
    let seen: Value = app.get(&format!("/api/v1/appeals/{id}"), citizen.token()).await.json().await.unwrap();
    assert_eq!(seen["status"], "awaiting_citizen");
    assert!(seen["allowed_actions"].as_array().unwrap().contains(&json!("reply")), "{seen}");
    // What the citizen writes now answers the request: a message, which would leave it
    // open to run out, is refused, names the reply, and changes nothing.
    assert!(!seen["allowed_actions"].as_array().unwrap().contains(&json!("message")), "{seen}");
    assert_eq!(seen["version"], 3, "filed, taken, asked: the note is not counted");
    let message = app.act(&citizen, &id, "message", 3, &json!({"text": "Houses 10 to 14."})).await;
    let problem = crate::support::assert_problem(message, 409, "conflict").await;
    assert!(problem.body["detail"].as_str().unwrap().contains("reply"), "{}", problem.body);
    assert_eq!(app.count_events_of(&id, "message").await, 0);
    let replied =
        app.acts(&citizen, &id, "reply", 3, &json!({"message": "Houses 10 to 14 on Sino street."})).await;
    assert_eq!((replied["status"].as_str(), replied["version"].as_i64()), (Some("in_progress"), Some(4)));
    assert!(replied["paused_at"].is_null());

    // The official answers; the citizen contests.
    let answered = app
        .acts(
            &official,
            &id,
            "answer",
            5,
            &json!({"outcome": "rejected", "text": "The pipe is being replaced."}),
        )
        .await;
    assert_eq!((answered["status"].as_str(), answered["version"].as_i64()), (Some("answered"), Some(6)));
    assert_eq!(answered["outcome"], "rejected");
    let contested =
        app.acts(&citizen, &id, "contest", 5, &json!({"reason": "Nobody is replacing anything."})).await;
    assert_eq!((contested["status"].as_str(), contested["version"].as_i64()), (Some("contested"), Some(6)));

    // The official may not review a contest; the supervisor of the parent agency may.
    let refused = app.act(&official, &id, "uphold", 7, &json!({"comment": "Fine."})).await;
    assert_eq!(refused.status(), 403);
    let queue: Value =
        app.get("/api/v1/queue?status=contested", supervisor.token()).await.json().await.unwrap();
    assert_eq!(queue["items"][0]["id"], id.as_str(), "{queue}");
    let reviewed = app
        .acts(
            &supervisor,
            &id,
            "uphold",
            7,
            &json!({"comment": "Checked with the utility: the answer stands."}),
        )
        .await;
    assert_eq!((reviewed["status"].as_str(), reviewed["version"].as_i64()), (Some("closed"), Some(8)));
    assert!(reviewed["closed_at"].is_string());

    // Staff see every step, the internal note included, with who did it.
    let staff_view = app.timeline_of(&supervisor, &id).await;
    assert_eq!(
        actions(&staff_view),
        ["file", "take", "note", "request_info", "reply", "answer", "contest", "uphold"]
    );
    let statuses: Vec<(&str, &str)> = staff_view
        .iter()
        .map(|e| (e["status_before"].as_str().unwrap(), e["status_after"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("registered", "registered"),
            ("registered", "in_progress"),
            ("in_progress", "in_progress"),
            ("in_progress", "awaiting_citizen"),
            ("awaiting_citizen", "in_progress"),
            ("in_progress", "answered"),
            ("answered", "contested"),
            ("contested", "closed"),
        ]
    );
    let seqs: Vec<i64> = staff_view.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=8).collect::<Vec<_>>());
    let note = &staff_view[2];
    assert_eq!(note["visibility"], "internal");
    assert_eq!(note["data"]["text"], "Call the vodokanal first.");
    assert_eq!(note["actor_id"], official.user_id.as_str());
    assert_eq!(staff_view[7]["actor_role"], "supervisor");
    assert_eq!(staff_view[4]["actor_id"], citizen.user_id.as_str());
    // The official sees the same timeline as the supervisor.
    assert_eq!(app.timeline_of(&official, &id).await, staff_view);

    // The citizen sees every public step and nothing internal, and not who among staff acted.
    let citizen_view = app.timeline_of(&citizen, &id).await;
    assert_eq!(
        actions(&citizen_view),
        ["file", "take", "request_info", "reply", "answer", "contest", "uphold"]
    );
    for event in &citizen_view {
        assert_eq!(event["visibility"], "public", "{event}");
        assert!(event.get("actor_id").is_none(), "{event}");
    }
    // Numbered as the citizen sees them: no gap tells where the internal note was.
    let seqs: Vec<i64> = citizen_view.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=7).collect::<Vec<_>>());
    let text = serde_json::to_string(&citizen_view).unwrap();
    assert!(!text.contains("vodokanal"), "the internal note leaked: {text}");
    assert_eq!(citizen_view[2]["data"]["message"], "Which house numbers are without water?");
    assert_eq!(citizen_view[4]["data"]["text"], "The pipe is being replaced.");

    // The closed appeal is the citizen's, newest first in their list, with nothing left to do.
    let mine: Value = app.get("/api/v1/appeals", citizen.token()).await.json().await.unwrap();
    assert_eq!(mine["items"][0]["id"], id.as_str());
    assert_eq!(mine["items"][0]["status"], "closed");
    assert_eq!(mine["items"][0]["allowed_actions"], json!([]));
}

#[tokio::test]
async fn a_refused_step_is_a_409_naming_the_status_and_what_is_allowed_and_a_stale_one_a_412() {
    let app = spawn_appeals_app().await;
    let citizen = app.citizen().await;
    let official = app.official_of(RECEPTION).await;
    let appeal = app.files(&citizen, &complaint()).await;

    let response =
        app.act(&official, &appeal.id, "answer", 1, &json!({"outcome": "explained", "text": "Done."})).await;
    let problem = crate::support::assert_problem(response, 409, "conflict").await;
    let detail = problem.body["detail"].as_str().unwrap();
    assert!(detail.contains("registered"), "{detail}");
    assert!(detail.contains("take") && detail.contains("forward") && detail.contains("dismiss"), "{detail}");

    app.acts(&official, &appeal.id, "take", 1, &json!({})).await;
    let stale = app.act(&official, &appeal.id, "note", 1, &json!({"text": "late"})).await;
    crate::support::assert_problem(stale, 412, "precondition-failed").await;
    // The version may come in the body instead of If-Match; none at all is a 428.
    let path = format!("{}/actions/note", appeal.url());
    let by_body = app.post_json(&path, &json!({"text": "in the body", "version": 2}), official.token()).await;
    assert_eq!(by_body.status(), 200);
    let missing = app.post_json(&path, &json!({"text": "no version"}), official.token()).await;
    crate::support::assert_problem(missing, 428, "precondition-required").await;
    assert_eq!(app.count_events_of(&appeal.id, "note").await, 1);
}

#[tokio::test]
async fn a_supervisor_who_reopens_a_contested_appeal_starts_a_new_review_round() {
    let app = spawn_appeals_app().await;
    let citizen = app.citizen().await;
    let official = app.official_of(RECEPTION).await;
    let supervisor = app.supervisor_of(GOVERNMENT).await;
    let appeal = app.files(&citizen, &complaint()).await;
    app.acts(&official, &appeal.id, "take", 1, &json!({})).await;
    app.acts(&official, &appeal.id, "answer", 2, &json!({"outcome": "explained", "text": "First answer."}))
        .await;
    app.acts(&citizen, &appeal.id, "contest", 3, &json!({"reason": "It explains nothing."})).await;

    let reopened = app
        .acts(&supervisor, &appeal.id, "reopen", 4, &json!({"comment": "Answer the actual question."}))
        .await;
    assert_eq!(reopened["status"], "in_progress");
    // The same official is still assigned and answers again; the new answer replaces the old.
    let again = app
        .acts(&official, &appeal.id, "answer", 5, &json!({"outcome": "satisfied", "text": "Second answer."}))
        .await;
    assert_eq!(
        (again["status"].as_str(), again["answer"].as_str()),
        (Some("answered"), Some("Second answer."))
    );
    let seen = app.timeline_of(&citizen, &appeal.id).await;
    assert_eq!(actions(&seen), ["file", "take", "answer", "contest", "reopen", "answer"]);
    assert_eq!(seen[4]["data"]["comment"], "Answer the actual question.");
}

/// Appeals filed before the citizen's view had a version of its own start from their
/// version as it was, so an ETag a citizen holds stays valid.
#[tokio::test]
async fn appeals_from_before_migration_22_show_the_citizen_their_version_as_it_was() {
    let app = spawn_appeals_app().await;
    let citizen = app.citizen().await;
    let official = app.official_of(RECEPTION).await;
    let filed = app.files(&citizen, &complaint()).await;
    app.acts(&official, &filed.id, "take", 1, &json!({})).await;
    app.acts(&official, &filed.id, "note", 2, &json!({"text": "Call the vodokanal first."})).await;
    let path = format!("/api/v1/appeals/{}", filed.id);
    let seen: Value = app.get(&path, citizen.token()).await.json().await.unwrap();
    assert_eq!(seen["version"], 2);

    app.revert_migrations_through("m20261203_000022_public_version").await;
    app.db.migrate_up().await.unwrap();
    let seen: Value = app.get(&path, citizen.token()).await.json().await.unwrap();
    assert_eq!(seen["version"], 3, "the version it had, internal note included");
    let staff: Value = app.get(&path, official.token()).await.json().await.unwrap();
    assert_eq!((staff["version"].as_i64(), &staff["updated_at"]), (Some(3), &seen["updated_at"]));
    app.acts(&citizen, &filed.id, "message", 3, &json!({"text": "Any news?"})).await;
}
