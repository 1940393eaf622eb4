//! The deadline scheduler, driven by moving the clock and running due jobs: reminders at
//! each offset once, overdue and escalation once, extensions superseding old reminders,
//! abandoned requests for information and closing contest windows.

use chrono::{DateTime, Duration, TimeZone, Utc};
use murojiat::services::scheduler::{self, RunReport, Scheduler};
use murojiat::store::entity::outbox_message;
use murojiat::store::entity::{category, territory};
use murojiat::store::events::Event;
use murojiat::store::jobs::Job;
use murojiat::store::{events, jobs, reference};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

use figment::providers::Serialized;

use crate::support::{PASSWORD, Session, TestApp, spawn_app_with};

/// An agency that receives appeals, with an official and a supervisor, and a citizen.
pub struct Desk {
    pub app: TestApp,
    pub citizen: Session,
    pub official: Session,
    pub supervisor: Session,
}

impl Desk {
    pub async fn open() -> Self {
        // Tokens expire as the clock jumps, so tests sign in again often.
        let app = spawn_app_with(|f| {
            f.merge(Serialized::default("rate_limit.login_per_account.burst", 10_000))
                .merge(Serialized::default("rate_limit.login_per_ip.burst", 10_000))
        })
        .await;
        let reception = app.app.settings.appeals.reception_agency.clone();
        app.ensure_agency(&reception).await;
        let conn = app.db.conn();
        reference::insert_territory(
            conn,
            territory::Model {
                code: "dushanbe".into(),
                parent_code: None,
                name_tg: "Душанбе".into(),
                name_ru: "Душанбе".into(),
                name_en: "Dushanbe".into(),
                active: true,
                kind: "city".into(),
            },
        )
        .await
        .unwrap();
        reference::insert_category(
            conn,
            category::Model {
                code: "water".into(),
                parent_code: None,
                name_tg: "Об".into(),
                name_ru: "Вода".into(),
                name_en: "Water".into(),
                active: true,
            },
        )
        .await
        .unwrap();
        let citizen = app.citizen().await;
        let official = app.official_of(&reception).await;
        let supervisor = app.supervisor_of(&reception).await;
        Self { app, citizen, official, supervisor }
    }

    /// A citizen's complaint, filed now; its JSON.
    pub async fn file(&self) -> Value {
        let body = json!({
            "kind": "complaint",
            "subject": "Оби нӯшокӣ нест",
            "text": "Дар маҳаллаи мо се рӯз боз оби нӯшокӣ нест.",
            "category": "water",
            "region": "dushanbe",
            "language": "tg",
        });
        let citizen = self.signed_in(&self.citizen).await;
        let response = self.app.post_json("/api/v1/appeals", &body, citizen.token()).await;
        assert_eq!(response.status(), 201, "filing failed: {}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    /// Takes `action` on the appeal as `who`, at the version it has now; the appeal's JSON.
    pub async fn act(&self, who: &Session, appeal: &Value, action: &str, body: Value) -> Value {
        let response = self.try_act(who, appeal, action, body).await;
        assert_eq!(response.status(), 200, "{action} failed: {}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    /// Asks to take `action` on the appeal as `who`, at the version it has now; the answer.
    pub async fn try_act(
        &self,
        who: &Session,
        appeal: &Value,
        action: &str,
        mut body: Value,
    ) -> reqwest::Response {
        let current = self.get(appeal).await;
        body["version"] = current["version"].clone();
        let path = format!("/api/v1/appeals/{}/actions/{action}", appeal["id"].as_str().unwrap());
        let who = self.signed_in(who).await;
        self.app.post_json(&path, &body, who.token()).await
    }

    pub async fn get(&self, appeal: &Value) -> Value {
        let path = format!("/api/v1/appeals/{}", appeal["id"].as_str().unwrap());
        let official = self.signed_in(&self.official).await;
        let response = self.app.get(&path, official.token()).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// A fresh session for `who`: access tokens expire as the clock moves on.
    pub async fn signed_in(&self, who: &Session) -> Session {
        self.app.login(&who.email, PASSWORD).await
    }

    /// Moves the clock to `at` and runs every job due then, as the background loop would.
    pub async fn run_at(&self, at: DateTime<Utc>) -> RunReport {
        self.app.clock.set(at);
        Scheduler::new(self.app.app.clone()).run_due(at).await.expect("the scheduler runs")
    }

    /// The appeal's events with this action.
    pub async fn events(&self, appeal: &Value, action: &str) -> Vec<Event> {
        let all = events::of_appeal(self.app.db.conn(), id(appeal), true).await.unwrap();
        all.into_iter().filter(|e| e.action == action).collect()
    }

    /// The data of the emails of this template queued to the citizen, oldest first.
    pub async fn mail_to_citizen(&self, template: &str) -> Vec<Value> {
        let rows = self.mail_to(&self.citizen.email, template).await;
        rows.iter().map(|row| serde_json::from_str(&row.data).unwrap()).collect()
    }

    /// The emails of this template queued to `email`.
    pub async fn mail_to(&self, email: &str, template: &str) -> Vec<outbox_message::Model> {
        outbox_message::Entity::find()
            .filter(outbox_message::Column::Template.eq(template))
            .filter(outbox_message::Column::RecipientEmail.eq(email))
            .all(self.app.db.conn())
            .await
            .unwrap()
    }

    pub async fn jobs(&self, appeal: &Value, kind: &str) -> Vec<Job> {
        let all = jobs::of_appeal(self.app.db.conn(), id(appeal)).await.unwrap();
        all.into_iter().filter(|j| j.kind == kind).collect()
    }
}

pub fn id(appeal: &Value) -> Uuid {
    appeal["id"].as_str().unwrap().parse().unwrap()
}

pub fn instant(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().expect("an RFC 3339 time")).unwrap().with_timezone(&Utc)
}

fn data(event: &Event) -> Value {
    serde_json::from_str(&event.data).unwrap()
}

const SECOND: Duration = Duration::seconds(1);

#[tokio::test]
async fn reminders_fire_once_at_each_offset_and_the_deadline_escalates_once() {
    let desk = Desk::open().await;
    let appeal = desk.file().await;
    // Filed Monday 2 March 2026, 10:00 in Dushanbe; `standard` is 15 calendar days: due at
    // the end of Tuesday 17 March, local time.
    let due = instant(&appeal["due_at"]);
    assert_eq!(due, Utc.with_ymd_and_hms(2026, 3, 17, 18, 59, 59).unwrap());
    // Reminders come at 09:00 local on the third and the first working day before the last:
    // Thursday 12 and Monday 16 March, not at midnight and not over the weekend.
    let three_days_before = Utc.with_ymd_and_hms(2026, 3, 12, 4, 0, 0).unwrap();
    let one_day_before = Utc.with_ymd_and_hms(2026, 3, 16, 4, 0, 0).unwrap();

    desk.run_at(three_days_before - SECOND).await;
    assert!(desk.events(&appeal, "remind").await.is_empty(), "no reminder before its time");

    let report = desk.run_at(three_days_before).await;
    assert!(report.applied >= 1, "{report:?}");
    desk.run_at(three_days_before + Duration::hours(1)).await;
    let reminders = desk.events(&appeal, "remind").await;
    assert_eq!(reminders.len(), 1, "the 3-day reminder fires once");
    assert_eq!(data(&reminders[0])["offset"], "3wd");
    assert_eq!(reminders[0].visibility, "internal");

    desk.run_at(one_day_before - SECOND).await;
    assert_eq!(desk.events(&appeal, "remind").await.len(), 1, "the 1-day reminder waits for Monday 09:00");
    desk.run_at(one_day_before).await;
    desk.run_at(one_day_before + SECOND).await;
    let reminders = desk.events(&appeal, "remind").await;
    assert_eq!(reminders.len(), 2, "the 1-day reminder fires once");
    assert_eq!(data(&reminders[1])["offset"], "1wd");

    desk.run_at(due).await;
    assert!(desk.events(&appeal, "overdue").await.is_empty(), "the last second is still in time");
    assert_eq!(desk.get(&appeal).await["deadline_state"], "due_soon");

    desk.run_at(due + SECOND).await;
    desk.run_at(due + Duration::days(2)).await;
    let overdue = desk.events(&appeal, "overdue").await;
    assert_eq!(overdue.len(), 1, "overdue is recorded once");
    let supervisor: Uuid = desk.supervisor.user_id.parse().unwrap();
    assert_eq!(data(&overdue[0])["escalated_to"], json!([supervisor]), "the supervisor is escalated to");
    let escalated = scheduler::escalations_of(desk.app.db.conn(), id(&appeal)).await.unwrap();
    assert_eq!(escalated.len(), 1, "one escalation");
    assert_eq!((escalated[0].due_at, escalated[0].alerted), (due, true));
    // The supervisor is told by email, once: the alert waits in the outbox with the escalation.
    let alerts: Vec<_> = outbox_message::Entity::find()
        .filter(outbox_message::Column::Template.eq("overdue_alert"))
        .all(desk.app.db.conn())
        .await
        .unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].recipient_email, desk.supervisor.email);
    assert_eq!(desk.get(&appeal).await["deadline_state"], "overdue");
    assert_eq!(desk.events(&appeal, "remind").await.len(), 2, "no reminder ran twice");
    assert!(desk.jobs(&appeal, "deadline").await.iter().all(|j| j.status == "done"));
}

const MIGRATION_21: &str = "m20261203_000021_escalations_on_jobs";

#[tokio::test]
async fn escalations_kept_in_a_table_of_their_own_before_migration_21_carry_over_to_their_deadline_jobs() {
    let desk = Desk::open().await;
    let appeal = desk.file().await;
    let due = instant(&appeal["due_at"]);
    desk.run_at(due + Duration::hours(1)).await;
    let conn = desk.app.db.conn();
    let escalated = scheduler::escalations_of(conn, id(&appeal)).await.unwrap();
    assert_eq!(escalated.len(), 1);
    let agency = escalated[0].agency_id.expect("the job names its agency");
    assert!(escalated[0].alerted);

    // Going down, the table comes back, holding the escalation the job records.
    desk.app.revert_migrations_through(MIGRATION_21).await;
    let select = "SELECT appeal_id, agency_id, due_at, escalated_at, notified_at FROM escalations";
    let rows = conn.query_all_raw(Statement::from_string(conn.get_database_backend(), select)).await.unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.try_get::<Uuid>("", "appeal_id").unwrap(), id(&appeal));
    assert_eq!(row.try_get::<Uuid>("", "agency_id").unwrap(), agency);
    assert_eq!(row.try_get::<DateTime<Utc>>("", "due_at").unwrap(), due);
    let escalated_at = escalated[0].escalated_at;
    assert_eq!(row.try_get::<DateTime<Utc>>("", "escalated_at").unwrap(), escalated_at);
    assert_eq!(row.try_get::<Option<DateTime<Utc>>>("", "notified_at").unwrap(), Some(escalated_at));

    // An escalation nobody was told of, recorded in the table, is the job's outcome going up.
    conn.execute_unprepared("UPDATE escalations SET notified_at = NULL").await.unwrap();
    desk.app.db.migrate_up().await.unwrap();
    let escalated = scheduler::escalations_of(conn, id(&appeal)).await.unwrap();
    assert_eq!(escalated.len(), 1);
    assert_eq!(
        (escalated[0].agency_id, escalated[0].due_at, escalated[0].alerted),
        (Some(agency), due, false)
    );
    assert_eq!(jobs::count_unalerted(conn).await.unwrap(), 1);
    let table = conn.execute_unprepared("SELECT count(*) FROM escalations").await;
    assert!(table.is_err(), "the table is gone");

    // A deadline job keyed before keys named the agency: found by that key going up, and its
    // appeal's agency stands in for the one the key lacks going down.
    let key = format!("deadline:{}:{}", id(&appeal), due.timestamp_micros());
    let rekey =
        format!("UPDATE jobs SET dedupe_key = '{key}' WHERE kind = 'deadline' AND outcome = 'unalerted'");
    assert_eq!(conn.execute_unprepared(&rekey).await.unwrap().rows_affected(), 1);
    desk.app.revert_migrations_through(MIGRATION_21).await;
    let rows = conn.query_all_raw(Statement::from_string(conn.get_database_backend(), select)).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].try_get::<Uuid>("", "agency_id").unwrap(), agency);
    assert_eq!(rows[0].try_get::<Option<DateTime<Utc>>>("", "notified_at").unwrap(), None);
    desk.app.db.migrate_up().await.unwrap();
    let escalated = scheduler::escalations_of(conn, id(&appeal)).await.unwrap();
    assert_eq!((escalated[0].agency_id, escalated[0].due_at, escalated[0].alerted), (None, due, false));
}

#[tokio::test]
async fn a_granted_extension_cancels_the_old_reminders_and_schedules_new_ones() {
    let desk = Desk::open().await;
    let appeal = desk.file().await;
    let old_due = instant(&appeal["due_at"]);
    let appeal = desk.act(&desk.official, &appeal, "take", json!({})).await;
    let extended = desk
        .act(
            &desk.supervisor,
            &appeal,
            "grant-extension",
            json!({"days": 10, "reason": "Экспертиза лозим аст"}),
        )
        .await;
    let new_due = instant(&extended["due_at"]);
    assert!(new_due > old_due + Duration::days(9), "{old_due} -> {new_due}");

    let reminders = desk.jobs(&appeal, "reminder").await;
    let (old, new): (Vec<_>, Vec<_>) = reminders
        .iter()
        .partition(|j| instant(&serde_json::from_str::<Value>(&j.payload).unwrap()["due_at"]) == old_due);
    assert_eq!(old.len(), 2);
    assert!(old.iter().all(|j| j.status == "superseded"), "{old:?}");
    assert_eq!(new.len(), 2);
    assert!(new.iter().all(|j| j.status == "pending"));
    let mut new_times: Vec<_> = new.iter().map(|j| j.run_at).collect();
    new_times.sort();
    // Due at the end of Friday 27 March; the week before is Navruz, so the reminders come
    // at 09:00 on Tuesday 17 and Thursday 19 March.
    assert_eq!(new_due, Utc.with_ymd_and_hms(2026, 3, 27, 18, 59, 59).unwrap());
    let at_nine = |day| Utc.with_ymd_and_hms(2026, 3, day, 4, 0, 0).unwrap();
    assert_eq!(new_times, vec![at_nine(17), at_nine(19)]);

    let mut old_times: Vec<_> = old.iter().map(|j| j.run_at).collect();
    old_times.sort();
    for at in old_times {
        desk.run_at(at).await;
    }
    assert!(desk.events(&appeal, "remind").await.is_empty(), "the old reminders are gone");
    desk.run_at(old_due + SECOND).await;
    assert!(desk.events(&appeal, "overdue").await.is_empty(), "the old deadline is gone");
    let reminders = desk.events(&appeal, "remind").await;
    assert_eq!(reminders.len(), 1, "the new first reminder came on the old last day");
    assert_eq!(instant(&data(&reminders[0])["due_at"]), new_due);
    desk.run_at(new_due + SECOND).await;
    assert_eq!(desk.events(&appeal, "overdue").await.len(), 1);
}

#[tokio::test]
async fn an_extension_is_refused_once_the_deadline_has_passed_but_not_while_the_clock_is_paused() {
    let desk = Desk::open().await;
    let late = desk.file().await;
    let waiting = desk.file().await;
    let due = instant(&late["due_at"]);
    let late = desk.act(&desk.official, &late, "take", json!({})).await;
    let waiting = desk.act(&desk.official, &waiting, "take", json!({})).await;
    // The second appeal's clock stops a day later, in time; the stored due instant then
    // passes while the citizen has not answered yet.
    desk.app.clock.advance(Duration::days(1));
    let waiting = desk
        .act(&desk.official, &waiting, "request-info", json!({"message": "Суроғаи дақиқро нависед."}))
        .await;
    desk.run_at(due + SECOND).await;
    assert_eq!(desk.events(&late, "overdue").await.len(), 1);

    let extension = json!({"days": 10, "reason": "Экспертиза лозим аст"});
    for (who, action) in [(&desk.supervisor, "grant-extension"), (&desk.official, "request-extension")] {
        let response = desk.try_act(who, &late, action, extension.clone()).await;
        assert_eq!(response.status(), 409, "{action}");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let problem: Value = response.json().await.unwrap();
        assert!(problem["detail"].as_str().unwrap().contains("deadline passed"), "{problem}");
    }
    let after = desk.get(&late).await;
    assert_eq!((&after["due_at"], &after["extensions_granted"]), (&late["due_at"], &json!(0)));
    assert_eq!(after["deadline_state"], "overdue", "a missed deadline stays missed");
    assert!(desk.events(&late, "grant_extension").await.is_empty());
    assert!(desk.events(&late, "request_extension").await.is_empty());

    // The paused appeal still has the day it had when its clock stopped. The citizen is
    // told that the date moves on by the time their answer takes.
    let extended = desk.act(&desk.supervisor, &waiting, "grant-extension", extension).await;
    assert_eq!(extended["extensions_granted"], 1);
    assert_eq!(desk.events(&waiting, "grant_extension").await.len(), 1);
    let told = desk.mail_to_citizen("extension_granted").await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["paused"], true);
}

#[tokio::test]
async fn an_unanswered_request_for_information_closes_the_appeal_as_abandoned() {
    let desk = Desk::open().await;
    let appeal = desk.file().await;
    let appeal = desk.act(&desk.official, &appeal, "take", json!({})).await;
    desk.act(&desk.official, &appeal, "request-info", json!({"message": "Суроғаи дақиқро нависед"})).await;
    let reply_due = {
        let events = desk.events(&appeal, "request_info").await;
        instant(&data(&events[0])["reply_due_at"])
    };

    desk.run_at(reply_due).await;
    assert_eq!(desk.get(&appeal).await["status"], "awaiting_citizen");
    // While the clock is paused, the consideration deadline does not fire.
    assert!(desk.events(&appeal, "overdue").await.is_empty());

    desk.run_at(reply_due + SECOND).await;
    let closed = desk.get(&appeal).await;
    assert_eq!(closed["status"], "closed");
    let abandoned = desk.events(&appeal, "abandon").await;
    assert_eq!(abandoned.len(), 1);
    assert_eq!(abandoned[0].visibility, "public", "the citizen sees why it closed");
    assert_eq!(abandoned[0].actor_role, "system");
    // And is told by email, with the date the answer was due.
    let told = desk.mail_to_citizen("closed").await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["cause"], "abandon");
    assert_eq!(instant(&told[0]["respond_by"]), reply_due);
    desk.run_at(reply_due + Duration::days(60)).await;
    assert_eq!(desk.events(&appeal, "abandon").await.len(), 1);
    assert_eq!(desk.mail_to_citizen("closed").await.len(), 1, "told once");
    assert!(desk.events(&appeal, "overdue").await.is_empty(), "a closed appeal is never overdue");
}

#[tokio::test]
async fn a_reply_in_time_cancels_the_abandonment_and_restarts_the_deadline() {
    let desk = Desk::open().await;
    let appeal = desk.file().await;
    let due = instant(&appeal["due_at"]);
    let appeal = desk.act(&desk.official, &appeal, "take", json!({})).await;
    desk.act(&desk.official, &appeal, "request-info", json!({"message": "Суроғаи дақиқро нависед"})).await;
    desk.app.clock.advance(Duration::days(2));
    let replied = desk.act(&desk.citizen, &appeal, "reply", json!({"message": "Кӯчаи Рӯдакӣ 10"})).await;
    let resumed_due = instant(&replied["due_at"]);
    assert_eq!(resumed_due, due + Duration::days(2), "paused for exactly two days");

    desk.run_at(resumed_due + Duration::days(40)).await;
    assert!(desk.events(&appeal, "abandon").await.is_empty());
    let overdue = desk.events(&appeal, "overdue").await;
    assert_eq!(overdue.len(), 1);
    assert_eq!(instant(&data(&overdue[0])["due_at"]), resumed_due, "escalated on the moved deadline only");
    assert!(desk.jobs(&appeal, "citizen_reply").await.iter().all(|j| j.status == "superseded"));
}

#[tokio::test]
async fn asking_for_information_after_the_deadline_neither_moves_it_nor_escalates_again() {
    let desk = Desk::open().await;
    let appeal = desk.file().await;
    let due = instant(&appeal["due_at"]);
    let appeal = desk.act(&desk.official, &appeal, "take", json!({})).await;
    desk.run_at(due + Duration::days(2)).await;
    assert_eq!(desk.events(&appeal, "overdue").await.len(), 1);

    desk.act(&desk.official, &appeal, "request-info", json!({"message": "Суроғаи дақиқро нависед"})).await;
    desk.app.clock.advance(Duration::days(10));
    let replied = desk.act(&desk.citizen, &appeal, "reply", json!({"message": "Кӯчаи Рӯдакӣ 10"})).await;
    assert_eq!(instant(&replied["due_at"]), due, "as late as before the question");
    assert_eq!(replied["deadline_state"], "overdue");
    desk.run_at(due + Duration::days(40)).await;
    assert_eq!(desk.events(&appeal, "overdue").await.len(), 1, "escalated once");
    assert_eq!(scheduler::escalations_of(desk.app.db.conn(), id(&appeal)).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_contest_after_the_deadline_starts_a_new_period_and_reopening_another() {
    let desk = Desk::open().await;
    let appeal = desk.file().await;
    let due = instant(&appeal["due_at"]);
    let appeal = desk.act(&desk.official, &appeal, "take", json!({})).await;
    let answer = json!({"outcome": "satisfied", "text": "Об пайваст карда шуд."});
    desk.act(&desk.official, &appeal, "answer", answer.clone()).await;

    // Answered in time; contested eight days after the deadline (Wednesday 25 March).
    desk.app.clock.set(due + Duration::days(8));
    let contested = desk.act(&desk.citizen, &appeal, "contest", json!({"reason": "Об боз нест."})).await;
    let review_due = instant(&contested["due_at"]);
    assert_eq!(review_due, Utc.with_ymd_and_hms(2026, 4, 9, 18, 59, 59).unwrap(), "15 days from the contest");
    assert_eq!(contested["deadline_state"], "on_time");
    let told = desk.mail_to_citizen("contest_received").await;
    assert_eq!(told.len(), 1, "the citizen is told when the review is due");
    assert_eq!(instant(&told[0]["due_date"]), review_due);
    desk.run_at(due + Duration::days(9)).await;
    assert!(desk.events(&appeal, "overdue").await.is_empty(), "the answer was on time: nothing to escalate");

    desk.app.clock.set(due + Duration::days(10));
    let reopened = desk.act(&desk.supervisor, &appeal, "reopen", json!({"comment": "Аз нав санҷед."})).await;
    let again_due = instant(&reopened["due_at"]);
    assert!(again_due > review_due, "{again_due} after {review_due}");
    let told = desk.mail_to_citizen("reopened").await;
    assert_eq!((told.len(), instant(&told[0]["due_date"])), (1, again_due));
    desk.run_at(again_due).await;
    assert!(desk.events(&appeal, "overdue").await.is_empty());
    desk.run_at(again_due + SECOND).await;
    let overdue = desk.events(&appeal, "overdue").await;
    assert_eq!(overdue.len(), 1);
    assert_eq!(instant(&data(&overdue[0])["due_at"]), again_due, "escalated on the reopening's deadline");
}

#[tokio::test]
async fn the_contest_window_closing_closes_an_answered_appeal() {
    let desk = Desk::open().await;
    let appeal = desk.file().await;
    let appeal = desk.act(&desk.official, &appeal, "take", json!({})).await;
    let answered = desk
        .act(
            &desk.official,
            &appeal,
            "answer",
            json!({"outcome": "satisfied", "text": "Об пайваст карда шуд."}),
        )
        .await;
    assert_eq!(answered["status"], "answered");
    let closes = {
        let events = desk.events(&appeal, "answer").await;
        instant(&data(&events[0])["contest_until"])
    };
    desk.run_at(closes).await;
    assert_eq!(desk.get(&appeal).await["status"], "answered", "still open to contest at its last second");
    desk.run_at(closes + SECOND).await;
    assert_eq!(desk.get(&appeal).await["status"], "closed");
    assert_eq!(desk.events(&appeal, "close").await.len(), 1);
    assert!(desk.events(&appeal, "remind").await.is_empty(), "no reminders for an answered appeal");
}

#[tokio::test]
async fn after_downtime_everything_due_runs_in_due_order() {
    let desk = Desk::open().await;
    let first = desk.file().await;
    desk.app.clock.advance(Duration::days(1));
    let second = desk.file().await;
    // Nobody ran the scheduler until the first appeal's last reminder, at 09:00 on Monday
    // 16 March, the working day before its last: both of its reminders are due, in order;
    // the second appeal's last reminder (Tuesday 17 March) is not yet.
    let last_reminder = desk.jobs(&first, "reminder").await.iter().map(|j| j.run_at).max().unwrap();
    assert_eq!(last_reminder, Utc.with_ymd_and_hms(2026, 3, 16, 4, 0, 0).unwrap());
    desk.run_at(last_reminder).await;
    let reminders = desk.events(&first, "remind").await;
    let offsets: Vec<Value> = reminders.iter().map(|e| data(e)["offset"].clone()).collect();
    assert_eq!(offsets, ["3wd", "1wd"], "in due order");
    assert_eq!(desk.events(&second, "remind").await.len(), 1);

    // Then nobody ran it for two months: every deadline is missed once, and the reminder
    // whose deadline went by meanwhile has nothing left to say.
    let report = desk.run_at(instant(&second["due_at"]) + Duration::days(60)).await;
    assert_eq!((report.applied, report.moot), (2, 1), "{report:?}");
    for appeal in [&first, &second] {
        assert_eq!(desk.events(appeal, "overdue").await.len(), 1);
    }
    assert_eq!(desk.events(&second, "remind").await.len(), 1, "no reminder after the deadline");
    assert!(desk.jobs(&second, "reminder").await.iter().all(|j| j.status == "done"));
}

#[tokio::test]
async fn the_forwarding_window_closing_is_recorded_only_for_appeals_nobody_took_up() {
    let desk = Desk::open().await;
    let waiting = desk.file().await;
    let taken = desk.file().await;
    desk.act(&desk.official, &taken, "take", json!({})).await;
    let job = desk.jobs(&waiting, "forwarding_window").await.pop().expect("a forwarding-window job");
    let closes = instant(&serde_json::from_str::<Value>(&job.payload).unwrap()["closes_at"]);
    // Five working days from Monday 2 March: 3, 4, 5, 6 and (8 March falling on a Sunday)
    // not the 9th, which is its transfer, but Tuesday 10 March.
    assert_eq!(closes, Utc.with_ymd_and_hms(2026, 3, 10, 18, 59, 59).unwrap());

    desk.run_at(closes).await;
    assert!(desk.events(&waiting, "forwarding_window_closed").await.is_empty());
    desk.run_at(closes + SECOND).await;
    desk.run_at(closes + Duration::days(1)).await;
    assert_eq!(desk.events(&waiting, "forwarding_window_closed").await.len(), 1);
    assert!(desk.events(&taken, "forwarding_window_closed").await.is_empty(), "taken up: accepted");
}

#[tokio::test]
async fn an_official_who_leaves_the_agency_or_is_disabled_hands_their_open_appeals_back_to_the_queue() {
    let desk = Desk::open().await;
    let reception = desk.app.app.settings.appeals.reception_agency.clone();
    let first = desk.file().await;
    let due = instant(&first["due_at"]);
    let first = desk.act(&desk.official, &first, "take", json!({})).await;
    let colleague = desk.app.official_of(&reception).await;
    let second = desk.file().await;
    let second = desk.act(&colleague, &second, "take", json!({})).await;
    let third = desk.file().await;
    let third = desk.act(&colleague, &third, "take", json!({})).await;
    let answer = json!({"outcome": "explained", "text": "Таъмир то охири моҳ анҷом меёбад."});
    let third = desk.act(&colleague, &third, "answer", answer).await;
    let admin = desk.app.admin().await;
    let admin_id: Uuid = admin.user_id.parse().unwrap();

    // The first official moves to another agency: their appeal goes back to the queue.
    desk.app.ensure_agency("hukumat-vahdat").await;
    let path = format!("/api/v1/admin/users/{}", desk.official.user_id);
    let moved = desk.app.patch_json(&path, &json!({"agency": "hukumat-vahdat"}), admin.token()).await;
    assert_eq!(moved.status(), 200, "{}", moved.text().await.unwrap());
    // The appeal is out of their reach now; the supervisor reads it.
    let at_desk = &desk;
    let read = move |appeal: &Value| {
        let path = format!("/api/v1/appeals/{}", appeal["id"].as_str().unwrap());
        async move {
            let supervisor = at_desk.signed_in(&at_desk.supervisor).await;
            at_desk.app.get(&path, supervisor.token()).await.json::<Value>().await.unwrap()
        }
    };
    let seen = read(&first).await;
    assert_eq!(seen["staff"]["assignee_id"], Value::Null, "{seen}");
    assert_eq!(seen["status"], "in_progress");
    assert_eq!(seen["version"].as_i64(), first["version"].as_i64().map(|v| v + 1));
    let released = desk.events(&first, "unassign").await;
    assert_eq!(released.len(), 1);
    assert_eq!((released[0].actor_id, released[0].visibility.as_str()), (Some(admin_id), "internal"));
    assert_eq!(
        data(&released[0]),
        json!({"assignee": {"before": desk.official.user_id, "after": null}, "reason": "agency_changed"})
    );
    // The colleague's appeals are theirs still, until their account is disabled: the open
    // one, and the answered one too, which a contest may bring back to the agency.
    assert_eq!(read(&second).await["staff"]["assignee_id"], colleague.user_id.as_str());
    assert_eq!(read(&third).await["staff"]["assignee_id"], colleague.user_id.as_str());
    let path = format!("/api/v1/admin/users/{}", colleague.user_id);
    let disabled = desk.app.patch_json(&path, &json!({"disabled": true}), admin.token()).await;
    assert_eq!(disabled.status(), 200, "{}", disabled.text().await.unwrap());
    for appeal in [&second, &third] {
        assert_eq!(read(appeal).await["staff"]["assignee_id"], Value::Null);
        assert_eq!(data(&desk.events(appeal, "unassign").await[0])["reason"], "account_disabled");
    }
    assert_eq!(read(&third).await["status"], "answered");

    // Reminders go to the agency, not to the official who left; anyone there may take it.
    desk.run_at(due - Duration::days(3)).await;
    let reminded = desk.events(&first, "remind").await;
    assert_eq!(reminded.len(), 1);
    assert_eq!(data(&reminded[0])["assignee"], Value::Null);
    let to_leaver = desk.mail_to(&desk.official.email, "deadline_reminder").await;
    assert!(to_leaver.is_empty(), "{to_leaver:?}");
    let newcomer = desk.app.official_of(&reception).await;
    let version = read(&first).await["version"].clone();
    let path = format!("/api/v1/appeals/{}/actions/take", first["id"].as_str().unwrap());
    let taken = desk.app.post_json(&path, &json!({"version": version}), newcomer.token()).await;
    assert_eq!(taken.status(), 200);
    assert_eq!(taken.json::<Value>().await.unwrap()["staff"]["assignee_id"], newcomer.user_id.as_str());
}

/// Forwarding keeps the original deadline: an agency that receives an appeal after it was
/// missed owes a late answer, and its supervisors are told so, once, as the first agency's
/// were.
#[tokio::test]
async fn an_appeal_forwarded_after_its_deadline_is_escalated_at_the_receiving_agency_too_once() {
    let desk = Desk::open().await;
    let appeal = desk.file().await;
    let due = instant(&appeal["due_at"]);
    let appeal = desk.act(&desk.official, &appeal, "take", json!({})).await;
    desk.run_at(due + SECOND).await;
    assert_eq!(desk.events(&appeal, "overdue").await.len(), 1);

    let receiving = desk.app.supervisor_of("hukumat-vahdat").await;
    let reason = json!({"agency": "hukumat-vahdat", "reason": "Масъала ба салоҳияти ноҳия дахл дорад"});
    let forwarded = desk.act(&desk.official, &appeal, "forward", reason).await;
    assert_eq!(instant(&forwarded["due_at"]), due, "the original registration date holds");
    desk.run_at(due + Duration::hours(1)).await;
    desk.run_at(due + Duration::days(1)).await;

    let overdue = desk.events(&appeal, "overdue").await;
    assert_eq!(overdue.len(), 2, "once at each agency");
    let receiving_id: Uuid = receiving.user_id.parse().unwrap();
    assert_eq!(data(&overdue[1])["escalated_to"], json!([receiving_id]));
    let escalated = scheduler::escalations_of(desk.app.db.conn(), id(&appeal)).await.unwrap();
    assert_eq!(escalated.len(), 2);
    assert!(escalated.iter().all(|e| e.due_at == due));
    assert!(escalated.iter().all(|e| e.agency_id.is_some()));
    assert_ne!(escalated[0].agency_id, escalated[1].agency_id);
    let alerts = desk.mail_to(&receiving.email, "overdue_alert").await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
}
