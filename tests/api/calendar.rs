//! The business calendar as data: administrators list and edit a year, and deadlines follow
//! the edit at once.

use std::sync::Arc;

use chrono::{NaiveDate, TimeZone, Utc};
use murojiat::app::App;
use murojiat::auth::keys::KeyRing;
use murojiat::services::calendar;
use murojiat::store::Db;
use serde_json::{Value, json};

use crate::scheduler::{Desk, instant};
use crate::support::{Session, TestApp, assert_problem, spawn_app};

fn entry<'a>(year: &'a Value, date: &str) -> Option<&'a Value> {
    year["entries"].as_array().unwrap().iter().find(|e| e["date"] == date)
}

/// Adds days off by decree to 2026 as `admin`: the year is read and written back whole, as
/// an administrator's client would. The answer's JSON, once it is known to be a 200.
async fn decree_days_off(app: &TestApp, admin: &Session, dates: &[&str]) -> Value {
    let year: Value = app.get("/api/v1/admin/calendar/2026", admin.token()).await.json().await.unwrap();
    let mut entries = year["entries"].as_array().unwrap().clone();
    entries.extend(dates.iter().map(|date| {
        json!({
            "date": date, "kind": "day_off",
            "name_tg": "Рӯзи истироҳат", "name_ru": "Выходной день", "name_en": "Day off by decree",
        })
    }));
    put_2026(app, admin, entries).await
}

/// Saves 2026 with these entries as `admin`; the answer's JSON, once it is known to be a 200.
async fn put_2026(app: &TestApp, admin: &Session, entries: Vec<Value>) -> Value {
    let response = app
        .request(reqwest::Method::PUT, "/api/v1/admin/calendar/2026", admin.token())
        .json(&json!({ "entries": entries }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn an_administrator_lists_2026_with_navruz_and_its_derived_transfers() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let response = app.get("/api/v1/admin/calendar/2026", admin.token()).await;
    assert_eq!(response.status(), 200);
    let year: Value = response.json().await.unwrap();
    assert_eq!(year["time_zone"], "Asia/Dushanbe");
    assert_eq!(year["weekend"], json!(["saturday", "sunday"]));
    let navruz = entry(&year, "2026-03-21").expect("Navruz is listed");
    assert_eq!((navruz["kind"].as_str(), navruz["derived"].as_bool()), (Some("holiday"), Some(false)));
    assert!(navruz["name_tg"].as_str().unwrap().contains("Наврӯз"));
    let transfer = entry(&year, "2026-03-25").expect("Saturday's Navruz moves to Wednesday");
    assert_eq!((transfer["kind"].as_str(), transfer["derived"].as_bool()), (Some("day_off"), Some(true)));
    assert_eq!(transfer["moved_from"], "2026-03-21");
    assert_eq!(entry(&year, "2026-03-20").unwrap()["provisional"], true, "Idi Ramazon is provisional");

    let official = app.official_of("health").await;
    assert_eq!(app.get("/api/v1/admin/calendar/2026", official.token()).await.status(), 403);
    assert_eq!(app.get("/api/v1/admin/calendar/next", admin.token()).await.status(), 404);
}

#[tokio::test]
async fn a_day_off_by_decree_moves_the_deadlines_of_open_appeals_that_crossed_it_and_of_new_ones() {
    let desk = Desk::open().await;
    let before = desk.file().await;
    let old_due = Utc.with_ymd_and_hms(2026, 3, 17, 18, 59, 59).unwrap();
    assert_eq!(instant(&before["due_at"]), old_due);
    let new_due = Utc.with_ymd_and_hms(2026, 3, 18, 18, 59, 59).unwrap();

    let admin = desk.app.admin().await;
    let year: Value = desk.app.get("/api/v1/admin/calendar/2026", admin.token()).await.json().await.unwrap();
    let edited = decree_days_off(&desk.app, &admin, &["2026-03-17"]).await;
    assert_eq!(
        edited["deadlines"],
        json!({"replayed": 1, "moved": 1, "windows_moved": 0, "forwarding_windows_moved": 0, "reminders_moved": 0, "unexplained": 0}),
        "{edited}"
    );
    let listed: Value =
        desk.app.get("/api/v1/admin/calendar/2026", admin.token()).await.json().await.unwrap();
    assert_eq!(entry(&listed, "2026-03-17").unwrap()["kind"], "day_off", "the edit is stored");
    assert_eq!(listed["deadlines"], Value::Null, "a read moves nothing");
    assert_eq!(
        listed["entries"].as_array().unwrap().len(),
        year["entries"].as_array().unwrap().len() + 1,
        "derived transfers sent back were not stored twice"
    );

    // The open appeal's last day is now a day off: it is due on the next working day, says
    // so on its timeline, and is reminded of and escalated by the new deadline.
    let moved = desk.get(&before).await;
    assert_eq!(instant(&moved["due_at"]), new_due);
    assert_eq!(moved["version"].as_i64(), before["version"].as_i64().map(|v| v + 1));
    let recorded = desk.events(&before, "recompute_deadline").await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].visibility, "public");
    let data: Value = serde_json::from_str(&recorded[0].data).unwrap();
    assert_eq!(instant(&data["due_at"]["before"]), old_due);
    assert_eq!(instant(&data["due_at"]["after"]), new_due);
    // The citizen is told, as of any other change of the date they were given.
    let told = desk.mail_to_citizen("dates_changed").await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!((instant(&told[0]["old_due_date"]), instant(&told[0]["new_due_date"])), (old_due, new_due));
    let deadlines = desk.jobs(&before, "deadline").await;
    let pending: Vec<_> = deadlines.iter().filter(|j| j.status == "pending").collect();
    assert_eq!(pending.len(), 1, "{deadlines:?}");
    assert_eq!(pending[0].run_at, new_due + chrono::Duration::seconds(1));
    // Its reminders are planned on the edited calendar: the first working day before the new
    // last day is Monday 16 (Tuesday 17 is off now), the third Thursday 12, at 09:00 local.
    assert_eq!(
        pending_reminders(&desk, &before).await,
        [at_nine(2026, 3, 12), at_nine(2026, 3, 16)],
        "not Friday 13 and the day off"
    );
    desk.run_at(old_due + chrono::Duration::seconds(1)).await;
    assert!(desk.events(&before, "overdue").await.is_empty(), "not late on the day off");
    desk.run_at(new_due + chrono::Duration::seconds(1)).await;
    assert_eq!(desk.events(&before, "overdue").await.len(), 1);

    // Saving the same year again moves nothing more; a new appeal is due by the new calendar.
    let admin = desk.signed_in(&admin).await;
    let again = decree_days_off(&desk.app, &admin, &[]).await;
    assert_eq!(again["deadlines"]["moved"], 0, "{again}");
    assert_eq!(desk.events(&before, "recompute_deadline").await.len(), 1);
    desk.app.clock.set(Utc.with_ymd_and_hms(2026, 3, 2, 5, 0, 0).unwrap());
    let after = desk.file().await;
    assert_eq!(instant(&after["due_at"]), new_due, "the period ends on the next working day");
}

/// The run times of the appeal's pending reminders, soonest first.
async fn pending_reminders(desk: &Desk, appeal: &Value) -> Vec<chrono::DateTime<Utc>> {
    let jobs = desk.jobs(appeal, "reminder").await;
    let mut times: Vec<_> = jobs.iter().filter(|j| j.status == "pending").map(|j| j.run_at).collect();
    times.sort();
    times
}

/// 09:00 in Dushanbe (UTC+5) on the day given.
fn at_nine(year: i32, month: u32, day: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, 4, 0, 0).unwrap()
}

#[tokio::test]
async fn a_day_off_between_the_reminders_and_a_deadline_that_stays_moves_the_reminders_only() {
    let desk = Desk::open().await;
    let appeal = desk.file().await;
    let due = Utc.with_ymd_and_hms(2026, 3, 17, 18, 59, 59).unwrap();
    assert_eq!(instant(&appeal["due_at"]), due);
    assert_eq!(pending_reminders(&desk, &appeal).await, [at_nine(2026, 3, 12), at_nine(2026, 3, 16)]);

    // Monday 16 off: the 15 calendar days still end on Tuesday 17, a working day, but the
    // working days before it are now Friday 13 and, third, Wednesday 11.
    let admin = desk.app.admin().await;
    let edited = decree_days_off(&desk.app, &admin, &["2026-03-16"]).await;
    assert_eq!(
        edited["deadlines"],
        json!({"replayed": 1, "moved": 0, "windows_moved": 0, "forwarding_windows_moved": 0, "reminders_moved": 2, "unexplained": 0}),
        "{edited}"
    );
    assert_eq!(instant(&desk.get(&appeal).await["due_at"]), due, "the deadline stays");
    assert_eq!(pending_reminders(&desk, &appeal).await, [at_nine(2026, 3, 11), at_nine(2026, 3, 13)]);
    assert!(desk.events(&appeal, "recompute_deadline").await.is_empty(), "nothing the timeline shows moved");
    assert!(desk.mail_to_citizen("dates_changed").await.is_empty(), "nor anything the citizen was told");

    // The official is reminded on the new days, once each.
    desk.run_at(at_nine(2026, 3, 11)).await;
    assert_eq!(desk.events(&appeal, "remind").await.len(), 1);
    desk.run_at(at_nine(2026, 3, 12)).await;
    assert_eq!(desk.events(&appeal, "remind").await.len(), 1, "not again on the old day");
    desk.run_at(at_nine(2026, 3, 13)).await;
    assert_eq!(desk.events(&appeal, "remind").await.len(), 2);

    // Saving the year again moves nothing.
    let admin = desk.signed_in(&admin).await;
    let again = decree_days_off(&desk.app, &admin, &[]).await;
    assert_eq!(again["deadlines"]["reminders_moved"], 0, "{again}");
}

#[tokio::test]
async fn a_deadline_already_missed_stays_missed_when_its_last_day_is_made_a_day_off() {
    let desk = Desk::open().await;
    let appeal = desk.file().await;
    let due = instant(&appeal["due_at"]);
    desk.run_at(due + chrono::Duration::hours(1)).await;
    assert_eq!(desk.events(&appeal, "overdue").await.len(), 1);

    let admin = desk.app.admin().await;
    let edited = decree_days_off(&desk.app, &admin, &["2026-03-17"]).await;
    assert_eq!(
        edited["deadlines"],
        json!({"replayed": 0, "moved": 0, "windows_moved": 0, "forwarding_windows_moved": 0, "reminders_moved": 0, "unexplained": 0}),
        "{edited}"
    );
    assert_eq!(instant(&desk.get(&appeal).await["due_at"]), due, "late as it was");
    desk.run_at(due + chrono::Duration::days(2)).await;
    assert_eq!(desk.events(&appeal, "overdue").await.len(), 1, "and escalated once");
}

/// The citizen's windows still open move with the calendar too: the time to answer a
/// request for information and the time to contest an answer.
#[tokio::test]
async fn the_citizens_open_windows_move_with_a_day_off_by_decree() {
    let desk = Desk::open().await;
    let answered = desk.file().await;
    let answered = desk.act(&desk.official, &answered, "take", json!({})).await;
    desk.act(
        &desk.official,
        &answered,
        "answer",
        json!({"outcome": "explained", "text": "Қубур нав карда шуд."}),
    )
    .await;
    let asked = desk.file().await;
    let asked = desk.act(&desk.official, &asked, "take", json!({})).await;
    desk.act(&desk.official, &asked, "request-info", json!({"message": "Суроғаро нависед."})).await;
    // Filed, answered and asked on Mon 2 March: 30 days to contest end on Wed 1 April, 15
    // days to answer on Tue 17 March. Both days are made days off.
    let at = |y, m, d| Utc.with_ymd_and_hms(y, m, d, 18, 59, 59).unwrap();
    let run_at = |job: &murojiat::store::jobs::Job| job.run_at;
    assert_eq!(
        desk.jobs(&answered, "contest_window").await.iter().map(run_at).collect::<Vec<_>>(),
        [at(2026, 4, 1) + chrono::Duration::seconds(1)]
    );

    let admin = desk.app.admin().await;
    let edited = decree_days_off(&desk.app, &admin, &["2026-03-17", "2026-04-01"]).await;
    // The appeal awaiting the citizen is open: its paused deadline moves as well.
    assert_eq!(
        edited["deadlines"],
        json!({"replayed": 1, "moved": 1, "windows_moved": 2, "forwarding_windows_moved": 0, "reminders_moved": 0, "unexplained": 0}),
        "{edited}"
    );

    let contest = desk.jobs(&answered, "contest_window").await;
    assert_eq!(
        contest.iter().map(run_at).collect::<Vec<_>>(),
        [at(2026, 4, 2) + chrono::Duration::seconds(1)]
    );
    let recorded = desk.events(&answered, "recompute_deadline").await;
    assert_eq!(recorded.len(), 1);
    let data: Value = serde_json::from_str(&recorded[0].data).unwrap();
    assert_eq!(instant(&data["contest_until"]["before"]), at(2026, 4, 1));
    assert_eq!(instant(&data["contest_until"]["after"]), at(2026, 4, 2));
    // Each date moved is mailed: the asked appeal's deadline and reply window, the answered
    // one's contest window.
    let told = desk.mail_to_citizen("dates_changed").await;
    assert_eq!(told.len(), 3, "{told:?}");
    assert!(told.iter().any(|m| m["new_contest_until"] == json!(at(2026, 4, 2))), "{told:?}");
    assert!(told.iter().any(|m| m["new_respond_by"] == json!(at(2026, 3, 18))), "{told:?}");

    // The citizen asked has until the end of Wednesday 18 March now.
    desk.run_at(at(2026, 3, 17) + chrono::Duration::seconds(1)).await;
    assert!(desk.events(&asked, "abandon").await.is_empty(), "the old last day passed, the new one not");
    desk.run_at(at(2026, 3, 18) + chrono::Duration::seconds(1)).await;
    assert_eq!(desk.events(&asked, "abandon").await.len(), 1);
    // The answer may be contested on 2 April, and the window closes after it.
    desk.run_at(at(2026, 4, 1) + chrono::Duration::seconds(1)).await;
    assert_eq!(desk.get(&answered).await["status"], "answered");
    desk.run_at(at(2026, 4, 2) + chrono::Duration::seconds(1)).await;
    assert_eq!(desk.get(&answered).await["status"], "closed");
}

/// An agency's window to forward an appeal it is not competent for moves too, recorded on
/// the appeal's internal timeline: the citizen is not mailed about the agency's own date.
#[tokio::test]
async fn the_agencys_forwarding_window_moves_with_a_day_off_by_decree_and_only_staff_see_it() {
    let desk = Desk::open().await;
    let appeal = desk.file().await;
    let at = |d| Utc.with_ymd_and_hms(2026, 3, d, 18, 59, 59).unwrap();
    let window = || async {
        let jobs = desk.jobs(&appeal, "forwarding_window").await;
        assert_eq!(jobs.len(), 1, "{jobs:?}");
        let payload: Value = serde_json::from_str(&jobs[0].payload).unwrap();
        (jobs[0].run_at, instant(&payload["closes_at"]))
    };
    // Filed Mon 2 March: five working days (3, 4, 5, 6 and 10 March; Monday 9 is the day off
    // for 8 March) end on Tuesday 10 March.
    assert_eq!(window().await, (at(10) + chrono::Duration::seconds(1), at(10)));

    let admin = desk.app.admin().await;
    let edited = decree_days_off(&desk.app, &admin, &["2026-03-04"]).await;
    assert_eq!(
        edited["deadlines"],
        json!({"replayed": 1, "moved": 0, "windows_moved": 0, "forwarding_windows_moved": 1, "reminders_moved": 0, "unexplained": 0}),
        "{edited}"
    );
    assert_eq!(window().await, (at(11) + chrono::Duration::seconds(1), at(11)));
    let recorded = desk.events(&appeal, "recompute_deadline").await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].visibility, "internal");
    let data: Value = serde_json::from_str(&recorded[0].data).unwrap();
    assert_eq!(instant(&data["forwarding_closes_at"]["before"]), at(10));
    assert_eq!(instant(&data["forwarding_closes_at"]["after"]), at(11));
    assert!(desk.mail_to_citizen("dates_changed").await.is_empty(), "the citizen is not told");

    desk.run_at(at(10) + chrono::Duration::seconds(1)).await;
    assert!(desk.events(&appeal, "forwarding_window_closed").await.is_empty(), "open on the old last day");
    desk.run_at(at(11) + chrono::Duration::seconds(1)).await;
    assert_eq!(desk.events(&appeal, "forwarding_window_closed").await.len(), 1);
}

/// A deadline its timeline does not explain (here: stored by hand; in life, a policy changed
/// in the file since the appeal was filed) is not guessed at: it stays, and is counted.
#[tokio::test]
async fn a_deadline_its_timeline_does_not_give_is_left_as_it_is_and_counted() {
    use murojiat::store::entity::appeal;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let desk = Desk::open().await;
    let filed = desk.file().await;
    let odd = Utc.with_ymd_and_hms(2026, 3, 20, 12, 0, 0).unwrap();
    appeal::Entity::update_many()
        .col_expr(appeal::Column::DueAt, Expr::value(odd))
        .filter(appeal::Column::Id.eq(crate::scheduler::id(&filed)))
        .exec(desk.app.db.conn())
        .await
        .unwrap();

    let admin = desk.app.admin().await;
    let edited = decree_days_off(&desk.app, &admin, &["2026-03-17"]).await;
    assert_eq!(
        edited["deadlines"],
        json!({"replayed": 1, "moved": 0, "windows_moved": 0, "forwarding_windows_moved": 0, "reminders_moved": 0, "unexplained": 1})
    );
    assert_eq!(instant(&desk.get(&filed).await["due_at"]), odd);
    assert!(desk.events(&filed, "recompute_deadline").await.is_empty());
}

#[tokio::test]
async fn an_inconsistent_year_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let put = |body: Value| {
        app.request(reqwest::Method::PUT, "/api/v1/admin/calendar/2026", admin.token()).json(&body).send()
    };
    // A working day moved by decree must fall on a weekend day; Wednesday is worked anyway.
    let response = put(json!({ "entries": [{
        "date": "2026-03-04", "kind": "working_day", "name_tg": "x", "name_ru": "x", "name_en": "x"
    }]}))
    .await
    .unwrap();
    assert_problem(response, 422, "validation").await;
    let response = put(json!({ "entries": [{
        "date": "2026-03-04", "kind": "party", "name_tg": "x", "name_ru": "x", "name_en": ""
    }]}))
    .await
    .unwrap();
    let problem = assert_problem(response, 422, "validation").await;
    assert_eq!(problem.error_fields(), ["entries[0].name_en", "entries[0].kind"]);
    let response = put(json!({ "entries": [{
        "date": "2027-01-01", "kind": "holiday", "name_tg": "x", "name_ru": "x", "name_en": "x"
    }]}))
    .await
    .unwrap();
    assert_problem(response, 422, "validation").await;

    let year: Value = app.get("/api/v1/admin/calendar/2026", admin.token()).await.json().await.unwrap();
    assert!(entry(&year, "2026-03-21").is_some(), "the year is as it was");
    assert!(entry(&year, "2026-03-04").is_none());
}

/// An edit made through one process is in force in every other one after that process next
/// reads the calendar (every `appeals.reference_cache_secs`; the test runs the read itself).
#[tokio::test]
async fn another_process_puts_an_edit_in_force_when_it_next_reads_the_calendar() {
    let app = spawn_app().await;
    let settings = app.app.settings.clone();
    let db = Db::connect(&settings.database).await.unwrap();
    let other = App::assemble(settings, db, Arc::new(app.clock.clone()), KeyRing::generate()).unwrap();
    calendar::load(&other).await.unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 3, 17).unwrap();
    assert!(other.jurisdiction.calendar.current().is_working_day(day));
    assert!(!calendar::refresh(&other).await.unwrap(), "nothing to read yet");

    let admin = app.admin().await;
    decree_days_off(&app, &admin, &["2026-03-17"]).await;
    assert!(!calendar::refresh(&app.app).await.unwrap(), "the process that made the edit has it in force");
    assert!(other.jurisdiction.calendar.current().is_working_day(day), "not read yet");

    assert!(calendar::refresh(&other).await.unwrap());
    assert!(!other.jurisdiction.calendar.current().is_working_day(day));
    assert!(!calendar::refresh(&other).await.unwrap(), "read once, in force until the next edit");
}

/// Another process files on the calendar before the edit until it next reads the calendar:
/// the edit's recheck, `appeals.calendar_recheck_secs` later, moves that appeal's deadline
/// and reminders as the edit moved the others, leaves the ones the edit moved, and runs once.
#[tokio::test]
async fn the_edits_recheck_moves_a_deadline_another_process_set_on_the_calendar_before_the_edit() {
    let desk = Desk::open().await;
    let old_due = Utc.with_ymd_and_hms(2026, 3, 17, 18, 59, 59).unwrap();
    let new_due = Utc.with_ymd_and_hms(2026, 3, 18, 18, 59, 59).unwrap();
    // The other process, serving on its own port; it reads the calendar again only when the
    // test says so (its background read is an hour away).
    let mut settings = desk.app.app.settings.clone();
    settings.appeals.reference_cache_secs = 3_600;
    let db = Db::connect(&settings.database).await.unwrap();
    let other = App::assemble(settings, db, Arc::new(desk.app.clock.clone()), KeyRing::generate()).unwrap();
    calendar::load(&other).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = murojiat::app::launch(other.clone(), listener).unwrap();
    let there = |path: &str| format!("http://{}{path}", server.addr);

    let first = desk.file().await;
    let admin = desk.app.admin().await;
    let edited = decree_days_off(&desk.app, &admin, &["2026-03-17"]).await;
    assert_eq!(edited["deadlines"]["moved"], 1, "{edited}");
    let edited_at = desk.app.clock_now();

    // Filed through the other process right after the edit: on the calendar before it.
    let client = reqwest::Client::new();
    let login: Value = client
        .post(there("/api/v1/auth/login"))
        .json(&json!({ "email": desk.citizen.email, "password": crate::support::PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().expect("signed in at the other process");
    let response = client
        .post(there("/api/v1/appeals"))
        .bearer_auth(token)
        .json(&json!({
            "kind": "complaint", "subject": "Оби нӯшокӣ нест", "category": "water", "region": "dushanbe",
            "text": "Дар маҳаллаи мо се рӯз боз оби нӯшокӣ нест.", "language": "tg",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let late: Value = response.json().await.unwrap();
    assert_eq!(instant(&late["due_at"]), old_due, "the other process has not read the edit");
    assert_eq!(pending_reminders(&desk, &late).await, [at_nine(2026, 3, 12), at_nine(2026, 3, 16)]);

    let recheck_at = edited_at + chrono::Duration::seconds(60);
    let app = &desk.app.app;
    let early = calendar::run_due_rechecks(app, recheck_at - chrono::Duration::seconds(1)).await.unwrap();
    assert!(early.is_empty(), "not due yet: {early:?}");
    assert_eq!(instant(&desk.get(&late).await["due_at"]), old_due);

    desk.app.clock.set(recheck_at);
    let ran = calendar::run_due_rechecks(app, recheck_at).await.unwrap();
    assert_eq!(ran.len(), 1, "{ran:?}");
    assert_eq!(
        (ran[0].year, ran[0].recomputed.moved, ran[0].recomputed.unexplained),
        (2026, 1, 0),
        "{ran:?}"
    );
    assert_eq!(ran[0].recomputed.replayed, 2, "both open appeals replayed: {ran:?}");

    // The late appeal moved as the edit moved the first one: its row, its event, its email,
    // its deadline job and reminders on the edited calendar.
    assert_eq!(instant(&desk.get(&late).await["due_at"]), new_due);
    let recorded = desk.events(&late, "recompute_deadline").await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].actor_id.map(|id| id.to_string()), Some(admin.user_id.clone()));
    let data: Value = serde_json::from_str(&recorded[0].data).unwrap();
    assert_eq!((instant(&data["due_at"]["before"]), instant(&data["due_at"]["after"])), (old_due, new_due));
    assert_eq!(desk.mail_to_citizen("dates_changed").await.len(), 2, "one for each appeal");
    let deadlines = desk.jobs(&late, "deadline").await;
    let pending: Vec<_> = deadlines.iter().filter(|j| j.status == "pending").collect();
    assert_eq!(pending.len(), 1, "{deadlines:?}");
    assert_eq!(pending[0].run_at, new_due + chrono::Duration::seconds(1));
    assert_eq!(pending_reminders(&desk, &late).await, [at_nine(2026, 3, 12), at_nine(2026, 3, 16)]);
    // The first appeal, moved by the edit, stays as the edit left it.
    assert_eq!(instant(&desk.get(&first).await["due_at"]), new_due);
    assert_eq!(desk.events(&first, "recompute_deadline").await.len(), 1);

    // Done once: a later pass finds nothing, and the row says what it did.
    assert!(
        calendar::run_due_rechecks(app, recheck_at + chrono::Duration::hours(1)).await.unwrap().is_empty()
    );
    let stored = murojiat::store::calendar::rechecks(desk.app.db.conn()).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!((stored[0].status.as_str(), stored[0].attempts), ("done", 1));
    let outcome: Value = serde_json::from_str(stored[0].outcome.as_deref().unwrap()).unwrap();
    assert_eq!(outcome["moved"], 1, "{outcome}");
    drop(server);
}

/// An edit that changes no working day has nothing to recheck.
#[tokio::test]
async fn an_edit_that_changes_no_working_day_schedules_no_recheck() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let year: Value = app.get("/api/v1/admin/calendar/2026", admin.token()).await.json().await.unwrap();
    let mut entries = year["entries"].as_array().unwrap().clone();
    // Renaming a holiday changes no working day.
    for entry in &mut entries {
        if entry["date"] == "2026-03-08" {
            entry["name_en"] = json!("International Women's Day (renamed)");
        }
    }
    let saved = put_2026(&app, &admin, entries).await;
    assert_eq!(saved["deadlines"]["replayed"], 0, "{saved}");
    assert!(murojiat::store::calendar::rechecks(app.db.conn()).await.unwrap().is_empty());
}

/// A recheck that fails is retried after the scheduler's backoff and ends `failed`, with
/// its error, once the attempts are used up; the others still run.
#[tokio::test]
async fn a_recheck_that_fails_is_retried_with_backoff_then_ends_failed() {
    use murojiat::store::calendar::{rechecks, schedule_recheck};
    use murojiat::store::entity::calendar_recheck;
    use sea_orm::{ActiveModelTrait, Set};

    let app = spawn_app().await;
    let admin = app.admin().await;
    let now = app.clock_now();
    let conn = app.db.conn();
    let unchanged = murojiat::domain::calendar::YearTable { year: 2027, entries: Vec::new() };
    let admin_id = admin.user_id.parse().unwrap();
    schedule_recheck(conn, &unchanged, admin_id, now, now).await.unwrap();
    schedule_recheck(conn, &unchanged, admin_id, now, now).await.unwrap();
    let broken = rechecks(conn).await.unwrap().remove(0);
    calendar_recheck::ActiveModel {
        entries_before: Set("not a year".into()),
        ..calendar_recheck::ActiveModel::from(broken.clone())
    }
    .update(conn)
    .await
    .unwrap();

    let ran = calendar::run_due_rechecks(&app.app, now).await.unwrap();
    assert_eq!(ran.len(), 1, "the good one ran: {ran:?}");
    let settings = &app.app.settings.scheduler;
    let mut at = now;
    for attempt in 1..settings.max_attempts {
        let stored = rechecks(conn).await.unwrap().into_iter().find(|r| r.id == broken.id).unwrap();
        assert_eq!((stored.status.as_str(), stored.attempts), ("pending", attempt as i32));
        assert!(stored.last_error.as_deref().unwrap().contains("unreadable"), "{stored:?}");
        assert!(stored.due_at > at, "retried later: {stored:?}");
        assert!(
            calendar::run_due_rechecks(&app.app, stored.due_at - chrono::Duration::seconds(1))
                .await
                .unwrap()
                .is_empty()
        );
        at = stored.due_at;
        assert!(calendar::run_due_rechecks(&app.app, at).await.unwrap().is_empty());
    }
    let stored = rechecks(conn).await.unwrap().into_iter().find(|r| r.id == broken.id).unwrap();
    assert_eq!((stored.status.as_str(), stored.attempts), ("failed", settings.max_attempts as i32));
    // An operator sees it in /metrics.
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(metrics.lines().any(|l| l == "murojiat_calendar_rechecks_failed 1"), "{metrics}");
    assert!(calendar::run_due_rechecks(&app.app, at + chrono::Duration::days(30)).await.unwrap().is_empty());
}

/// The calendar's lock on the backend under test: on PostgreSQL a second transaction cannot
/// take it while the first holds it, and can once the first has ended; on SQLite the write
/// transaction is already the only writer, and the lock is always taken.
#[tokio::test]
async fn the_calendars_lock_is_held_by_one_transaction_at_a_time() {
    use murojiat::store::{Backend, calendar as stored};
    let app = spawn_app().await;
    let backend = app.db.backend();
    let first = app.db.write().await.unwrap();
    stored::lock(&first, backend).await.unwrap();
    if backend == Backend::Postgres {
        let second = app.db.write().await.unwrap();
        assert!(!stored::try_lock(&second, backend).await.unwrap(), "held by the first");
        second.rollback().await.unwrap();
    }
    first.commit().await.unwrap();
    let third = app.db.write().await.unwrap();
    assert!(stored::try_lock(&third, backend).await.unwrap(), "free once the first ended");
    third.rollback().await.unwrap();
}
