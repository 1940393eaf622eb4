//! Routing rulesets end to end: drafts are validated, simulated, replayed and activated over
//! the API; filing routes with exactly one active version; staff read the routing trace.

use murojiat::app::App;
use murojiat::auth::keys::KeyRing;
use murojiat::services::Caller;
use murojiat::services::appeals::filing::{self, Filer};
use murojiat::store::entity::{category, territory};
use murojiat::store::{coverage, reference, users};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Session, TestApp, agency, assert_problem, spawn_app, spawn_app_with};

const RULESETS: &str = "/api/v1/admin/rulesets";

/// Version 1: water to the water ministry, schools to the education ministry.
const V1: &str = r#"
fallback_agency = "president-office"

[[rule]]
id = "water-v1"
when = { category = "utilities" }
then = { agency = "water-ministry" }

[[rule]]
id = "schools"
when = { category = "education" }
then = { agency = "education-ministry" }
"#;

/// Version 2: water to the district hukumat covering the appeal's district.
const V2: &str = r#"
fallback_agency = "president-office"

[[rule]]
id = "water-v2"
when = { category = "utilities" }
then = { agency_of_kind = "district-hukumat" }

[[rule]]
id = "schools"
when = { category = "education" }
then = { agency = "education-ministry" }
"#;

/// Territories (Sughd with two districts), categories and agencies the rules above name;
/// the Khujand and Isfara hukumats cover their districts.
async fn routing_world(app: &TestApp) {
    let conn = app.db.conn();
    for (code, parent, kind) in [
        ("sughd", None, "region"),
        ("khujand", Some("sughd"), "district"),
        ("isfara", Some("sughd"), "district"),
    ] {
        reference::insert_territory(
            conn,
            territory::Model {
                code: code.into(),
                parent_code: parent.map(str::to_owned),
                name_tg: code.into(),
                name_ru: code.into(),
                name_en: code.into(),
                active: true,
                kind: kind.into(),
            },
        )
        .await
        .unwrap();
    }
    for (code, parent) in
        [("utilities", None), ("water", Some("utilities")), ("education", None), ("other", None)]
    {
        reference::insert_category(
            conn,
            category::Model {
                code: code.into(),
                parent_code: parent.map(str::to_owned),
                name_tg: code.into(),
                name_ru: code.into(),
                name_en: code.into(),
                active: true,
            },
        )
        .await
        .unwrap();
    }
    for code in ["president-office", "water-ministry", "education-ministry"] {
        app.ensure_agency(code).await;
    }
    for (code, district) in [("hukumat-khujand", "khujand"), ("hukumat-isfara", "isfara")] {
        let row = agency(code).kind("district-hukumat").insert(app).await;
        coverage::replace(conn, row.id, &[district.to_owned()]).await.unwrap();
    }
}

/// The app with [`routing_world`] in place, its administrator and a citizen.
struct World {
    app: TestApp,
    admin: Session,
    citizen: Session,
}

async fn world() -> World {
    let app = spawn_app().await;
    routing_world(&app).await;
    let admin = app.admin().await;
    let citizen = app.citizen().await;
    World { app, admin, citizen }
}

/// [`world`] with the ruleset `toml` saved and activated; also its version.
async fn world_routed_by(toml: &str) -> (World, i64) {
    let world = world().await;
    let version = draft(&world.app, &world.admin, toml).await;
    assert_eq!(activate(&world.app, &world.admin, version).await.status(), 200);
    (world, version)
}

async fn create_draft(app: &TestApp, admin: &Session, toml: &str) -> reqwest::Response {
    app.request(Method::POST, RULESETS, admin.token())
        .header("content-type", "application/toml")
        .body(toml.to_owned())
        .send()
        .await
        .unwrap()
}

/// Saves and returns the version of a draft that must be valid.
async fn draft(app: &TestApp, admin: &Session, toml: &str) -> i64 {
    let response = create_draft(app, admin, toml).await;
    assert_eq!(response.status(), 201, "draft refused: {}", response.text().await.unwrap());
    response.json::<Value>().await.unwrap()["version"].as_i64().unwrap()
}

async fn activate(app: &TestApp, admin: &Session, version: i64) -> reqwest::Response {
    app.post_json(&format!("{RULESETS}/{version}/activate"), &json!({}), admin.token()).await
}

fn appeal_about(category: &str, district: &str) -> Value {
    json!({
        "kind": "complaint",
        "subject": format!("Дар бораи {category}"),
        "text": "Дар маҳаллаи мо се рӯз об нест, лутфан чора андешед.",
        "category": category,
        "region": "sughd",
        "district": district,
        "language": "tg",
    })
}

/// Files as the citizen and returns the appeal as filed.
async fn file(app: &TestApp, citizen: &Session, body: &Value) -> Value {
    let response = app.post_json("/api/v1/appeals", body, citizen.token()).await;
    assert_eq!(response.status(), 201, "filing failed: {}", response.text().await.unwrap());
    response.json().await.unwrap()
}

async fn stored(app: &TestApp, id: &str) -> murojiat::store::appeals::Appeal {
    murojiat::store::appeals::by_id(app.db.conn(), id.parse().unwrap()).await.unwrap().unwrap()
}

async fn agency_code(app: &TestApp, appeal: &murojiat::store::appeals::Appeal) -> String {
    murojiat::store::agencies::by_id(app.db.conn(), appeal.agency_id).await.unwrap().unwrap().code
}

#[tokio::test]
async fn filing_routes_with_the_active_version_and_records_version_rule_and_trace() {
    let World { app, admin, citizen } = world().await;

    let before = file(&app, &citizen, &appeal_about("water", "khujand")).await;
    let before = stored(&app, before["id"].as_str().unwrap()).await;
    assert_eq!(agency_code(&app, &before).await, "president-office", "no ruleset: the reception agency");
    assert_eq!((before.ruleset_version, before.rule_id.as_deref()), (None, None));

    let version = draft(&app, &admin, V2).await;
    assert_eq!(activate(&app, &admin, version).await.status(), 200);
    let filed = file(&app, &citizen, &appeal_about("water", "khujand")).await;
    let appeal = stored(&app, filed["id"].as_str().unwrap()).await;
    assert_eq!(agency_code(&app, &appeal).await, "hukumat-khujand", "a child category, the covering hukumat");
    assert_eq!(appeal.ruleset_version, Some(version as i32));
    assert_eq!(appeal.rule_id.as_deref(), Some("water-v2"));

    let isfara = file(&app, &citizen, &appeal_about("other", "isfara")).await;
    let isfara = stored(&app, isfara["id"].as_str().unwrap()).await;
    assert_eq!(agency_code(&app, &isfara).await, "president-office", "the fallback");
    assert_eq!(isfara.rule_id, None);
    assert_eq!(isfara.ruleset_version, Some(version as i32));
}

#[tokio::test]
async fn staff_who_see_the_appeal_read_its_routing_trace_and_nobody_else_does() {
    let (World { app, citizen, .. }, version) = world_routed_by(V2).await;
    let filed = file(&app, &citizen, &appeal_about("education", "khujand")).await;
    let path = format!("/api/v1/appeals/{}/routing", filed["id"].as_str().unwrap());

    let official = app.official_of("education-ministry").await;
    let response = app.get(&path, official.token()).await;
    assert_eq!(response.status(), 200);
    let routing: Value = response.json().await.unwrap();
    assert_eq!(routing["agency"], "education-ministry");
    assert_eq!(routing["ruleset_version"], version);
    assert_eq!(routing["rule_id"], "schools");
    // Filing routes through the rule index: the water rule before "schools" cannot hold for
    // an education appeal, so it is counted, not tried.
    let steps = routing["trace"]["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 1, "{routing}");
    assert_eq!(routing["trace"]["ruled_out"], 1, "{routing}");
    assert_eq!(steps[0]["rule_id"], "schools");
    assert_eq!(steps[0]["outcome"], "matched");
    assert_eq!(steps[0]["line"], 10, "the TOML line of the matching rule");

    assert_eq!(app.get(&path, citizen.token()).await.status(), 404, "citizens get 404");
    let other = app.official_of("water-ministry").await;
    assert_eq!(app.get(&path, other.token()).await.status(), 404, "another agency's official");
}

#[tokio::test]
async fn activating_a_new_version_while_filing_continues_routes_each_appeal_by_exactly_one_version() {
    let World { app, admin, citizen } = world().await;
    let v1 = draft(&app, &admin, V1).await;
    let v2 = draft(&app, &admin, V2).await;
    assert_eq!(activate(&app, &admin, v1).await.status(), 200);

    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            file(&app, &citizen, &appeal_about("water", "khujand")).await["id"].as_str().unwrap().to_owned(),
        );
    }
    let body = appeal_about("water", "khujand");
    let filings = (0..8).map(|_| file(&app, &citizen, &body));
    let (during, activation) = tokio::join!(futures::future::join_all(filings), activate(&app, &admin, v2));
    assert_eq!(activation.status(), 200);
    ids.extend(during.iter().map(|a| a["id"].as_str().unwrap().to_owned()));
    let after_activation = ids.len();
    for _ in 0..3 {
        ids.push(
            file(&app, &citizen, &appeal_about("water", "khujand")).await["id"].as_str().unwrap().to_owned(),
        );
    }

    for (position, id) in ids.iter().enumerate() {
        let appeal = stored(&app, id).await;
        let agency = agency_code(&app, &appeal).await;
        let trace: Value = serde_json::from_str(appeal.routing_trace.as_deref().unwrap()).unwrap();
        let matched = trace["steps"].as_array().unwrap().last().unwrap().clone();
        let version = appeal.ruleset_version.map(i64::from);
        let expected = if version == Some(v1) {
            ("water-v1", "water-ministry")
        } else if version == Some(v2) {
            ("water-v2", "hukumat-khujand")
        } else {
            panic!("appeal {position} has version {version:?}")
        };
        assert_eq!((appeal.rule_id.as_deref().unwrap(), agency.as_str()), expected, "appeal {position}");
        assert_eq!(matched["rule_id"], expected.0, "the trace is of the same version, appeal {position}");
        assert_eq!(matched["agency"], expected.1);
        if position < 3 {
            assert_eq!(version, Some(v1), "filed before the activation");
        }
        if position >= after_activation {
            assert_eq!(version, Some(v2), "filed after the activation");
        }
    }
}

/// A second application instance on the same database, with its own router cache, as
/// another process would be.
fn second_instance(app: &TestApp) -> App {
    let clock = std::sync::Arc::new(app.clock.clone());
    App::assemble(app.app.settings.clone(), app.db.clone(), clock, KeyRing::generate()).unwrap()
}

/// Files through `instance`'s services as the citizen of `session`.
async fn file_on(instance: &App, session: &Session, body: &Value) -> murojiat::store::appeals::Appeal {
    let user = users::by_id(instance.db.conn(), session.user_id.parse().unwrap()).await.unwrap().unwrap();
    let caller = Caller::of(&user).expect("an enabled account");
    let raw = serde_json::from_value(body.clone()).unwrap();
    filing::file(instance, Filer::Citizen(&caller), raw, None).await.unwrap().seen.appeal
}

/// Each instance keeps the active version number for `appeals.reference_cache_secs`: the
/// instance that activates a version files with it at once, another within that time.
#[tokio::test]
async fn another_instance_routes_with_a_version_activated_elsewhere_without_restart() {
    let World { app, admin, citizen } = world().await;
    let other = second_instance(&app);
    let v1 = draft(&app, &admin, V1).await;
    activate(&app, &admin, v1).await;
    let filed = file_on(&other, &citizen, &appeal_about("water", "isfara")).await;
    assert_eq!(filed.ruleset_version.map(i64::from), Some(v1));

    let v2 = draft(&app, &admin, V2).await;
    activate(&app, &admin, v2).await;
    let here = file(&app, &citizen, &appeal_about("water", "isfara")).await;
    let here = stored(&app, here["id"].as_str().unwrap()).await;
    assert_eq!(here.ruleset_version.map(i64::from), Some(v2), "the activating instance, at once");
    let filed = file_on(&other, &citizen, &appeal_about("water", "isfara")).await;
    assert_eq!(filed.ruleset_version.map(i64::from), Some(v1), "the other keeps its copy a while");
    assert_eq!(agency_code(&app, &filed).await, "water-ministry", "routed by the version it records");

    let cached = app.app.settings.appeals.reference_cache_secs as i64;
    app.clock.advance(chrono::Duration::seconds(cached));
    let filed = file_on(&other, &citizen, &appeal_about("water", "isfara")).await;
    assert_eq!(filed.ruleset_version.map(i64::from), Some(v2), "seen once its copy is that old");
    assert_eq!(agency_code(&app, &filed).await, "hukumat-isfara");
}

#[tokio::test]
async fn replay_reports_exactly_the_appeals_a_draft_would_move_and_changes_nothing() {
    let (World { app, admin, citizen }, _) = world_routed_by(V1).await;

    // Outside the period: filed a minute before it.
    file(&app, &citizen, &appeal_about("water", "khujand")).await;
    app.clock.advance(chrono::Duration::minutes(1));
    let from = app.clock_now();
    let mut khujand = Vec::new();
    for _ in 0..3 {
        khujand.push(file(&app, &citizen, &appeal_about("water", "khujand")).await["id"].clone());
    }
    let isfara = file(&app, &citizen, &appeal_about("utilities", "isfara")).await["id"].clone();
    for _ in 0..2 {
        file(&app, &citizen, &appeal_about("education", "isfara")).await;
    }
    app.clock.advance(chrono::Duration::minutes(1));
    let until = app.clock_now();
    // Outside the period: filed at its end.
    file(&app, &citizen, &appeal_about("water", "khujand")).await;

    let v2 = draft(&app, &admin, V2).await;
    let response = app
        .post_json(&format!("{RULESETS}/{v2}/replay"), &json!({"from": from, "until": until}), admin.token())
        .await;
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["unchanged"], 2, "the education appeals stay: {report}");
    assert_eq!(
        report["moves"],
        json!([
            {"from": "water-ministry", "to": "hukumat-khujand", "count": 3, "examples": khujand},
            {"from": "water-ministry", "to": "hukumat-isfara", "count": 1, "examples": [isfara]},
        ])
    );
    let unchanged = stored(&app, khujand[0].as_str().unwrap()).await;
    assert_eq!(agency_code(&app, &unchanged).await, "water-ministry", "replay changes nothing");
    let listed: Value = app.get(RULESETS, admin.token()).await.json().await.unwrap();
    let statuses: Vec<&str> =
        listed["items"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["draft", "active"], "replay activates nothing");

    // Instants at the edges of what a date can name read as the whole record, not a 500.
    let everything = json!({"from": "-5000-01-01T00:00:00Z", "until": "+10000-01-01T00:00:00Z"});
    let response = app.post_json(&format!("{RULESETS}/{v2}/replay"), &everything, admin.token()).await;
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    let moved: u64 = report["moves"].as_array().unwrap().iter().map(|m| m["count"].as_u64().unwrap()).sum();
    assert_eq!((moved, report["unchanged"].as_u64()), (6, Some(2)), "{report}");
}

#[tokio::test]
async fn a_draft_with_validation_errors_is_a_422_naming_rule_and_line_and_is_not_saved() {
    let app = spawn_app().await;
    routing_world(&app).await;
    let admin = app.admin().await;
    let bad = r#"fallback_agency = "president-office"

[[rule]]
id = "ghost"
when = { category = "utilities" }
then = { agency = "no-such-agency" }

[[rule]]
id = "ghost"
when = { territory = "atlantis" }
then = { agency = "water-ministry" }
"#;
    let problem = assert_problem(create_draft(&app, &admin, bad).await, 422, "validation").await;
    let messages: Vec<&str> =
        problem.body["errors"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap()).collect();
    assert!(problem.error_fields().contains(&"rule[ghost]"), "{:?}", problem.body);
    assert!(
        messages.iter().any(|m| m.contains("line 4") && m.contains("unknown agency 'no-such-agency'")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("line 9") && m.contains("unknown territory 'atlantis'")),
        "{messages:?}"
    );
    assert!(messages.iter().any(|m| m.contains("duplicate rule id")), "{messages:?}");

    let syntax =
        assert_problem(create_draft(&app, &admin, "fallback_agency = \n").await, 422, "validation").await;
    assert_eq!(syntax.error_code("source"), Some("syntax"));
    let json_draft = app.post_json(RULESETS, &json!({"rule": []}), admin.token()).await;
    let missing = assert_problem(json_draft, 422, "validation").await;
    assert_eq!(missing.error_code("source"), Some("syntax"), "JSON without a fallback agency");

    let listed: Value = app.get(RULESETS, admin.token()).await.json().await.unwrap();
    assert_eq!(listed["items"], json!([]), "nothing was saved");
    let official = app.official_of("water-ministry").await;
    assert_problem(create_draft(&app, &official, V1).await, 403, "forbidden").await;
}

#[tokio::test]
async fn only_a_draft_can_be_activated_and_exactly_one_version_is_active() {
    let app = spawn_app().await;
    routing_world(&app).await;
    let admin = app.admin().await;
    let v1 = draft(&app, &admin, V1).await;
    let v2 = draft(&app, &admin, V2).await;
    assert_eq!(activate(&app, &admin, v1).await.status(), 200);
    assert_problem(activate(&app, &admin, v1).await, 409, "conflict").await;
    assert_eq!(activate(&app, &admin, v2).await.status(), 200);
    assert_problem(activate(&app, &admin, v1).await, 409, "conflict").await;
    assert_problem(activate(&app, &admin, 99).await, 404, "not-found").await;

    let listed: Value = app.get(RULESETS, admin.token()).await.json().await.unwrap();
    let statuses: Vec<(i64, &str)> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["version"].as_i64().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(statuses, [(v2, "active"), (v1, "retired")]);
}

#[tokio::test]
async fn concurrent_activations_leave_exactly_one_active_version() {
    let app = spawn_app().await;
    routing_world(&app).await;
    let admin = app.admin().await;
    let mut versions = Vec::new();
    for _ in 0..4 {
        versions.push(draft(&app, &admin, V1).await);
    }
    let attempts = versions.iter().map(|v| activate(&app, &admin, *v));
    let statuses: Vec<u16> =
        futures::future::join_all(attempts).await.iter().map(|r| r.status().as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 200 || *s == 409), "{statuses:?}");
    let active = murojiat::store::rulesets::active_version(app.db.conn()).await.unwrap();
    assert!(active.is_some_and(|v| versions.contains(&i64::from(v))));
    let listed: Value = app.get(RULESETS, admin.token()).await.json().await.unwrap();
    let actives = listed["items"].as_array().unwrap().iter().filter(|r| r["status"] == "active").count();
    assert_eq!(actives, 1);
}

#[tokio::test]
async fn simulating_a_draft_gives_the_decision_and_the_trace() {
    let app = spawn_app().await;
    routing_world(&app).await;
    let admin = app.admin().await;
    let v2 = draft(&app, &admin, V2).await;
    let sample = json!({"appeal": {
        "kind": "complaint", "category": "water", "territory": "isfara",
        "subject": "Об нест", "text": "Об нест", "collective": false,
        "applicant_type": "person", "channel": "web", "filed_on": "2026-03-02"
    }});
    let response = app.post_json(&format!("{RULESETS}/{v2}/simulate"), &sample, admin.token()).await;
    assert_eq!(response.status(), 200);
    let result: Value = response.json().await.unwrap();
    assert_eq!(result["decision"]["agency"], "hukumat-isfara");
    assert_eq!(result["decision"]["rule_id"], "water-v2");
    assert_eq!(result["trace"]["steps"][0]["outcome"], "matched");
    assert_eq!(result["trace"]["fallback"], false);

    let mut unknown_field = sample.clone();
    unknown_field["appeal"]["colour"] = json!("red");
    let response = app.post_json(&format!("{RULESETS}/{v2}/simulate"), &unknown_field, admin.token()).await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn a_supervisors_reroute_is_an_event_and_keeps_the_filing_decision_on_record() {
    let (World { app, citizen, .. }, _) = world_routed_by(V1).await;
    let filed = file(&app, &citizen, &appeal_about("water", "khujand")).await;
    let id = filed["id"].as_str().unwrap();
    let supervisor = app.supervisor_of("water-ministry").await;
    let response = app
        .post_json(
            &format!("/api/v1/appeals/{id}/actions/reroute"),
            &json!({"agency": "hukumat-khujand", "reason": "Водопровод махалли", "version": filed["version"]}),
            supervisor.token(),
        )
        .await;
    // The supervisor sees what they did, with nothing more they may do, and then no longer
    // sees the appeal: it belongs to the hukumat (see services::appeals::actions::act).
    assert_eq!(response.status(), 200);
    let rerouted: Value = response.json().await.unwrap();
    assert_eq!(
        (&rerouted["agency"]["code"], &rerouted["allowed_actions"]),
        (&json!("hukumat-khujand"), &json!([]))
    );
    assert_eq!(app.get(&format!("/api/v1/appeals/{id}"), supervisor.token()).await.status(), 404);
    let appeal = stored(&app, id).await;
    assert_eq!(agency_code(&app, &appeal).await, "hukumat-khujand");
    assert_eq!(appeal.rule_id.as_deref(), Some("water-v1"), "the filing decision stays on record");
    let official = app.official_of("hukumat-khujand").await;
    let timeline: Value =
        app.get(&format!("/api/v1/appeals/{id}/timeline"), official.token()).await.json().await.unwrap();
    assert!(timeline.to_string().contains("reroute"), "{timeline}");
    let routing: Value =
        app.get(&format!("/api/v1/appeals/{id}/routing"), official.token()).await.json().await.unwrap();
    assert_eq!(routing["agency"], "hukumat-khujand");
    assert_eq!(routing["rule_id"], "water-v1");
}

#[tokio::test]
async fn the_demo_seeds_reference_data_coverage_and_its_rules_as_active_version_1() {
    let app = spawn_app().await;
    let config = &app.app.settings.config_dir;
    assert!(murojiat::demo::seed_reference(&app.app, config).await.unwrap() > 0);
    assert!(murojiat::demo::seed_if_empty(&app.app, config).await.unwrap());
    assert!(murojiat::demo::seed_rules_if_none(&app.app, config).await.unwrap());
    assert!(!murojiat::demo::seed_rules_if_none(&app.app, config).await.unwrap(), "only once");
    assert_eq!(murojiat::store::rulesets::active_version(app.db.conn()).await.unwrap(), Some(1));

    let citizen = app.citizen().await;
    let body = json!({
        "kind": "complaint",
        "subject": "Об нест",
        "text": "Дар маҳаллаи мо се рӯз об нест, лутфан чора андешед.",
        "category": "water-supply",
        "region": "tj-sughd",
        "district": "tj-sughd-khujand",
        "language": "tg",
    });
    let filed = file(&app, &citizen, &body).await;
    let appeal = stored(&app, filed["id"].as_str().unwrap()).await;
    assert_eq!(appeal.ruleset_version, Some(1));
    assert!(appeal.rule_id.is_some(), "a demo rule, not the fallback, routes water in Khujand");
    assert_ne!(agency_code(&app, &appeal).await, "president-office");
}

/// The agency hierarchy is cached per process (`appeals.reference_cache_secs`), but
/// an agency changed through this process's admin API takes effect at once, clock unmoved.
#[tokio::test]
async fn an_agency_deactivated_through_the_api_receives_no_new_appeal_from_the_next_filing_on() {
    let (World { app, admin, citizen }, _) = world_routed_by(V1).await;
    let before = file(&app, &citizen, &appeal_about("water", "khujand")).await;
    let before = stored(&app, before["id"].as_str().unwrap()).await;
    assert_eq!(agency_code(&app, &before).await, "water-ministry", "the cache now holds the agency");

    let water = murojiat::store::agencies::by_code(app.db.conn(), "water-ministry").await.unwrap().unwrap();
    let path = format!("/api/v1/admin/agencies/{}", water.id);
    assert_eq!(app.patch_json(&path, &json!({"active": false}), admin.token()).await.status(), 200);

    let after = file(&app, &citizen, &appeal_about("water", "khujand")).await;
    let after = stored(&app, after["id"].as_str().unwrap()).await;
    assert_eq!(agency_code(&app, &after).await, "president-office", "never an inactive agency");
}

#[tokio::test]
async fn when_the_active_version_no_longer_validates_filing_still_goes_to_the_reception() {
    let World { app, admin, citizen } = world().await;
    let v1 = draft(&app, &admin, V1).await;
    let v2 = draft(&app, &admin, V1).await;
    activate(&app, &admin, v1).await;
    let before = file(&app, &citizen, &appeal_about("water", "khujand")).await;
    assert_eq!(stored(&app, before["id"].as_str().unwrap()).await.rule_id.as_deref(), Some("water-v1"));
    let conn = app.db.conn();
    let water = murojiat::store::agencies::by_code(conn, "water-ministry").await.unwrap().unwrap();
    let mut change: murojiat::store::entity::agency::ActiveModel = water.into();
    change.active = sea_orm::Set(false);
    murojiat::store::agencies::update(conn, change).await.unwrap();
    // Changed behind the server's back, as by another process: it shows once the server's
    // cached agency hierarchy is older than `appeals.reference_cache_secs`.
    let cached = app.app.settings.appeals.reference_cache_secs as i64;
    app.clock.advance(chrono::Duration::seconds(cached));

    let filed = file(&app, &citizen, &appeal_about("water", "khujand")).await;
    let appeal = stored(&app, filed["id"].as_str().unwrap()).await;
    assert_eq!(agency_code(&app, &appeal).await, "president-office", "never an inactive agency");
    assert_eq!(appeal.ruleset_version, None, "no version routed it");
    assert_problem(activate(&app, &admin, v2).await, 409, "conflict").await;
}

/// `count` distinct rules after V1's header: each a keyword rule of about 300 bytes.
fn ruleset_of(count: usize) -> String {
    let mut toml = String::from("fallback_agency = \"president-office\"\n");
    for n in 0..count {
        toml.push_str(&format!(
            "\n[[rule]]\nid = \"mahalla-{n:05}\"\npriority = 70\n\
             description = \"Water in mahalla Navbahor-{n}, reported to the district's hukumat\"\n\
             when = {{ category = \"utilities\", territory = \"khujand\", keywords = {{ any = [\"Навбаҳор-{n}\", \"Navbahor {n}\"] }} }}\n\
             then = {{ agency_of_kind = \"district-hukumat\" }}\n"
        ));
    }
    toml
}

#[tokio::test]
async fn a_ruleset_larger_than_the_json_limit_is_accepted_and_only_one_over_the_ruleset_limit_is_a_413() {
    let app = spawn_app_with(|figment| {
        figment.merge(figment::providers::Serialized::default("server.ruleset_body_limit_bytes", 1_000_000))
    })
    .await;
    routing_world(&app).await;
    let admin = app.admin().await;
    let large = ruleset_of(300);
    assert!(large.len() > 65_536, "{} bytes", large.len());
    let version = draft(&app, &admin, &large).await;
    assert_eq!(activate(&app, &admin, version).await.status(), 200);
    let citizen = app.citizen().await;
    let mut body = appeal_about("water", "khujand");
    body["text"] = json!("Дар маҳаллаи Навбаҳор-299 се рӯз об нест.");
    let filed = stored(&app, file(&app, &citizen, &body).await["id"].as_str().unwrap()).await;
    assert!(filed.rule_id.as_deref().is_some_and(|id| id.starts_with("mahalla-")), "{:?}", filed.rule_id);
    assert_eq!(agency_code(&app, &filed).await, "hukumat-khujand");

    let too_big = ruleset_of(4000);
    assert!(too_big.len() > 1_000_000, "{} bytes", too_big.len());
    assert_problem(create_draft(&app, &admin, &too_big).await, 413, "payload-too-large").await;
    let listed: Value = app.get(RULESETS, admin.token()).await.json().await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "the refused source saved nothing");
}
