//! The jobs table on the backend under test (SQLite by default, PostgreSQL with
//! MUROJIAT_TEST_DATABASE_URL): deduplication, claims that hold appeals, completion as
//! compare-and-set, retries, and many schedulers sharing the same due jobs, each effect
//! exactly once.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use murojiat::app::App;
use murojiat::auth::keys::KeyRing;
use murojiat::clock::ManualClock;
use murojiat::domain::deadline::overdue_at;
use murojiat::notify::MessageKind;
use murojiat::services::scheduler::{self, JobKind, RunReport, Scheduler, kind};
use murojiat::store::agencies::Agency;
use murojiat::store::entity::outbox_message;
use murojiat::store::entity::{appeal, appeal_event, job};
use murojiat::store::events::{self, NewEvent, Verified};
use murojiat::store::jobs::{self, NewJob};
use murojiat::store::users::{self, NewUser};
use murojiat::store::{Backend, Db, agencies, calendar};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
    QueryTrait, Set, Statement,
};
use serde_json::json;
use uuid::Uuid;

use crate::support::plans::{plan_of, plan_of_query};
use crate::support::{ANONYMOUS, TestApp, fixtures, spawn_app, start_instant};

/// How many missed deadlines were escalated: the deadline jobs done with an escalation.
async fn escalated(conn: &impl ConnectionTrait) -> u64 {
    job::Entity::find()
        .filter(job::Column::Kind.eq(JobKind::Deadline.as_str()))
        .filter(job::Column::Outcome.is_in([jobs::outcome::APPLIED, jobs::outcome::UNALERTED]))
        .count(conn)
        .await
        .unwrap()
}

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
    assert!(!jobs::complete(db, revived.id, "a", now).await.unwrap(), "not due yet");
    assert!(jobs::complete(db, revived.id, "a", now + Duration::hours(1)).await.unwrap());
    assert!(!jobs::schedule(db, new_job("k", now + Duration::days(2)), now).await.unwrap());
    assert_eq!(job(&app, "k").await.status, jobs::DONE);
}

/// A claim holds the appeals of the due jobs, soonest job first, and brings every due job
/// of theirs; on PostgreSQL a second claimer skips what the first holds, without waiting,
/// until the first transaction ends, however it ends.
#[tokio::test]
async fn a_claim_holds_the_appeals_of_due_jobs_and_others_skip_them_until_it_ends() {
    let app = spawn_app().await;
    let now = start_instant();
    let db = app.db.conn();
    let backend = app.db.backend();
    let [first, second, later] = insert_appeals(&app, 3, now).await[..] else { unreachable!() };
    for (key, appeal, at) in [
        ("second", second, now - Duration::hours(1)),
        ("first", first, now - Duration::days(1)),
        ("first-again", first, now - Duration::minutes(1)),
        ("later", later, now + SECOND),
    ] {
        jobs::schedule(db, NewJob { appeal_id: Some(appeal), ..new_job(key, at) }, now).await.unwrap();
    }
    let keys = |due: &[job::Model]| due.iter().map(|j| j.dedupe_key.clone()).collect::<Vec<_>>();

    let holder = app.db.write().await.unwrap();
    let held = jobs::claim(&holder, backend, now, 1).await.unwrap().appeals;
    assert_eq!(held.iter().map(|a| a.id).collect::<Vec<_>>(), [first], "the soonest job's appeal");
    let due = jobs::due_of(&holder, &[first], now).await.unwrap();
    assert_eq!(keys(&due), ["first", "first-again"], "every due job of the appeal, in due order");
    if backend == Backend::Postgres {
        let other = app.db.write().await.unwrap();
        let taken = jobs::claim(&other, backend, now, 10).await.unwrap().appeals;
        assert_eq!(taken.iter().map(|a| a.id).collect::<Vec<_>>(), [second], "held: skipped; later: not due");
        other.rollback().await.unwrap();
    }
    // The holder ends without committing (as when its process dies): nothing of its claim
    // remains.
    holder.rollback().await.unwrap();
    let again = app.db.write().await.unwrap();
    let taken = jobs::claim(&again, backend, now + SECOND, 10).await.unwrap().appeals;
    assert_eq!(taken.iter().map(|a| a.id).collect::<Vec<_>>(), [first, second, later]);
    assert!(jobs::complete(&again, due[0].id, "c", now).await.unwrap());
    assert!(!jobs::complete(&again, due[0].id, "c", now).await.unwrap(), "done once");
    again.commit().await.unwrap();
    let done = job(&app, "first").await;
    assert_eq!((done.status.as_str(), done.ran_by.as_deref(), done.attempts), (jobs::DONE, Some("c"), 1));
}

/// `Db::write_unflushed`, the outbox claim's transaction: on PostgreSQL its commit does not
/// wait for the log's flush, for that transaction only; on both backends it writes as any other.
#[tokio::test]
async fn a_lease_transaction_commits_without_waiting_for_its_flush_and_writes_as_any_other() {
    let app = spawn_app().await;
    let txn = app.db.write_unflushed().await.expect("the transaction begins");
    writes_with_a_local_setting(&app, txn, "synchronous_commit", ("off", "on")).await;
}

/// `Db::write_holding`, a scheduler batch's transaction: on PostgreSQL it is ended if its
/// client stays idle in it longer than asked, for that transaction only; on both backends it
/// writes as any other.
#[tokio::test]
async fn a_holding_transaction_is_ended_by_the_database_when_its_client_hangs_and_writes_as_any_other() {
    let app = spawn_app().await;
    let idle = app.app.settings.scheduler.batch_idle_secs;
    let txn =
        app.db.write_holding(std::time::Duration::from_secs(idle)).await.expect("the transaction begins");
    let set = format!("{idle}s");
    writes_with_a_local_setting(&app, txn, "idle_in_transaction_session_timeout", (&set, "0")).await;
}

/// Checks a transaction that sets `setting` for itself alone: on PostgreSQL it shows
/// `within` inside it and `after` on the pooled connections once it committed; on both
/// backends a job written in it is committed.
async fn writes_with_a_local_setting(
    app: &TestApp,
    txn: sea_orm::DatabaseTransaction,
    setting: &str,
    (within, after): (&str, &str),
) {
    let now = start_instant();
    let shown = |row: Option<sea_orm::QueryResult>| {
        row.expect("SHOW returns a row").try_get::<String>("", setting).unwrap()
    };
    let show = || Statement::from_string(DbBackend::Postgres, format!("SHOW {setting}"));
    let postgres = app.db.backend() == Backend::Postgres;
    if postgres {
        assert_eq!(shown(txn.query_one_raw(show()).await.unwrap()), within);
    }
    jobs::schedule(&txn, new_job(setting, now), now).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(job(app, setting).await.status, jobs::PENDING, "the write is committed");
    if postgres {
        for _ in 0..4 {
            let pooled = app.db.conn().query_one_raw(show()).await.unwrap();
            assert_eq!(shown(pooled), after, "SET LOCAL ends with the transaction");
        }
    }
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

/// `murojiat jobs failed` lists the jobs that gave up, and `murojiat jobs retry` puts them
/// back to work on either database (no SQL by hand at 3 a.m.).
#[tokio::test]
async fn the_jobs_commands_list_the_failed_jobs_and_run_them_again() {
    let app = spawn_app_with_attempts(1).await;
    let now = start_instant();
    let db = app.db.conn();
    let appeal = insert_appeals(&app, 1, now - Duration::days(1)).await[0];
    jobs::schedule(db, NewJob { appeal_id: Some(appeal), ..new_job("bad", now) }, now).await.unwrap();
    jobs::schedule(db, new_job("later", now + Duration::hours(1)), now).await.unwrap();
    assert_eq!(Scheduler::new(app.app.clone()).run_due(now).await.unwrap().failed, 1);
    let failed = job(&app, "bad").await;
    let command = |args: &[&str]| app.command(&[&["jobs"], args].concat());

    let (status, listed) = command(&["failed"]);
    assert_eq!(status, Some(0), "{listed}");
    let line: Vec<&str> = listed.trim().split('\t').collect();
    assert_eq!(&line[..4], [failed.id.to_string().as_str(), "deadline", appeal.to_string().as_str(), "1"]);
    assert!(line[5].starts_with("bad job"), "{listed}");

    // A pending job is not a failed one: named, it is reported and nothing changes.
    let pending = job(&app, "later").await;
    let (status, said) = command(&["retry", &failed.id.to_string(), &pending.id.to_string()]);
    assert_eq!(status, Some(1), "{said}");
    assert!(said.starts_with("retried: 1\n") && said.contains(&pending.id.to_string()), "{said}");
    let retried = job(&app, "bad").await;
    assert_eq!((retried.status.as_str(), retried.attempts), (jobs::PENDING, 0));
    assert_eq!(job(&app, "later").await, pending);
    assert_eq!(command(&["failed"]), (Some(0), String::new()));

    // The scheduler runs it again (due at the command's time); it fails again, visibly.
    let report = Scheduler::new(app.app.clone()).run_due(retried.run_at).await.unwrap();
    assert_eq!(report.failed, 1);
    assert_eq!(command(&["retry", "--all"]), (Some(0), "retried: 1\n".to_owned()));
    assert_eq!(command(&["retry"]).0, Some(2), "an id or --all is required");
}

/// `/metrics` shows the jobs due and not done (read at the server's clock) and the jobs that
/// gave up.
#[tokio::test]
async fn metrics_show_the_jobs_due_and_the_jobs_that_gave_up() {
    let app = spawn_app_with_attempts(1).await;
    let now = app.clock_now();
    let db = app.db.conn();
    let appeal = insert_appeals(&app, 1, now - Duration::days(1)).await[0];
    // Due now, and its payload cannot be read: it fails at its only attempt.
    jobs::schedule(db, NewJob { appeal_id: Some(appeal), ..new_job("bad", now) }, now).await.unwrap();
    jobs::schedule(db, new_job("later", now + Duration::hours(1)), now).await.unwrap();
    let gauge = |metrics: &str, name: &str| -> u64 {
        let value = metrics.lines().find_map(|line| line.strip_prefix(&format!("{name} ")));
        value.and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("no {name}: {metrics}"))
    };
    let metrics = app.get("/metrics", ANONYMOUS).await.text().await.unwrap();
    assert_eq!((gauge(&metrics, "murojiat_jobs_due"), gauge(&metrics, "murojiat_jobs_failed")), (1, 0));

    let report = Scheduler::new(app.app.clone()).run_due(now).await.unwrap();
    assert_eq!(report.failed, 1);
    let metrics = app.get("/metrics", ANONYMOUS).await.text().await.unwrap();
    assert_eq!((gauge(&metrics, "murojiat_jobs_due"), gauge(&metrics, "murojiat_jobs_failed")), (0, 1));
    assert!(metrics.contains("# TYPE murojiat_jobs_due gauge\n"), "{metrics}");
}

/// The scheduler's reads find the pending (or failed) jobs from partial indexes that hold
/// only those (migration 15): the claim in due order without sorting, and the metrics'
/// counts. Done jobs, which outnumber them, are in neither. The held appeals' due jobs and
/// superseding read the appeals' own jobs.
#[tokio::test]
async fn the_scheduler_reads_pending_and_failed_jobs_from_indexes_that_hold_only_those() {
    let app = spawn_app().await;
    let now = app.clock_now();
    let claim = plan_of(&app, &jobs::claiming(app.db.backend(), now, 100), &["jobs", "appeals"]).await;
    assert!(claim.contains("idx_jobs_pending"), "the claim does not read the pending index:\n{claim}");
    assert!(!claim.to_lowercase().contains("sort"), "the claim sorts:\n{claim}");
    let of_held =
        plan_of_query(&app, &jobs::reading_due_of(&[Uuid::nil()], now).into_query(), &["jobs"]).await;
    assert!(of_held.contains("idx_jobs_appeal"), "the held appeals' jobs are not read by appeal:\n{of_held}");
    let due = plan_of_query(&app, &jobs::counting_due(now), &["jobs"]).await;
    assert!(
        due.contains("idx_jobs_pending"),
        "the count of due jobs does not read the pending index:\n{due}"
    );
    let failed = plan_of_query(&app, &jobs::counting_failed(), &["jobs"]).await;
    assert!(
        failed.contains("idx_jobs_failed"),
        "the count of failed jobs does not read its index:\n{failed}"
    );
    let kinds = [JobKind::Reminder.as_str(), JobKind::Deadline.as_str()];
    let supersede = plan_of_query(&app, &jobs::superseding(Uuid::nil(), &kinds, &[], now), &["jobs"]).await;
    assert!(
        supersede.contains("idx_jobs_appeal"),
        "superseding does not read the appeal's jobs:\n{supersede}"
    );
}

/// A job is updated once, when it completes, and that update changes its status, which the
/// due index names: it is never a HOT update, so free room on the jobs table's pages would
/// only double them. Migration 18 gives the table PostgreSQL's default fill factor again
/// (migration 12 had kept half of each page free for leases). SQLite has no fill factor.
#[tokio::test]
async fn the_jobs_table_fills_its_pages_as_any_other_table() {
    let app = spawn_app().await;
    if app.db.backend() != Backend::Postgres {
        return;
    }
    let options = Statement::from_string(
        DbBackend::Postgres,
        "SELECT array_to_string(reloptions, ',') AS options FROM pg_class WHERE oid = 'jobs'::regclass",
    );
    let row = app.db.conn().query_one_raw(options).await.unwrap().expect("the jobs table");
    let options: Option<String> = row.try_get("", "options").unwrap();
    assert_eq!(options, None, "the jobs table keeps storage options");
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
    insert_appeals_at(app, &agency, n, due).await
}

/// Inserts `n` open appeals at `agency`, all due at `due`; their ids.
async fn insert_appeals_at(app: &TestApp, agency: &Agency, n: usize, due: DateTime<Utc>) -> Vec<Uuid> {
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
                public_version: 1,
                public_updated_at: now,
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
        let agency_of: std::collections::HashMap<Uuid, Uuid> = appeal::Entity::find()
            .filter(appeal::Column::Id.is_in(chunk.iter().copied()))
            .all(app.db.conn())
            .await
            .unwrap()
            .into_iter()
            .map(|a| (a.id, a.agency_id))
            .collect();
        let rows = chunk.iter().map(|id| job::ActiveModel {
            id: Set(Uuid::now_v7()),
            kind: Set(JobKind::Deadline.as_str().into()),
            appeal_id: Set(Some(*id)),
            run_at: Set(overdue_at(due)),
            dedupe_key: Set(kind::deadline_key(*id, agency_of[id], due)),
            payload: Set(json!({ "due_at": due }).to_string()),
            status: Set(jobs::PENDING.into()),
            attempts: Set(0),
            ran_by: Set(None),
            last_error: Set(None),
            done_at: Set(None),
            outcome: Set(None),
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

    // One worker claims a batch and hangs in it, holding its appeals (on SQLite, the only
    // writer, it dies at once: it holds nothing, and the others run everything).
    let hung = app.db.write().await.unwrap();
    let held = jobs::claim(&hung, app.db.backend(), now, 300).await.unwrap().appeals;
    assert_eq!(held.len(), 300);
    let (held, hung_pid) = match app.db.backend() {
        Backend::Postgres => {
            let pid = Statement::from_string(DbBackend::Postgres, "SELECT pg_backend_pid() AS pid");
            let row = hung.query_one_raw(pid).await.unwrap().expect("a row");
            (held.len() as u64, Some((hung, row.try_get::<i32>("", "pid").unwrap())))
        }
        Backend::Sqlite => {
            drop(hung);
            (0, None)
        }
    };

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
    assert_eq!(applied, n as u64 - held, "{reports:?}");
    if app.db.backend() == Backend::Postgres {
        // SQLite has one writer: there, whoever holds the lock may well take everything.
        assert!(reports.iter().all(|r| r.claimed > 0), "every scheduler took a share: {reports:?}");
    }
    assert_eq!(
        jobs::count_with_status(app.db.conn(), jobs::PENDING).await.unwrap(),
        held,
        "the hung worker's appeals were skipped"
    );

    // Its process dies (its connection is cut; PostgreSQL waits up to 5 s for the backend to
    // end): its transaction ends with it, and the survivors run what it held.
    if let Some((hung, pid)) = hung_pid {
        let cut = format!("SELECT pg_terminate_backend({pid}, 5000)");
        app.db.conn().execute_unprepared(&cut).await.unwrap();
        drop(hung);
    }
    let reports = run(now + SECOND).await;
    let applied_later: u64 = reports.iter().map(|r| r.applied).sum();
    assert_eq!(applied_later, held, "{reports:?}");

    let conn = app.db.conn();
    assert_eq!(jobs::count_with_status(conn, jobs::DONE).await.unwrap(), n as u64);
    assert_eq!(escalated(conn).await, n as u64, "one escalation each");
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
    // A calendar edit's recheck due too: the loop runs it when it finds no job due.
    let year = murojiat::domain::calendar::YearTable { year: 2027, entries: Vec::new() };
    calendar::schedule_recheck(app.db.conn(), &year, Uuid::now_v7(), due, due).await.unwrap();
    // The background loop runs on its own task and counts its passes: wait (bounded) for
    // three more, so one began after the jobs were written (and ran them) and one after
    // that (finding none, it ran the recheck). Time does not move.
    let mut passes = app.app.scheduler_passes.subscribe();
    let seen = *passes.borrow_and_update();
    tokio::time::timeout(std::time::Duration::from_secs(20), passes.wait_for(|n| *n >= seen + 3))
        .await
        .expect("the in-process scheduler makes passes")
        .expect("the scheduler is running");
    assert_eq!(jobs::count_with_status(app.db.conn(), jobs::DONE).await.unwrap(), 3);
    assert_eq!(escalated(app.db.conn()).await, 3);
    let rechecks = calendar::rechecks(app.db.conn()).await.unwrap();
    assert_eq!(rechecks.iter().map(|r| r.status.as_str()).collect::<Vec<_>>(), ["done"]);
}

/// A scheduler that always finds work still runs its chores: a calendar edit's recheck is
/// not held back by passes that never come up empty, but runs once the poll interval has
/// passed on the clock. Here one job fails on every attempt and, with no backoff, is due
/// again at once, so every pass finds it.
#[tokio::test]
async fn a_scheduler_that_always_finds_work_still_runs_the_rechecks_of_calendar_edits() {
    let app = crate::support::spawn_app_with(|f| {
        f.merge(figment::providers::Serialized::default("scheduler.enabled", true))
            .merge(figment::providers::Serialized::default("scheduler.poll_interval_ms", 10))
            .merge(figment::providers::Serialized::default("scheduler.retry_base_secs", 0))
            .merge(figment::providers::Serialized::default("scheduler.max_attempts", 1_000_000))
    })
    .await;
    let now = start_instant();
    let mut passes = app.app.scheduler_passes.subscribe();
    let mut more_passes = async |n: u64| {
        let seen = *passes.borrow_and_update();
        tokio::time::timeout(std::time::Duration::from_secs(20), passes.wait_for(|p| *p >= seen + n))
            .await
            .expect("the in-process scheduler makes passes")
            .expect("the scheduler is running");
    };
    let [appeal] = insert_appeals(&app, 1, now).await[..] else { unreachable!() };
    let failing = NewJob { kind: "no-such-kind".into(), appeal_id: Some(appeal), ..new_job("failing", now) };
    jobs::schedule(app.db.conn(), failing, now).await.unwrap();
    more_passes(2).await;
    let year = murojiat::domain::calendar::YearTable { year: 2027, entries: Vec::new() };
    calendar::schedule_recheck(app.db.conn(), &year, Uuid::now_v7(), now, now).await.unwrap();
    let statuses = async || {
        calendar::rechecks(app.db.conn()).await.unwrap().into_iter().map(|r| r.status).collect::<Vec<_>>()
    };

    // Every pass finds the failing job; the clock stands still, so the chores wait.
    more_passes(3).await;
    assert_eq!(statuses().await, ["pending"]);
    // A poll interval later on the clock, the next pass (busy as ever) runs them.
    app.clock.advance(Duration::seconds(1));
    more_passes(2).await;
    assert_eq!(statuses().await, ["done"]);
    let failing = job(&app, "failing").await;
    assert_eq!(failing.status, jobs::PENDING, "due again at once: every pass finds work");
    assert!(failing.attempts >= 5, "tried on every pass: {}", failing.attempts);
}

/// An active supervisor at `agency` with this address; the account's id.
async fn supervisor(app: &TestApp, agency: &Agency, email: &str) -> Uuid {
    let user = users::insert(
        app.db.conn(),
        NewUser {
            id: Uuid::now_v7(),
            email: email.to_owned(),
            password_hash: "unused".into(),
            full_name: format!("Supervisor {email}"),
            role: "supervisor".into(),
            agency_id: Some(agency.id),
            locale: "ru".into(),
            email_verified: true,
            now: start_instant(),
        },
    )
    .await
    .unwrap();
    user.id
}

/// Starts each appeal's timeline with a filing event, so the jobs' events continue a chain.
async fn start_timelines(app: &TestApp, ids: &[Uuid]) {
    for id in ids {
        let filed = NewEvent {
            appeal_id: *id,
            at: start_instant() - Duration::days(20),
            actor_id: None,
            actor_role: "citizen".into(),
            action: "file".into(),
            visibility: "public".into(),
            status_before: "registered".into(),
            status_after: "registered".into(),
            data: json!({ "channel": "web" }),
        };
        events::append(app.db.conn(), filed).await.unwrap();
    }
}

/// A reminder a day before `due` per appeal, due before the deadline jobs.
async fn schedule_reminders(app: &TestApp, ids: &[Uuid], due: DateTime<Utc>) {
    for id in ids {
        let reminder = NewJob {
            kind: JobKind::Reminder.as_str().into(),
            appeal_id: Some(*id),
            run_at: due - Duration::days(1),
            dedupe_key: format!("reminder:{id}:test"),
            payload: json!({ "due_at": due, "offset": "1d" }),
        };
        jobs::schedule(app.db.conn(), reminder, start_instant()).await.unwrap();
    }
}

async fn actions_of(app: &TestApp, appeal: Uuid) -> Vec<String> {
    let timeline = events::of_appeal(app.db.conn(), appeal, true).await.unwrap();
    timeline.into_iter().map(|e| e.action).collect()
}

async fn mail_to(app: &TestApp, email: &str, kind: MessageKind) -> u64 {
    outbox_message::Entity::find()
        .filter(outbox_message::Column::RecipientEmail.eq(email))
        .filter(outbox_message::Column::Template.eq(kind.as_str()))
        .count(app.db.conn())
        .await
        .unwrap()
}

#[tokio::test]
async fn one_batch_over_several_agencies_continues_each_appeals_own_chain_and_alerts_its_own_supervisors() {
    let app = spawn_app().await;
    let now = start_instant();
    let due = now - Duration::days(1);
    let tomorrow = now + Duration::days(1);
    let mut agencies_seen = Vec::new();
    for code in ["batch-water", "batch-roads", "batch-health"] {
        let agency = fixtures::agency(code).insert(&app).await;
        // Created out of email order: the overdue event lists them in email order.
        let second = supervisor(&app, &agency, &format!("b.{code}@example.org")).await;
        let first = supervisor(&app, &agency, &format!("a.{code}@example.org")).await;
        let late = insert_appeals_at(&app, &agency, 4, due).await;
        let due_tomorrow = insert_appeals_at(&app, &agency, 2, tomorrow).await;
        agencies_seen.push((code, late, due_tomorrow, vec![first, second]));
    }
    let late: Vec<Uuid> = agencies_seen.iter().flat_map(|(_, ids, ..)| ids.clone()).collect();
    let reminded: Vec<Uuid> = agencies_seen.iter().flat_map(|(_, _, ids, _)| ids.clone()).collect();
    start_timelines(&app, &[late.clone(), reminded.clone()].concat()).await;
    // The late appeals' reminders fell due before their deadline passed, and ran late.
    schedule_reminders(&app, &late, due).await;
    schedule_deadlines(&app, &late, due).await;
    schedule_reminders(&app, &reminded, tomorrow).await;

    let report = Scheduler::new(app.app.clone()).run_due(now).await.unwrap();
    assert_eq!(
        (report.claimed, report.applied, report.moot, report.one_by_one),
        (30, 18, 12, 0),
        "every reminder of a deadline gone is moot: {report:?}"
    );

    let verified = events::verify_all(app.db.conn()).await.unwrap().expect("every chain verifies");
    assert_eq!(verified, Verified { appeals: 18, events: 36 });
    for (code, late, reminded, supervisors) in &agencies_seen {
        for id in late {
            assert_eq!(actions_of(&app, *id).await, ["file", "overdue"]);
            let overdue = events::of_appeal(app.db.conn(), *id, true).await.unwrap().pop().unwrap();
            let data: serde_json::Value = serde_json::from_str(&overdue.data).unwrap();
            assert_eq!(data["escalated_to"], json!(supervisors), "{code}");
        }
        for id in reminded {
            assert_eq!(actions_of(&app, *id).await, ["file", "remind"]);
        }
        for who in ["a", "b"] {
            let email = format!("{who}.{code}@example.org");
            assert_eq!(mail_to(&app, &email, MessageKind::OverdueAlert).await, 4, "{email}");
        }
    }
    assert_eq!(escalated(app.db.conn()).await, 12);
    // Run again: nothing is due, nothing is written twice.
    let again = Scheduler::new(app.app.clone()).run_due(now + Duration::hours(1)).await.unwrap();
    assert_eq!(again, RunReport::default());
}

/// A deadline job records on itself whether its escalation's alert was queued, on either
/// path a job can take (set-based with its batch, or one by one); one nobody could be told
/// about (no supervisor, no assignee, no agency address) is done `unalerted`, for operators
/// to find, and every other job records what it did.
#[tokio::test]
async fn an_escalation_records_whether_anyone_was_alerted_to_it() {
    let app = spawn_app().await;
    let now = start_instant();
    let due = now - Duration::days(1);
    let watched = fixtures::agency("alert-watched").insert(&app).await;
    supervisor(&app, &watched, "boss@watched.example.org").await;
    let mailbox = fixtures::agency("alert-mailbox").email("office@mailbox.example.org").insert(&app).await;
    let nobody = fixtures::agency("alert-nobody").insert(&app).await;
    let mut appeals = Vec::new();
    for agency in [&watched, &mailbox, &nobody] {
        let ids = insert_appeals_at(&app, agency, 2, due).await;
        // The second appeal also has a (moot) reply job due: all its jobs run one by one.
        schedule_moot_reply(&app, ids[1], due).await;
        appeals.push((agency.code.clone(), ids));
    }
    let all: Vec<Uuid> = appeals.iter().flat_map(|(_, ids)| ids.clone()).collect();
    start_timelines(&app, &all).await;
    schedule_deadlines(&app, &all, due).await;

    let unalerted = async || -> String {
        let metrics = app.get("/metrics", ANONYMOUS).await.text().await.unwrap();
        let line = metrics.lines().find(|l| l.starts_with("murojiat_escalations_unalerted "));
        line.unwrap_or_else(|| panic!("no gauge: {metrics}")).to_owned()
    };
    assert_eq!(unalerted().await, "murojiat_escalations_unalerted 0");

    let report = Scheduler::new(app.app.clone()).run_due(now).await.unwrap();
    assert_eq!((report.claimed, report.applied, report.one_by_one), (9, 6, 6), "{report:?}");
    for (code, ids) in &appeals {
        let expected = code != "alert-nobody";
        for id in ids {
            let escalated = scheduler::escalations_of(app.db.conn(), *id).await.unwrap();
            let alerted: Vec<_> = escalated.iter().map(|e| (e.escalated_at, e.alerted)).collect();
            assert_eq!(alerted, [(now, expected)], "{code}: {id}");
        }
    }
    for (_, ids) in &appeals {
        let reply = job(&app, &format!("citizen_reply:{}:test", ids[1])).await;
        assert_eq!(reply.outcome.as_deref(), Some(jobs::outcome::MOOT), "{reply:?}");
    }
    assert_eq!(mail_to(&app, "office@mailbox.example.org", MessageKind::OverdueAlert).await, 2);
    // Operators see the two nobody was told about, counted from their own small index.
    assert_eq!(unalerted().await, "murojiat_escalations_unalerted 2");
    let plan = plan_of_query(&app, &jobs::counting_unalerted(), &["jobs"]).await;
    assert!(plan.contains("idx_jobs_unalerted"), "the count does not read its index:\n{plan}");
}

/// A missed deadline escalates once per appeal, agency and due instant because only the
/// deadline job of the agency that has the appeal escalates: a stray one keyed to another
/// agency (which forwarding would have superseded) is moot, on either path. A job keyed
/// before keys named the agency still escalates.
#[tokio::test]
async fn only_the_deadline_job_of_the_agency_that_has_the_appeal_escalates() {
    let app = spawn_app().await;
    let now = start_instant();
    let due = now - Duration::days(1);
    let here = fixtures::agency("deadline-here").insert(&app).await;
    supervisor(&app, &here, "boss@here.example.org").await;
    let elsewhere = fixtures::agency("deadline-elsewhere").insert(&app).await;
    let ids = insert_appeals_at(&app, &here, 4, due).await;
    start_timelines(&app, &ids).await;
    // The first appeal has its own deadline job too; the third also a (moot) reply job
    // due, so its jobs run one by one.
    schedule_deadlines(&app, &ids[..1], due).await;
    let strays: Vec<String> = ids[..3].iter().map(|id| kind::deadline_key(*id, elsewhere.id, due)).collect();
    let before_agencies = format!("deadline:{}:{}", ids[3], due.timestamp_micros());
    for (id, key) in ids.iter().zip(strays.iter().chain([&before_agencies])) {
        let deadline = NewJob {
            kind: JobKind::Deadline.as_str().into(),
            appeal_id: Some(*id),
            run_at: overdue_at(due),
            dedupe_key: key.clone(),
            payload: json!({ "due_at": due }),
        };
        jobs::schedule(app.db.conn(), deadline, now).await.unwrap();
    }
    schedule_moot_reply(&app, ids[2], due).await;

    let report = Scheduler::new(app.app.clone()).run_due(now).await.unwrap();
    assert_eq!((report.claimed, report.applied, report.moot), (6, 2, 4), "{report:?}");
    assert_eq!(report.one_by_one, 2, "{report:?}");
    assert_eq!(actions_of(&app, ids[0]).await, ["file", "overdue"]);
    assert_eq!(actions_of(&app, ids[1]).await, ["file"]);
    assert_eq!(actions_of(&app, ids[2]).await, ["file"]);
    assert_eq!(actions_of(&app, ids[3]).await, ["file", "overdue"]);
    for key in &strays {
        let stray = job(&app, key).await;
        assert_eq!(
            (stray.status.as_str(), stray.outcome.as_deref()),
            (jobs::DONE, Some(jobs::outcome::MOOT))
        );
    }
    let escalated = scheduler::escalations_of(app.db.conn(), ids[0]).await.unwrap();
    assert_eq!(
        escalated.iter().map(|e| (e.agency_id, e.due_at, e.alerted)).collect::<Vec<_>>(),
        [(Some(here.id), due, true)]
    );
    let escalated = scheduler::escalations_of(app.db.conn(), ids[3]).await.unwrap();
    assert_eq!(escalated.iter().map(|e| (e.agency_id, e.due_at)).collect::<Vec<_>>(), [(None, due)]);
    assert_eq!(mail_to(&app, "boss@here.example.org", MessageKind::OverdueAlert).await, 2);
}

/// A citizen-reply job due at `due` for an appeal that awaits no reply (so it is moot, and
/// the appeal's jobs run one by one); its key is `citizen_reply:<appeal>:test`.
async fn schedule_moot_reply(app: &TestApp, appeal: Uuid, due: DateTime<Utc>) {
    let reply = NewJob {
        kind: JobKind::CitizenReply.as_str().into(),
        appeal_id: Some(appeal),
        run_at: due,
        dedupe_key: format!("citizen_reply:{appeal}:test"),
        payload: json!({ "reply_due_at": due }),
    };
    jobs::schedule(app.db.conn(), reply, start_instant()).await.unwrap();
}

/// Makes the database refuse outbox rows for addresses starting with `refused`, as a
/// stand-in for any effect that fails at write time.
async fn refuse_mail_to_refused(app: &TestApp) {
    let conn = app.db.conn();
    let statements: &[&str] = match app.db.backend() {
        Backend::Postgres => &[
            "CREATE FUNCTION refuse_mail() RETURNS trigger AS $$ BEGIN \
               IF NEW.recipient_email LIKE 'refused%' THEN RAISE EXCEPTION 'refused by test'; END IF; \
               RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_mail BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse_mail()",
        ],
        Backend::Sqlite => &["CREATE TRIGGER refuse_mail BEFORE INSERT ON outbox \
             WHEN NEW.recipient_email LIKE 'refused%' BEGIN SELECT RAISE(ABORT, 'refused by test'); END"],
    };
    for statement in statements {
        sea_orm::ConnectionTrait::execute_unprepared(conn, statement).await.unwrap();
    }
}

#[tokio::test]
async fn a_job_whose_effect_fails_is_retried_and_the_rest_of_its_batch_still_runs() {
    let app = spawn_app_with_attempts(3).await;
    let now = start_instant();
    let due = now - Duration::days(1);
    let good = fixtures::agency("batch-good").insert(&app).await;
    supervisor(&app, &good, "boss@good.example.org").await;
    let poisoned = fixtures::agency("batch-poisoned").insert(&app).await;
    supervisor(&app, &poisoned, "refused@poisoned.example.org").await;
    let fine = insert_appeals_at(&app, &good, 5, due).await;
    let bad = insert_appeals_at(&app, &poisoned, 1, due).await[0];
    refuse_mail_to_refused(&app).await;
    let mut all = fine.clone();
    all.insert(2, bad);
    start_timelines(&app, &all).await;
    schedule_deadlines(&app, &all, due).await;

    let report = Scheduler::new(app.app.clone()).run_due(now).await.unwrap();
    assert_eq!((report.claimed, report.applied, report.retried, report.failed), (6, 5, 1, 0), "{report:?}");
    // The batch runs in parts that each claim their share of the appeals (one part on
    // SQLite); only the part holding the failing job fell back to job by job, however many
    // of the six it took.
    match app.db.backend() {
        Backend::Sqlite => assert_eq!(report.one_by_one, 6, "{report:?}"),
        Backend::Postgres => assert!((1..=6).contains(&report.one_by_one), "{report:?}"),
    }
    for id in &fine {
        assert_eq!(actions_of(&app, *id).await, ["file", "overdue"]);
    }
    assert_eq!(mail_to(&app, "boss@good.example.org", MessageKind::OverdueAlert).await, 5);
    // The failed job's effect rolled back with it, and it waits for its retry.
    assert_eq!(actions_of(&app, bad).await, ["file"]);
    let waiting = job(&app, &kind::deadline_key(bad, poisoned.id, due)).await;
    assert_eq!(waiting.status, jobs::PENDING);
    assert_eq!(waiting.run_at, now + Duration::seconds(30));
    assert!(waiting.last_error.as_deref().unwrap_or_default().contains("refused by test"), "{waiting:?}");
    assert_eq!(scheduler::escalations_of(app.db.conn(), bad).await.unwrap(), []);
    assert_eq!(escalated(app.db.conn()).await, 5);
    let verified = events::verify_all(app.db.conn()).await.unwrap().expect("every chain verifies");
    assert_eq!(verified, Verified { appeals: 6, events: 11 });
}
