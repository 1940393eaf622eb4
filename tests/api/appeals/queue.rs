//! The staff work queue, `GET /api/v1/queue`: which appeals an official and a supervisor
//! see, every filter, full-text search in Tajik and Russian, both orders, keyset pages, and
//! the 422 that names a malformed parameter. Every answer is compared by appeal id, in order.
//! (That a citizen or an administrator gets a 403 is a row of the matrix in access.rs.)

use chrono::{DateTime, Duration, Utc};
use figment::providers::Serialized;
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::scheduler::instant;
use crate::support::appeals::{
    Filed, GOVERNMENT, OTHER_AGENCY, RECEPTION, complaint, spawn_appeals_app_with,
};
use crate::support::{Session, TestApp, assert_problem};

/// An appeals app whose access tokens outlive the clock's jumps over days and weeks.
async fn spawn_queue_app() -> TestApp {
    spawn_appeals_app_with(|f| f.merge(Serialized::default("auth.access_token_ttl_secs", 100_000_000))).await
}

/// A queue app with a citizen who files and an official of the reception who works the queue.
struct Desk {
    app: TestApp,
    citizen: Session,
    official: Session,
}

async fn desk() -> Desk {
    let app = spawn_queue_app().await;
    let citizen = app.citizen().await;
    let official = app.official_of(RECEPTION).await;
    Desk { app, citizen, official }
}

/// [`complaint`] with the fields in `changes` replaced.
fn complaint_with(changes: Value) -> Value {
    let mut body = complaint();
    for (field, value) in changes.as_object().expect("an object of changes") {
        body[field] = value.clone();
    }
    body
}

/// `GET /api/v1/queue` with these query parameters, as `who`.
async fn ask_queue(app: &TestApp, who: &Session, params: &[(&str, &str)]) -> reqwest::Response {
    let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
    app.get(&format!("/api/v1/queue?{query}"), who.token()).await
}

/// The page `who` gets for these query parameters; panics unless it is a 200.
async fn queue_page(app: &TestApp, who: &Session, params: &[(&str, &str)]) -> Value {
    let response = ask_queue(app, who, params).await;
    let status = response.status();
    let text = response.text().await.expect("a body");
    assert_eq!(status, 200, "queue {params:?}: {text}");
    serde_json::from_str(&text).expect("a page is JSON")
}

/// The ids on the first page `who` gets for these query parameters, in order.
async fn queue_ids(app: &TestApp, who: &Session, params: &[(&str, &str)]) -> Vec<String> {
    ids_on(&queue_page(app, who, params).await)
}

fn ids_on(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The ids of `appeals`, in the order given: what a page is compared with.
fn ids_of(appeals: &[&Filed]) -> Vec<String> {
    appeals.iter().map(|appeal| appeal.id.clone()).collect()
}

/// One field of every item on the page, in order.
fn field_on<'a>(page: &'a Value, field: &str) -> Vec<&'a str> {
    page["items"].as_array().unwrap().iter().map(|item| item[field].as_str().unwrap()).collect()
}

/// The appeal as `who` sees it now.
async fn appeal_as(app: &TestApp, who: &Session, appeal: &Filed) -> Value {
    let response = app.get(&appeal.url(), who.token()).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

async fn due_at(app: &TestApp, who: &Session, appeal: &Filed) -> DateTime<Utc> {
    instant(&appeal_as(app, who, appeal).await["due_at"])
}

/// Three complaints filed a day apart, oldest first; the oldest is taken and given ten more
/// days, so by deadline it comes last.
async fn three_days_the_first_extended(
    app: &TestApp,
    citizen: &Session,
    official: &Session,
    supervisor: &Session,
) -> [Filed; 3] {
    let oldest = app.files(citizen, &complaint()).await;
    app.clock.advance(Duration::days(1));
    let middle = app.files(citizen, &complaint()).await;
    app.clock.advance(Duration::days(1));
    let newest = app.files(citizen, &complaint()).await;
    app.acts(official, &oldest.id, "take", 1, &json!({})).await;
    let extension = json!({"days": 10, "reason": "An inspection is needed."});
    app.acts(supervisor, &oldest.id, "grant-extension", 2, &extension).await;
    [oldest, middle, newest]
}

#[tokio::test]
async fn an_officials_queue_holds_the_open_appeals_of_their_agency_soonest_deadline_first() {
    let Desk { app, citizen, official } = desk().await;
    let supervisor = app.supervisor_of(RECEPTION).await;
    let [extended, second, third] =
        three_days_the_first_extended(&app, &citizen, &official, &supervisor).await;
    // Appeals the reception owes nothing more on, or no longer holds.
    let answered = app.files(&citizen, &complaint()).await;
    app.acts(&official, &answered.id, "take", 1, &json!({})).await;
    app.acts(&official, &answered.id, "answer", 2, &json!({"outcome": "explained", "text": "Done."})).await;
    let dismissed = app.files(&citizen, &complaint()).await;
    app.acts(&official, &dismissed.id, "dismiss", 1, &json!({"reason": "abusive", "comment": "Insults."}))
        .await;
    let withdrawn = app.files(&citizen, &complaint()).await;
    app.acts(&citizen, &withdrawn.id, "withdraw", 1, &json!({})).await;
    let forwarded = app.files(&citizen, &complaint()).await;
    let forward = json!({"agency": OTHER_AGENCY, "reason": "Health matters are the ministry's."});
    app.acts(&official, &forwarded.id, "forward", 1, &forward).await;

    let page = queue_page(&app, &official, &[]).await;
    assert_eq!(ids_on(&page), ids_of(&[&second, &third, &extended]), "{page}");
    assert_eq!(field_on(&page, "status"), ["registered", "registered", "in_progress"]);
    let due: Vec<DateTime<Utc>> =
        page["items"].as_array().unwrap().iter().map(|i| instant(&i["due_at"])).collect();
    assert!(due.windows(2).all(|w| w[0] < w[1]), "soonest deadline first: {due:?}");
    assert_eq!(page["next_cursor"], Value::Null, "one page holds them all: {page}");
    // The forwarded appeal is in the other agency's queue, and only there.
    let other = app.official_of(OTHER_AGENCY).await;
    assert_eq!(queue_ids(&app, &other, &[]).await, ids_of(&[&forwarded]));
}

#[tokio::test]
async fn a_supervisor_sees_the_queue_of_their_agency_and_of_every_agency_under_it() {
    let Desk { app, citizen, official } = desk().await;
    let here = app.files(&citizen, &complaint()).await;
    app.clock.advance(Duration::days(1));
    let there = app.files(&citizen, &complaint()).await;
    let forward = json!({"agency": OTHER_AGENCY, "reason": "Health matters are the ministry's."});
    app.acts(&official, &there.id, "forward", 1, &forward).await;
    app.clock.advance(Duration::days(1));
    let later = app.files(&citizen, &complaint()).await;

    // `government` is the parent of both the reception and the health ministry: one queue,
    // still in deadline order across the two agencies.
    let parent = app.supervisor_of(GOVERNMENT).await;
    assert_eq!(queue_ids(&app, &parent, &[]).await, ids_of(&[&here, &there, &later]));
    let reception = app.supervisor_of(RECEPTION).await;
    assert_eq!(queue_ids(&app, &reception, &[]).await, ids_of(&[&here, &later]));
    let ministry = app.supervisor_of(OTHER_AGENCY).await;
    assert_eq!(queue_ids(&app, &ministry, &[]).await, ids_of(&[&there]));
    // An official of the parent agency sees only the parent's own appeals: none.
    let parent_official = app.official_of(GOVERNMENT).await;
    assert_eq!(queue_ids(&app, &parent_official, &[]).await, Vec::<String>::new());
}

#[tokio::test]
async fn the_status_filter_takes_several_comma_separated_statuses_closed_ones_included() {
    let Desk { app, citizen, official } = desk().await;
    let registered = app.files(&citizen, &complaint()).await;
    app.clock.advance(Duration::days(1));
    let in_progress = app.files(&citizen, &complaint()).await;
    app.acts(&official, &in_progress.id, "take", 1, &json!({})).await;
    app.clock.advance(Duration::days(1));
    let awaiting = app.files(&citizen, &complaint()).await;
    app.acts(&official, &awaiting.id, "take", 1, &json!({})).await;
    app.acts(&official, &awaiting.id, "request-info", 2, &json!({"message": "Which house?"})).await;
    app.clock.advance(Duration::days(1));
    let dismissed = app.files(&citizen, &complaint()).await;
    app.acts(&official, &dismissed.id, "dismiss", 1, &json!({"reason": "abusive", "comment": "Insults."}))
        .await;
    app.clock.advance(Duration::days(1));
    let answered = app.files(&citizen, &complaint()).await;
    app.acts(&official, &answered.id, "take", 1, &json!({})).await;
    app.acts(&official, &answered.id, "answer", 2, &json!({"outcome": "explained", "text": "Done."})).await;

    assert_eq!(queue_ids(&app, &official, &[]).await, ids_of(&[&registered, &in_progress, &awaiting]));
    let page = queue_page(&app, &official, &[("status", "in_progress,awaiting_citizen")]).await;
    assert_eq!(ids_on(&page), ids_of(&[&in_progress, &awaiting]));
    assert_eq!(field_on(&page, "status"), ["in_progress", "awaiting_citizen"]);
    // Statuses that are not open are there when asked for; spaces around commas are allowed.
    let page = queue_page(&app, &official, &[("status", "dismissed, answered")]).await;
    assert_eq!(ids_on(&page), ids_of(&[&dismissed, &answered]));
    assert_eq!(field_on(&page, "status"), ["dismissed", "answered"]);
    assert_eq!(queue_ids(&app, &official, &[("status", "registered")]).await, ids_of(&[&registered]));
    assert_eq!(queue_ids(&app, &official, &[("status", "closed")]).await, Vec::<String>::new());
}

#[tokio::test]
async fn the_assignee_filter_takes_me_unassigned_or_a_colleagues_user_id() {
    let Desk { app, citizen, official } = desk().await;
    let colleague = app.official_of(RECEPTION).await;
    let mine = app.files(&citizen, &complaint()).await;
    app.acts(&official, &mine.id, "take", 1, &json!({})).await;
    app.clock.advance(Duration::days(1));
    let theirs = app.files(&citizen, &complaint()).await;
    app.acts(&colleague, &theirs.id, "take", 1, &json!({})).await;
    app.clock.advance(Duration::days(1));
    let nobodys = app.files(&citizen, &complaint()).await;

    assert_eq!(queue_ids(&app, &official, &[]).await, ids_of(&[&mine, &theirs, &nobodys]));
    assert_eq!(queue_ids(&app, &official, &[("assignee", "me")]).await, ids_of(&[&mine]));
    assert_eq!(queue_ids(&app, &colleague, &[("assignee", "me")]).await, ids_of(&[&theirs]));
    assert_eq!(queue_ids(&app, &official, &[("assignee", "unassigned")]).await, ids_of(&[&nobodys]));
    assert_eq!(queue_ids(&app, &official, &[("assignee", &colleague.user_id)]).await, ids_of(&[&theirs]));
    let nobody = Uuid::now_v7().to_string();
    assert_eq!(queue_ids(&app, &official, &[("assignee", &nobody)]).await, Vec::<String>::new());
}

/// Three appeals at the reception, filed a day apart, that differ in every coded field.
struct Varied {
    /// water-supply, dushanbe / dushanbe-sino, complaint
    water_in_sino: Filed,
    /// electricity, sughd / sughd-khujand, proposal
    power_in_khujand: Filed,
    /// electricity, dushanbe with no district, application
    power_in_dushanbe: Filed,
}

async fn file_varied(app: &TestApp, citizen: &Session) -> Varied {
    let water_in_sino = app.files(citizen, &complaint()).await;
    app.clock.advance(Duration::days(1));
    let power_in_khujand = app
        .files(
            citizen,
            &complaint_with(json!({
                "category": "electricity", "region": "sughd", "district": "sughd-khujand", "kind": "proposal",
            })),
        )
        .await;
    app.clock.advance(Duration::days(1));
    let power_in_dushanbe = app
        .files(
            citizen,
            &complaint_with(json!({
                "category": "electricity", "region": "dushanbe", "district": null, "kind": "application",
            })),
        )
        .await;
    Varied { water_in_sino, power_in_khujand, power_in_dushanbe }
}

#[tokio::test]
async fn the_category_filter_takes_several_comma_separated_codes() {
    let Desk { app, citizen, official } = desk().await;
    let v = file_varied(&app, &citizen).await;

    let page = queue_page(&app, &official, &[("category", "electricity")]).await;
    assert_eq!(ids_on(&page), ids_of(&[&v.power_in_khujand, &v.power_in_dushanbe]));
    assert_eq!(field_on(&page, "category"), ["electricity", "electricity"]);
    assert_eq!(
        queue_ids(&app, &official, &[("category", "water-supply")]).await,
        ids_of(&[&v.water_in_sino])
    );
    assert_eq!(
        queue_ids(&app, &official, &[("category", "electricity,water-supply")]).await,
        ids_of(&[&v.water_in_sino, &v.power_in_khujand, &v.power_in_dushanbe])
    );
    assert_eq!(queue_ids(&app, &official, &[("category", "no-such-topic")]).await, Vec::<String>::new());
}

#[tokio::test]
async fn the_territory_filter_matches_an_appeals_region_or_its_district() {
    let Desk { app, citizen, official } = desk().await;
    let v = file_varied(&app, &citizen).await;

    // A region finds the appeals in it, with a district or without.
    let page = queue_page(&app, &official, &[("territory", "dushanbe")]).await;
    assert_eq!(ids_on(&page), ids_of(&[&v.water_in_sino, &v.power_in_dushanbe]));
    assert_eq!(field_on(&page, "region"), ["dushanbe", "dushanbe"]);
    // A district finds only the appeals that name it.
    let page = queue_page(&app, &official, &[("territory", "dushanbe-sino")]).await;
    assert_eq!(ids_on(&page), ids_of(&[&v.water_in_sino]));
    assert_eq!(page["items"][0]["district"], "dushanbe-sino");
    assert_eq!(queue_ids(&app, &official, &[("territory", "sughd")]).await, ids_of(&[&v.power_in_khujand]));
    assert_eq!(
        queue_ids(&app, &official, &[("territory", "sughd-khujand,dushanbe-sino")]).await,
        ids_of(&[&v.water_in_sino, &v.power_in_khujand])
    );
    assert_eq!(queue_ids(&app, &official, &[("territory", "khatlon")]).await, Vec::<String>::new());
}

#[tokio::test]
async fn the_kind_filter_takes_several_comma_separated_kinds() {
    let Desk { app, citizen, official } = desk().await;
    let v = file_varied(&app, &citizen).await;

    let page = queue_page(&app, &official, &[("kind", "proposal,application")]).await;
    assert_eq!(ids_on(&page), ids_of(&[&v.power_in_khujand, &v.power_in_dushanbe]));
    assert_eq!(field_on(&page, "kind"), ["proposal", "application"]);
    assert_eq!(queue_ids(&app, &official, &[("kind", "complaint")]).await, ids_of(&[&v.water_in_sino]));
    assert_eq!(queue_ids(&app, &official, &[("kind", "request")]).await, Vec::<String>::new());
}

#[tokio::test]
async fn filters_of_different_parameters_must_all_match() {
    let Desk { app, citizen, official } = desk().await;
    let v = file_varied(&app, &citizen).await;
    app.acts(&official, &v.power_in_dushanbe.id, "take", 1, &json!({})).await;

    let both = [("category", "electricity"), ("territory", "dushanbe")];
    assert_eq!(queue_ids(&app, &official, &both).await, ids_of(&[&v.power_in_dushanbe]));
    let all =
        [("category", "electricity"), ("territory", "dushanbe"), ("assignee", "me"), ("kind", "application")];
    assert_eq!(queue_ids(&app, &official, &all).await, ids_of(&[&v.power_in_dushanbe]));
    let none = [("category", "electricity"), ("assignee", "unassigned"), ("territory", "dushanbe")];
    assert_eq!(queue_ids(&app, &official, &none).await, Vec::<String>::new());
}

#[tokio::test]
async fn the_deadline_filter_splits_overdue_due_soon_and_on_time_at_the_clocks_time() {
    let Desk { app, citizen, official } = desk().await;
    let late = app.files(&citizen, &complaint()).await;
    app.clock.advance(Duration::days(7));
    let soon = app.files(&citizen, &complaint()).await;
    app.clock.advance(Duration::days(14));
    let later = app.files(&citizen, &complaint()).await;
    let (late_due, soon_due, later_due) = (
        due_at(&app, &official, &late).await,
        due_at(&app, &official, &soon).await,
        due_at(&app, &official, &later).await,
    );
    // What the test relies on: a day before `soon` falls due, `late` has passed its deadline
    // and `later` is weeks away (whatever days off the calendar rolls the deadlines over).
    assert!(late_due < soon_due - Duration::days(1), "{late_due} {soon_due}");
    assert!(later_due > soon_due + Duration::days(10), "{soon_due} {later_due}");

    app.clock.set(soon_due - Duration::days(1));
    assert_eq!(queue_ids(&app, &official, &[("deadline", "overdue")]).await, ids_of(&[&late]));
    assert_eq!(queue_ids(&app, &official, &[("deadline", "due_soon")]).await, ids_of(&[&soon]));
    assert_eq!(queue_ids(&app, &official, &[("deadline", "on_time")]).await, ids_of(&[&later]));
    let page = queue_page(&app, &official, &[]).await;
    assert_eq!(ids_on(&page), ids_of(&[&late, &soon, &later]));
    assert_eq!(field_on(&page, "deadline_state"), ["overdue", "due_soon", "on_time"]);

    // The last second is still in time; the next one is overdue.
    app.clock.set(soon_due);
    assert_eq!(queue_ids(&app, &official, &[("deadline", "overdue")]).await, ids_of(&[&late]));
    app.clock.set(soon_due + Duration::seconds(1));
    assert_eq!(queue_ids(&app, &official, &[("deadline", "overdue")]).await, ids_of(&[&late, &soon]));
    assert_eq!(queue_ids(&app, &official, &[("deadline", "due_soon")]).await, Vec::<String>::new());
}

// Regression: the filter once counted `due_soon_days` as calendar days from now, while each
// row's `deadline_state` (and the policy, config/deadlines.toml) counts working days up to
// the due date: an appeal due on Tuesday evening was `due_soon` on the Saturday before, yet
// `deadline=due_soon` left it out and `deadline=on_time` listed it.
#[tokio::test]
async fn the_deadline_filter_lists_an_appeal_under_the_deadline_state_its_row_shows() {
    let Desk { app, citizen, official } = desk().await;
    // Filed Monday 2 March: due at the end of Tuesday 17 March, Dushanbe time.
    let appeal = app.files(&citizen, &complaint()).await;
    let due = due_at(&app, &official, &appeal).await;
    let mismatches =
        filter_mismatches(&app, &official, due, &[120, 96, 84, 72, 60, 48, 36, 24, 12, 1, 0]).await;
    assert!(mismatches.is_empty(), "the filter and the rows disagree:\n{}", mismatches.join("\n"));
}

// Regression: the filter measured every appeal by the default policy's "due soon" window
// (3 working days), while an appeal under `study` (5) shows `due_soon` from 5 working days
// before its due date: `deadline=due_soon` left it out for two days.
#[tokio::test]
async fn the_deadline_filter_measures_each_appeal_by_its_own_policy() {
    let Desk { app, citizen, official } = desk().await;
    let appeal = app.files(&citizen, &complaint()).await;
    let id: Uuid = appeal.id.parse().unwrap();
    let mut change = murojiat::store::entity::appeal::ActiveModel { id: Set(id), ..Default::default() };
    change.deadline_policy = Set("study".to_owned());
    change.update(app.db.conn()).await.unwrap();
    let due = due_at(&app, &official, &appeal).await;
    let hours = [192, 168, 144, 120, 96, 72, 48, 24, 1];
    let mismatches = filter_mismatches(&app, &official, due, &hours).await;
    assert!(mismatches.is_empty(), "the filter and the rows disagree:\n{}", mismatches.join("\n"));
    app.clock.set(due - Duration::hours(120));
    assert_eq!(queue_ids(&app, &official, &[("deadline", "due_soon")]).await, ids_of(&[&appeal]));
}

/// Where the `deadline` filter and the one queued appeal's `deadline_state` disagree, at each
/// of `hours_before` its due instant.
async fn filter_mismatches(
    app: &TestApp,
    official: &Session,
    due: DateTime<Utc>,
    hours_before: &[i64],
) -> Vec<String> {
    let mut mismatches = Vec::new();
    for hours in hours_before {
        let now = due - Duration::hours(*hours);
        app.clock.set(now);
        let page = queue_page(app, official, &[]).await;
        let state = page["items"][0]["deadline_state"].as_str().unwrap().to_owned();
        for filter in ["overdue", "due_soon", "on_time"] {
            let listed = !queue_ids(app, official, &[("deadline", filter)]).await.is_empty();
            if listed != (filter == state) {
                let verb = if listed { "lists" } else { "leaves out" };
                mismatches
                    .push(format!("at {now} deadline={filter} {verb} an appeal whose row says {state}"));
            }
        }
    }
    mismatches
}

#[tokio::test]
async fn the_filing_time_filters_take_a_range_from_inclusive_until_exclusive() {
    let Desk { app, citizen, official } = desk().await;
    let first = app.files(&citizen, &complaint()).await;
    app.clock.advance(Duration::days(1));
    let second = app.files(&citizen, &complaint()).await;
    app.clock.advance(Duration::days(1));
    let third = app.files(&citizen, &complaint()).await;
    let second_at = appeal_as(&app, &official, &second).await["created_at"].as_str().unwrap().to_owned();
    let third_at = appeal_as(&app, &official, &third).await["created_at"].as_str().unwrap().to_owned();

    assert_eq!(queue_ids(&app, &official, &[("created_from", &second_at)]).await, ids_of(&[&second, &third]));
    assert_eq!(queue_ids(&app, &official, &[("created_until", &third_at)]).await, ids_of(&[&first, &second]));
    let between = [("created_from", second_at.as_str()), ("created_until", third_at.as_str())];
    assert_eq!(queue_ids(&app, &official, &between).await, ids_of(&[&second]));
    // Any offset names the same instant.
    let local = instant(&json!(second_at)).with_timezone(&chrono::FixedOffset::east_opt(5 * 3600).unwrap());
    assert_eq!(
        queue_ids(&app, &official, &[("created_from", &local.to_rfc3339())]).await,
        ids_of(&[&second, &third])
    );
}

/// What a filing-time bound far outside the usual calendar must give: the appeals a correct
/// comparison of instants gives, or a 422 naming the parameter; never a 500, never others.
async fn bound_mismatch(
    app: &TestApp,
    who: &Session,
    field: &str,
    value: &str,
    expected: &[String],
) -> Option<String> {
    let response = ask_queue(app, who, &[(field, value)]).await;
    let status = response.status().as_u16();
    if status == 422 {
        let problem = assert_problem(response, 422, "validation").await;
        return (problem.error_fields() != [field]).then(|| format!("{field}={value}: {}", problem.body));
    }
    let text = response.text().await.unwrap();
    if status != 200 {
        return Some(format!("{field}={value}: {status} {text}"));
    }
    let found = ids_on(&serde_json::from_str(&text).unwrap());
    (found != expected).then(|| format!("{field}={value}: expected {expected:?}, got {found:?}"))
}

// Regression (SQLite): times are stored as text there and compared as strings, so a bound
// with a five-digit year (which the parameter accepts) sorted before "2026-...":
// created_from=+10000-01-01T00:00:00Z listed every appeal and created_until= the same, none.
#[tokio::test]
async fn a_filing_time_bound_after_the_year_9999_is_compared_as_an_instant() {
    let Desk { app, citizen, official } = desk().await;
    let appeal = app.files(&citizen, &complaint()).await;
    let all = ids_of(&[&appeal]);

    let mut mismatches = Vec::new();
    for (field, value, expected) in [
        ("created_from", "9999-12-31T23:59:59Z", vec![]),
        ("created_from", "+10000-01-01T00:00:00Z", vec![]),
        ("created_until", "+10000-01-01T00:00:00Z", all.clone()),
        ("created_until", "+262142-01-01T00:00:00Z", all.clone()),
    ] {
        mismatches.extend(bound_mismatch(&app, &official, field, value, &expected).await);
    }
    assert!(mismatches.is_empty(), "far-future bounds:\n{}", mismatches.join("\n"));
}

// Regression (PostgreSQL): a bound before 4713 BC, the earliest timestamptz, went to the
// database as it was and the query failed: created_from=-4714-01-01T00:00:00Z was a 500.
#[tokio::test]
async fn a_filing_time_bound_before_4713_bc_is_answered_or_refused_never_a_500() {
    let Desk { app, citizen, official } = desk().await;
    let appeal = app.files(&citizen, &complaint()).await;
    let all = ids_of(&[&appeal]);

    let mut mismatches = Vec::new();
    for (field, value, expected) in [
        ("created_from", "0000-01-01T00:00:00Z", all.clone()),
        ("created_from", "-4714-01-01T00:00:00Z", all.clone()),
        ("created_from", "-262143-01-01T00:00:00Z", all.clone()),
        ("created_until", "-262143-01-01T00:00:00Z", vec![]),
    ] {
        mismatches.extend(bound_mismatch(&app, &official, field, value, &expected).await);
    }
    assert!(mismatches.is_empty(), "far-past bounds:\n{}", mismatches.join("\n"));
}

/// A water complaint from Hisor: Tajik words with ӣ, ӯ, ҳ, қ, ғ and ҷ in subject and text.
fn hisor_complaint() -> Value {
    complaint_with(json!({
        "subject": "Обтаъминкунӣ қатъ шуд",
        "text": "Обтаъминкунӣ дар ноҳияи Ҳисор се рӯз боз қатъ аст; ғалладона ва ҷӯйҳо хушк мондаанд.",
    }))
}

#[tokio::test]
async fn search_finds_tajik_words_in_the_subject_and_text_whatever_their_case() {
    let Desk { app, citizen, official } = desk().await;
    // The stock complaint speaks of Sino street: "Дар маҳаллаи мо се рӯз об нест".
    let sino = app.files(&citizen, &complaint()).await;
    app.clock.advance(Duration::days(1));
    let hisor = app.files(&citizen, &hisor_complaint()).await;

    for q in [
        "Ҳисор",
        "ҲИСОР",
        "ҳисор",
        "ОБТАЪМИНКУНӢ",
        "обтаъминкунӣ",
        "ҚАТЪ",
        "ҒАЛЛАДОНА",
        "ҶӮЙҲО",
        "Ноҳияи ҳисор",
    ] {
        assert_eq!(queue_ids(&app, &official, &[("q", q)]).await, ids_of(&[&hisor]), "q={q}");
    }
    assert_eq!(queue_ids(&app, &official, &[("q", "СИНО")]).await, ids_of(&[&sino]));
    // A word both use finds both, still in deadline order.
    assert_eq!(queue_ids(&app, &official, &[("q", "ДАР")]).await, ids_of(&[&sino, &hisor]));
    // Every word must be found.
    assert_eq!(queue_ids(&app, &official, &[("q", "Ҳисор Сино")]).await, Vec::<String>::new());
    assert_eq!(queue_ids(&app, &official, &[("q", "Кӯлоб")]).await, Vec::<String>::new());
    // Blank search text is no search.
    assert_eq!(queue_ids(&app, &official, &[("q", "  ")]).await, ids_of(&[&sino, &hisor]));
}

#[tokio::test]
async fn search_finds_russian_words_in_the_subject_and_text_whatever_their_case() {
    let Desk { app, citizen, official } = desk().await;
    let tajik = app.files(&citizen, &complaint()).await;
    app.clock.advance(Duration::days(1));
    let russian = app
        .files(
            &citizen,
            &complaint_with(json!({
                "subject": "Отключение электричества в Худжанде",
                "text": "Третий день нет света на улице Ленина. Просим принять меры.",
                "category": "electricity",
                "region": "sughd",
                "district": "sughd-khujand",
                "language": "ru",
            })),
        )
        .await;

    for q in ["ЭЛЕКТРИЧЕСТВА", "электричества", "Худжанде", "СВЕТА", "улице ЛЕНИНА"]
    {
        assert_eq!(queue_ids(&app, &official, &[("q", q)]).await, ids_of(&[&russian]), "q={q}");
    }
    assert_eq!(queue_ids(&app, &official, &[("q", "газ")]).await, Vec::<String>::new());
    assert_eq!(queue_ids(&app, &official, &[("q", "об")]).await, ids_of(&[&tajik]));
    // Search narrows the other filters rather than replacing them.
    let searched = [("q", "света"), ("category", "water-supply")];
    assert_eq!(queue_ids(&app, &official, &searched).await, Vec::<String>::new());
}

#[tokio::test]
async fn search_text_with_quotes_or_query_syntax_is_read_as_words_and_never_a_500() {
    let Desk { app, citizen, official } = desk().await;
    let hisor = app.files(&citizen, &hisor_complaint()).await;

    // Characters FTS5 and tsquery give meaning to, alone and around a word.
    let hostile = [
        r#""water"#,
        r#"water""#,
        r#"""#,
        r#""""#,
        "'",
        "a OR b",
        "a AND b",
        "NOT a",
        "a NOT",
        "*",
        "**",
        "NEAR(",
        "NEAR(a b",
        "NEAR(a b, 2)",
        "(",
        ")",
        "()",
        "subject:water",
        "{subject body}: water",
        "^water",
        "-water",
        "+",
        "a & b | !c",
        "a <-> b",
        "a:*",
        "!",
        "\\",
        "%",
        "_",
        ";--",
        "' OR '1'='1",
        "$1",
        "?",
    ];
    let mut failures = Vec::new();
    for q in hostile {
        let response = ask_queue(&app, &official, &[("q", q)]).await;
        let status = response.status();
        if status != 200 {
            failures.push(format!("q={q:?}: {status} {}", response.text().await.unwrap()));
        }
    }
    assert!(failures.is_empty(), "search text was not taken as words:\n{}", failures.join("\n"));
    // Quotes and operators around a word leave the word to be found; OR is only a word.
    for q in [r#""Ҳисор""#, "ҳисор*", "(ҳисор)", "NEAR(ҳисор"] {
        let found = queue_ids(&app, &official, &[("q", q)]).await;
        if q.starts_with("NEAR") {
            assert_eq!(found, Vec::<String>::new(), "q={q}: `near` is a word the appeal lacks");
        } else {
            assert_eq!(found, ids_of(&[&hisor]), "q={q}");
        }
    }
    assert_eq!(queue_ids(&app, &official, &[("q", "Ҳисор OR Кӯлоб")]).await, Vec::<String>::new());
}

#[tokio::test]
async fn sort_created_lists_the_newest_filing_first_where_the_default_lists_the_soonest_deadline() {
    let Desk { app, citizen, official } = desk().await;
    let supervisor = app.supervisor_of(RECEPTION).await;
    let [oldest, middle, newest] =
        three_days_the_first_extended(&app, &citizen, &official, &supervisor).await;

    assert_eq!(queue_ids(&app, &official, &[]).await, ids_of(&[&middle, &newest, &oldest]));
    assert_eq!(queue_ids(&app, &official, &[("sort", "due")]).await, ids_of(&[&middle, &newest, &oldest]));
    let page = queue_page(&app, &official, &[("sort", "created")]).await;
    assert_eq!(ids_on(&page), ids_of(&[&newest, &middle, &oldest]));
    let created: Vec<DateTime<Utc>> =
        page["items"].as_array().unwrap().iter().map(|i| instant(&i["created_at"])).collect();
    assert!(created.windows(2).all(|w| w[0] > w[1]), "newest first: {created:?}");
}

/// Five appeals, two filed at one instant, two at another: ties on both keys.
/// Filed in this order, so their ids (UUIDv7) ascend in it too.
async fn file_five(app: &TestApp, citizen: &Session) -> [Filed; 5] {
    let a = app.files(citizen, &complaint()).await;
    let b = app.files(citizen, &complaint()).await;
    app.clock.advance(Duration::days(1));
    let c = app.files(citizen, &complaint()).await;
    app.clock.advance(Duration::days(1));
    let d = app.files(citizen, &complaint()).await;
    let e = app.files(citizen, &complaint()).await;
    [a, b, c, d, e]
}

/// Follows `next_cursor` from the first page with `limit=2`; the ids of every page.
async fn walk_pages(app: &TestApp, who: &Session, params: &[(&str, &str)]) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = params.to_vec();
        query.push(("limit", "2"));
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.as_str()));
        }
        let page = queue_page(app, who, &query).await;
        pages.push(ids_on(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => {
                assert_eq!(page["next_cursor"], Value::Null, "the last page says so: {page}");
                return pages;
            }
        }
        assert!(pages.len() < 10, "the pages never end: {pages:?}");
    }
}

#[tokio::test]
async fn following_next_cursor_walks_every_appeal_once_in_deadline_order() {
    let Desk { app, citizen, official } = desk().await;
    let [a, b, c, d, e] = file_five(&app, &citizen).await;

    assert_eq!(queue_ids(&app, &official, &[]).await, ids_of(&[&a, &b, &c, &d, &e]));
    let pages = walk_pages(&app, &official, &[]).await;
    assert_eq!(pages, [ids_of(&[&a, &b]), ids_of(&[&c, &d]), ids_of(&[&e])]);
}

#[tokio::test]
async fn following_next_cursor_walks_every_appeal_once_newest_first() {
    let Desk { app, citizen, official } = desk().await;
    let [a, b, c, d, e] = file_five(&app, &citizen).await;

    // Filed at the same instant, the later id comes first.
    let pages = walk_pages(&app, &official, &[("sort", "created")]).await;
    assert_eq!(pages, [ids_of(&[&e, &d]), ids_of(&[&c, &b]), ids_of(&[&a])]);
}

#[tokio::test]
async fn pages_of_a_filtered_queue_hold_only_what_matches() {
    let Desk { app, citizen, official } = desk().await;
    let [a, b, c, d, e] = file_five(&app, &citizen).await;
    for taken in [&a, &c, &d, &e] {
        app.acts(&official, &taken.id, "take", 1, &json!({})).await;
    }

    let pages = walk_pages(&app, &official, &[("assignee", "me")]).await;
    assert_eq!(pages, [ids_of(&[&a, &c]), ids_of(&[&d, &e])]);
    let pages = walk_pages(&app, &official, &[("q", "Сино"), ("status", "registered")]).await;
    assert_eq!(pages, [ids_of(&[&b])]);
}

#[tokio::test]
async fn a_last_page_that_is_exactly_full_has_no_next_cursor() {
    let Desk { app, citizen, official } = desk().await;
    let [a, b, c, d, e] = file_five(&app, &citizen).await;
    app.acts(&citizen, &c.id, "withdraw", 1, &json!({})).await;

    // Four open appeals: two full pages, and no third, empty one.
    let pages = walk_pages(&app, &official, &[]).await;
    assert_eq!(pages, [ids_of(&[&a, &b]), ids_of(&[&d, &e])]);
}

#[tokio::test]
async fn malformed_paging_or_filter_parameters_are_a_422_naming_the_parameter() {
    let Desk { app, citizen, official } = desk().await;
    app.files(&citizen, &complaint()).await;
    // Base64 of JSON that is not a queue position, and text that is not base64 at all.
    let foreign_cursor = "eyJhIjoxfQ";
    let cases = [
        ("limit", "0", "out_of_range"),
        ("limit", "101", "out_of_range"),
        ("cursor", "garbage", "invalid"),
        ("cursor", "!!", "invalid"),
        ("cursor", foreign_cursor, "invalid"),
        ("status", "open", "invalid"),
        ("status", "registered,bogus", "invalid"),
        ("kind", "petition", "invalid"),
        ("deadline", "late", "invalid"),
        ("sort", "oldest", "invalid"),
        ("assignee", "bob", "invalid"),
        ("assignee", "ME", "invalid"),
    ];
    for (field, value, code) in cases {
        let response = ask_queue(&app, &official, &[(field, value)]).await;
        let problem = assert_problem(response, 422, "validation").await;
        assert_eq!(problem.error_fields(), [field], "{field}={value}: {}", problem.body);
        assert_eq!(problem.error_code(field), Some(code), "{field}={value}: {}", problem.body);
    }
    // Several bad filters at once are named together.
    let response = ask_queue(&app, &official, &[("status", "x"), ("kind", "y"), ("deadline", "z")]).await;
    let problem = assert_problem(response, 422, "validation").await;
    assert_eq!(problem.error_fields(), ["status", "kind", "deadline"], "{}", problem.body);
    // The bounds themselves are fine.
    assert_eq!(queue_page(&app, &official, &[("limit", "1")]).await["items"].as_array().unwrap().len(), 1);
    assert_eq!(queue_page(&app, &official, &[("limit", "100")]).await["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_parameter_of_the_wrong_type_is_a_400_problem() {
    let app = spawn_queue_app().await;
    let official = app.official_of(RECEPTION).await;
    for (field, value) in
        [("created_from", "yesterday"), ("created_until", "2026-03-02"), ("limit", "-1"), ("limit", "many")]
    {
        let response = ask_queue(&app, &official, &[(field, value)]).await;
        assert_problem(response, 400, "bad-request").await;
    }
}

/// A cursor as the server writes one (URL-safe base64 of the JSON key), crafted here.
fn crafted_cursor(at: &str, id: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json!([at, id]).to_string())
}

#[tokio::test]
async fn a_crafted_cursor_in_any_year_is_answered_never_a_500() {
    let Desk { app, citizen, official } = desk().await;
    let appeal = app.files(&citizen, &complaint()).await;
    let all = ids_of(&[&appeal]);
    let nil = Uuid::nil().to_string();
    // The queue goes soonest deadline first, a citizen's own list newest first.
    for (at, queue, mine) in [
        ("-262143-01-01T00:00:00Z", all.clone(), vec![]),
        ("-4714-01-01T00:00:00Z", all.clone(), vec![]),
        ("+10000-01-01T00:00:00Z", vec![], all.clone()),
        ("+262142-12-31T23:59:59Z", vec![], all.clone()),
    ] {
        let cursor = crafted_cursor(at, &nil);
        assert_eq!(queue_ids(&app, &official, &[("cursor", &cursor)]).await, queue, "queue after {at}");
        let response = app.get(&format!("/api/v1/appeals?cursor={cursor}"), citizen.token()).await;
        assert_eq!(response.status(), 200, "own appeals after {at}");
        assert_eq!(ids_on(&response.json().await.unwrap()), mine, "own appeals after {at}");
    }
}

#[tokio::test]
async fn a_queue_item_is_a_summary_and_the_appeal_itself_holds_the_texts_and_contacts() {
    let Desk { app, citizen, official } = desk().await;
    let appeal = app.files(&citizen, &hisor_complaint()).await;
    let page = queue_page(&app, &official, &[]).await;
    let item = page["items"][0].as_object().expect("an item");
    let full = appeal_as(&app, &official, &appeal).await;

    let mut keys: Vec<&str> = item.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "agency",
            "allowed_actions",
            "assignee_id",
            "category",
            "created_at",
            "deadline_state",
            "district",
            "due_at",
            "extensions_granted",
            "id",
            "kind",
            "language",
            "paused_at",
            "priority",
            "region",
            "registered_at",
            "registration_number",
            "signatories",
            "status",
            "subject",
            "tracking_number",
            "updated_at",
            "version",
        ]
    );
    // What the item shows agrees with the appeal; the text is only in the appeal.
    for (field, in_appeal) in [
        ("id", &full["id"]),
        ("tracking_number", &full["tracking_number"]),
        ("subject", &full["subject"]),
        ("status", &full["status"]),
        ("due_at", &full["due_at"]),
        ("deadline_state", &full["deadline_state"]),
        ("version", &full["version"]),
        ("allowed_actions", &full["allowed_actions"]),
        ("agency", &full["agency"]),
        ("priority", &full["staff"]["priority"]),
        ("assignee_id", &full["staff"]["assignee_id"]),
    ] {
        assert_eq!(&item[field], in_appeal, "{field}");
    }
    assert!(full["text"].as_str().unwrap().contains("Ҳисор"), "{full}");
}
