//! The jobs table on the backend under test (SQLite by default, PostgreSQL with
//! MUROJIAT_TEST_DATABASE_URL): deduplication, leases, completion as compare-and-set,
//! retries, and many schedulers sharing the same due jobs, each effect exactly once.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use murojiat::app::App;
use murojiat::auth::keys::KeyRing;
use murojiat::clock::ManualClock;
use murojiat::domain::deadline::overdue_at;
use murojiat::services::scheduler::{JobKind, RunReport, Scheduler, kind};
use murojiat::store::entity::{appeal, appeal_event, escalation, job};
use murojiat::store::jobs::{self, NewJob};
use murojiat::store::{Backend, Db, agencies};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, Set};
use serde_json::json;
use uuid::Uuid;

use crate::support::{TestApp, spawn_app, start_instant};

const LEASE: Duration = Duration::seconds(60);

fn new_job(key: &str, run_at: DateTime<Utc>) -> NewJob {
    NewJob {
        kind: JobKind::Deadline.as_str().to_owned(),
        appeal_id: None,
        run_at,
        dedupe_key: key.to_owned(),
        payload: json!({}),
    }
}

async fn job(app: &TestApp, key: &str) -> job::Model {
    jobs::by_key(app.db.conn(), key).await.unwrap().expect("the job exists")
}

#[tokio::test]
async fn scheduling_a_key_twice_keeps_one_job_and_never_revives_finished_work() {
    let app = spawn_app().await;
    let now = start_instant();
    let db = app.db.conn();
    assert!(jobs::schedule(db, new_job("k", now), now).await.unwrap());
    assert!(!jobs::schedule(db, new_job("k", now + Duration::days(1)), now).await.unwrap());
    assert_eq!(job(&app, "k").await.run_at, now, "a pending job is left as it is");

    // Superseded work comes back when it is planned again.
    let appeal_less = job(&app, "k").await;
    job::Entity::update_many()
        .set(job::ActiveModel { status: Set(jobs::SUPERSEDED.into()), ..Default::default() })
        .filter(job::Column::Id.eq(appeal_less.id))
        .exec(db)
        .await
        .unwrap();
    assert!(jobs::schedule(db, new_job("k", now + Duration::hours(1)), now).await.unwrap());
    let revived = job(&app, "k").await;
    assert_eq!((revived.status.as_str(), revived.run_at), (jobs::PENDING, now + Duration::hours(1)));

    // Done work is never scheduled again.
    let claimed = jobs::claim(&app.db, "a", now + Duration::hours(1), LEASE, 10).await.unwrap();
    assert!(jobs::complete(db, claimed[0].id, "a", now).await.unwrap());
    assert!(!jobs::schedule(db, new_job("k", now + Duration::days(2)), now).await.unwrap());
    assert_eq!(job(&app, "k").await.status, jobs::DONE);
}

#[tokio::test]
async fn claims_take_due_jobs_in_due_order_and_leases_keep_others_away_until_they_expire() {
    let app = spawn_app().await;
    let now = start_instant();
    let db = app.db.conn();
    for (key, at) in
        [("late", now - Duration::hours(1)), ("early", now - Duration::days(1)), ("future", now + LEASE)]
    {
        jobs::schedule(db, new_job(key, at), now).await.unwrap();
    }
    let first = jobs::claim(&app.db, "a", now, LEASE, 1).await.unwrap();
    assert_eq!(first.iter().map(|j| j.dedupe_key.as_str()).collect::<Vec<_>>(), ["early"]);
    let rest = jobs::claim(&app.db, "b", now, LEASE, 10).await.unwrap();
    assert_eq!(
        rest.iter().map(|j| j.dedupe_key.as_str()).collect::<Vec<_>>(),
        ["late"],
        "not yet due: future"
    );
    assert!(jobs::claim(&app.db, "c", now + LEASE - SECOND, LEASE, 10).await.unwrap().is_empty());

    // "a" died: its lease expires, "c" takes the job over, and "a" can no longer finish it.
    let taken = jobs::claim(&app.db, "c", now + LEASE, LEASE, 10).await.unwrap();
    let keys: Vec<_> = taken.iter().map(|j| j.dedupe_key.as_str()).collect();
    assert_eq!(keys, ["early", "late", "future"]);
    assert_eq!(taken[0].attempts, 2, "the dead worker's claim counted as an attempt");
    assert!(!jobs::complete(db, first[0].id, "a", now + LEASE).await.unwrap());
    assert!(jobs::complete(db, first[0].id, "c", now + LEASE).await.unwrap());
    assert!(!jobs::complete(db, first[0].id, "c", now + LEASE).await.unwrap(), "done once");
}

const SECOND: Duration = Duration::seconds(1);

#[tokio::test]
async fn a_failing_job_backs_off_then_ends_failed_and_visible() {
    let app = spawn_app_with_attempts(3).await;
    let now = start_instant();
    let db = app.db.conn();
    // A deadline job whose payload cannot be read fails every time.
    let appeal = insert_appeals(&app, 1, now - Duration::days(1)).await[0];
    let bad = NewJob { appeal_id: Some(appeal), ..new_job("bad", now) };
    jobs::schedule(db, bad, now).await.unwrap();
    let scheduler = Scheduler::new(app.app.clone());

    let report = scheduler.run_due(now).await.unwrap();
    assert_eq!((report.retried, report.failed), (1, 0));
    let waiting = job(&app, "bad").await;
    assert_eq!(waiting.status, jobs::PENDING);
    assert_eq!(waiting.run_at, now + Duration::seconds(30), "first retry after the base delay");
    assert!(waiting.last_error.as_deref().unwrap_or_default().contains("bad job"), "{waiting:?}");

    let report = scheduler.run_due(now + Duration::seconds(30)).await.unwrap();
    assert_eq!(report.retried, 1);
    assert_eq!(job(&app, "bad").await.run_at, now + Duration::seconds(90), "then twice as long");

    let report = scheduler.run_due(now + Duration::hours(1)).await.unwrap();
    assert_eq!(report.failed, 1);
    assert_eq!(job(&app, "bad").await.status, jobs::FAILED);
    assert_eq!(jobs::count_with_status(db, jobs::FAILED).await.unwrap(), 1);
    assert_eq!(scheduler.run_due(now + Duration::days(30)).await.unwrap(), RunReport::default());
}

async fn spawn_app_with_attempts(attempts: u32) -> TestApp {
    crate::support::spawn_app_with(|f| {
        f.merge(figment::providers::Serialized::default("scheduler.max_attempts", attempts))
            .merge(figment::providers::Serialized::default("scheduler.retry_base_secs", 30))
    })
    .await
}

/// Inserts `n` open appeals at the reception agency, all due at `due`; their ids.
async fn insert_appeals(app: &TestApp, n: usize, due: DateTime<Utc>) -> Vec<Uuid> {
    let reception = app.app.settings.appeals.reception_agency.clone();
    app.ensure_agency(&reception).await;
    let agency = agencies::by_code(app.db.conn(), &reception).await.unwrap().unwrap();
    let now = start_instant();
    let ids: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
    for chunk in ids.chunks(500) {
        let rows = chunk.iter().map(|id| {
            appeal::ActiveModel::from(appeal::Model {
                id: *id,
                tracking_number: id.simple().to_string()[16..].to_owned(),
                access_code_hash: None,
                kind: "complaint".into(),
                status: "registered".into(),
                channel: "web".into(),
                subject: "s".into(),
                body: "b".into(),
                category_code: "water".into(),
                region_code: "dushanbe".into(),
                district_code: None,
                lat: None,
                lon: None,
                co_signers_count: 1,
                co_signers_names: None,
                applicant_type: "person".into(),
                legal_entity_name: None,
                legal_entity_tax_id: None,
                language: "tg".into(),
                citizen_id: None,
                contact_name: None,
                contact_email: None,
                contact_address: None,
                entered_by: None,
                agency_id: agency.id,
                assignee_id: None,
                registration_number: None,
                priority: "normal".into(),
                deadline_policy: "standard".into(),
                ruleset_version: None,
                rule_id: None,
                routing_trace: None,
                registered_at: now - Duration::days(20),
                due_at: due,
                paused_at: None,
                extensions_granted: 0,
                outcome: None,
                answer_text: None,
                answered_at: None,
                dismissal_reason: None,
                closed_at: None,
                version: 1,
                created_at: now,
                updated_at: now,
            })
        });
        appeal::Entity::insert_many(rows).exec_without_returning(app.db.conn()).await.unwrap();
    }
    ids
}

/// A deadline job per appeal, all due at once.
async fn schedule_deadlines(app: &TestApp, ids: &[Uuid], due: DateTime<Utc>) {
    let now = start_instant();
    for chunk in ids.chunks(1000) {
        let rows = chunk.iter().map(|id| job::ActiveModel {
            id: Set(Uuid::now_v7()),
            kind: Set(JobKind::Deadline.as_str().into()),
            appeal_id: Set(Some(*id)),
            run_at: Set(overdue_at(due)),
            dedupe_key: Set(kind::deadline_key(*id, due)),
            payload: Set(json!({ "due_at": due }).to_string()),
            status: Set(jobs::PENDING.into()),
            attempts: Set(0),
            lease_owner: Set(None),
            lease_expires_at: Set(None),
            last_error: Set(None),
            done_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        });
        job::Entity::insert_many(rows).exec_without_returning(app.db.conn()).await.unwrap();
    }
}

/// Another scheduler process: its own pool, the same database and clock.
async fn another_process(app: &TestApp, clock: &ManualClock) -> Scheduler {
    let settings = app.app.settings.clone();
    let db = Db::connect(&settings.database).await.unwrap();
    let other = App::assemble(settings, db, Arc::new(clock.clone()), KeyRing::generate()).unwrap();
    Scheduler::new(other)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_schedulers_share_the_due_jobs_and_each_effect_happens_exactly_once() {
    let app = spawn_app().await;
    // 10,000 on PostgreSQL (the multi-process backend); fewer on SQLite's single writer.
    let n = match app.db.backend() {
        Backend::Postgres => 10_000,
        Backend::Sqlite => 1_000,
    };
    let now = start_instant();
    let due = now - Duration::days(1);
    let ids = insert_appeals(&app, n, due).await;
    schedule_deadlines(&app, &ids, due).await;

    // One worker claims a batch and dies before running it: its lease stays behind.
    let dead = jobs::claim(&app.db, "dead-worker", now, LEASE, 300).await.unwrap();
    assert_eq!(dead.len(), 300);

    let clock = app.clock.clone();
    let runners = [
        another_process(&app, &clock).await,
        another_process(&app, &clock).await,
        another_process(&app, &clock).await,
    ];
    let run = |at: DateTime<Utc>| {
        let runners = runners.clone();
        async move {
            let tasks: Vec<_> = runners
                .into_iter()
                .map(|s| tokio::spawn(async move { s.run_due(at).await.unwrap() }))
                .collect();
            let mut reports = Vec::new();
            for task in tasks {
                reports.push(task.await.unwrap());
            }
            reports
        }
    };

    let reports = run(now).await;
    let applied: u64 = reports.iter().map(|r| r.applied).sum();
    assert_eq!(applied, (n - 300) as u64, "{reports:?}");
    if app.db.backend() == Backend::Postgres {
        // SQLite has one writer: there, whoever holds the lock may well take everything.
        assert!(reports.iter().all(|r| r.claimed > 0), "every scheduler took a share: {reports:?}");
    }
    assert_eq!(
        jobs::count_with_status(app.db.conn(), jobs::PENDING).await.unwrap(),
        300,
        "the dead lease holds"
    );

    // The lease expires; the survivors run what the dead worker left.
    let reports = run(now + LEASE).await;
    let applied_later: u64 = reports.iter().map(|r| r.applied).sum();
    assert_eq!(applied_later, 300, "{reports:?}");

    let conn = app.db.conn();
    assert_eq!(jobs::count_with_status(conn, jobs::DONE).await.unwrap(), n as u64);
    assert_eq!(escalation::Entity::find().count(conn).await.unwrap(), n as u64, "one escalation each");
    let overdue = appeal_event::Entity::find().filter(appeal_event::Column::Action.eq("overdue"));
    assert_eq!(overdue.clone().count(conn).await.unwrap(), n as u64, "one overdue event each");
    let distinct: Vec<Uuid> = overdue
        .select_only()
        .column(appeal_event::Column::AppealId)
        .distinct()
        .into_tuple()
        .all(conn)
        .await
        .unwrap();
    assert_eq!(distinct.len(), n, "on every appeal, none twice");
    // Nothing is left to do, however often the schedulers run.
    let reports = run(now + Duration::days(1)).await;
    assert!(reports.iter().all(|r| r.claimed == 0), "{reports:?}");
}

#[tokio::test]
async fn serve_runs_the_scheduler_in_process_when_enabled() {
    let app = crate::support::spawn_app_with(|f| {
        f.merge(figment::providers::Serialized::default("scheduler.enabled", true))
            .merge(figment::providers::Serialized::default("scheduler.poll_interval_ms", 10))
    })
    .await;
    let due = start_instant() - Duration::days(1);
    let ids = insert_appeals(&app, 3, due).await;
    schedule_deadlines(&app, &ids, due).await;
    // The background loop runs on its own task and counts its passes: wait (bounded) for two
    // more, so at least one began after the jobs were written. Time does not move.
    let mut passes = app.app.scheduler_passes.subscribe();
    let seen = *passes.borrow_and_update();
    tokio::time::timeout(std::time::Duration::from_secs(20), passes.wait_for(|n| *n >= seen + 2))
        .await
        .expect("the in-process scheduler makes passes")
        .expect("the scheduler is running");
    assert_eq!(jobs::count_with_status(app.db.conn(), jobs::DONE).await.unwrap(), 3);
    assert_eq!(escalation::Entity::find().count(app.db.conn()).await.unwrap(), 3);
}
