//! The jobs table: work due at a time, deduplicated by key, claimed by holding its appeal.
//!
//! Exactly-once effects rest on three things here: a unique `dedupe_key` (scheduling the
//! same work twice keeps one row), a claim that holds the jobs' appeals for the transaction
//! that runs them ([`claim`]: a scheduler that dies takes its claim with it, and the jobs
//! are due again at once), and [`complete`] as a compare-and-set on the job's status, run
//! in the same transaction as the job's effect.
//!
//! Claiming is the one backend difference: PostgreSQL locks the appeals with
//! `FOR UPDATE SKIP LOCKED`, so concurrent schedulers take disjoint appeals without
//! waiting; SQLite has one writer at a time, and the claim runs in its IMMEDIATE
//! transaction.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{
    Expr, ExprTrait, InsertStatement, LockBehavior, LockType, OnConflict, Order, SelectStatement,
    UpdateStatement,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Set, Statement,
};
use uuid::Uuid;

use super::appeals::Appeal;
use super::entity::{appeal, job};
use super::{Backend, StoreError};

pub use job::Model as Job;

/// Waiting to run.
pub const PENDING: &str = "pending";
/// Ran; its effect is committed.
pub const DONE: &str = "done";
/// Gave up after the configured number of attempts; visible to operators.
pub const FAILED: &str = "failed";
/// Replaced because what made it due changed (a moved deadline, an answered request).
pub const SUPERSEDED: &str = "superseded";

/// What a done job did (`jobs.outcome`).
pub mod outcome {
    /// Its effect happened.
    pub const APPLIED: &str = "applied";
    /// The appeal had moved on: nothing to do.
    pub const MOOT: &str = "moot";
    /// A missed deadline was escalated but nobody could be told: the agency had no active
    /// supervisor, the appeal no assignee, the agency no address. Counted for `/metrics`
    /// from its own partial index (migration 21).
    pub const UNALERTED: &str = "unalerted";
}

/// `jobs.status = '<status>'`, written into the SQL rather than bound: the condition of the
/// partial indexes of pending and failed jobs (migration 15), which a planner matches only
/// against the text of a query, not against a bound value. `status` is one of this
/// module's constants, never a client's text.
fn status_is(status: &'static str) -> Expr {
    Expr::cust(format!("\"jobs\".\"status\" = '{status}'"))
}

/// A job to schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub kind: String,
    pub appeal_id: Option<Uuid>,
    pub run_at: DateTime<Utc>,
    pub dedupe_key: String,
    pub payload: serde_json::Value,
}

/// Schedules `new` unless a job with its key exists. A superseded job with the same key is
/// revived (pending again, attempts reset); a pending, done or failed one is left as it is,
/// so scheduling is idempotent and never re-runs finished work. Returns whether a row was
/// written.
pub async fn schedule(
    db: &impl ConnectionTrait,
    new: NewJob,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(schedule_all(db, vec![new], now).await? > 0)
}

/// [`schedule`] for several jobs in one statement; returns how many rows were written.
pub async fn schedule_all(
    db: &impl ConnectionTrait,
    new: Vec<NewJob>,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let Some(statement) = scheduling(new, now) else { return Ok(0) };
    Ok(db.execute(&statement).await?.rows_affected())
}

/// The statement [`schedule_all`] runs (none for no jobs), to run later with other writes
/// (see [`super::deferred`]).
pub fn scheduling(new: Vec<NewJob>, now: DateTime<Utc>) -> Option<InsertStatement> {
    if new.is_empty() {
        return None;
    }
    let rows = new.into_iter().map(|new| job::ActiveModel {
        id: Set(Uuid::now_v7()),
        kind: Set(new.kind),
        appeal_id: Set(new.appeal_id),
        run_at: Set(new.run_at),
        dedupe_key: Set(new.dedupe_key),
        payload: Set(new.payload.to_string()),
        status: Set(PENDING.to_owned()),
        attempts: Set(0),
        ran_by: Set(None),
        last_error: Set(None),
        done_at: Set(None),
        outcome: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    });
    let mut on_conflict = OnConflict::column(job::Column::DedupeKey);
    on_conflict
        .update_columns([
            job::Column::RunAt,
            job::Column::Payload,
            job::Column::Status,
            job::Column::Attempts,
            job::Column::RanBy,
            job::Column::LastError,
            job::Column::DoneAt,
            job::Column::Outcome,
            job::Column::UpdatedAt,
        ])
        .action_and_where(Expr::col((job::Entity, job::Column::Status)).eq(Expr::value(SUPERSEDED)));
    Some(job::Entity::insert_many(rows).on_conflict(on_conflict).into_query())
}

/// A job that ran before it was written: a history written at once (the demo seed's missed
/// deadlines) records its jobs as done.
#[derive(Debug, Clone, PartialEq)]
pub struct RanJob {
    pub job: NewJob,
    pub ran_by: String,
    pub done_at: DateTime<Utc>,
    /// One of [`outcome`].
    pub outcome: &'static str,
}

/// The INSERT of jobs that already ran, done as [`RanJob`] says, written at `now`; `None`
/// when there are none. A key already taken keeps its row (nothing runs twice).
pub fn recording_ran(ran: Vec<RanJob>, now: DateTime<Utc>) -> Option<InsertStatement> {
    if ran.is_empty() {
        return None;
    }
    let rows = ran.into_iter().map(|ran| job::ActiveModel {
        id: Set(Uuid::now_v7()),
        kind: Set(ran.job.kind),
        appeal_id: Set(ran.job.appeal_id),
        run_at: Set(ran.job.run_at),
        dedupe_key: Set(ran.job.dedupe_key),
        payload: Set(ran.job.payload.to_string()),
        status: Set(DONE.to_owned()),
        attempts: Set(1),
        ran_by: Set(Some(ran.ran_by)),
        last_error: Set(None),
        done_at: Set(Some(ran.done_at)),
        outcome: Set(Some(ran.outcome.to_owned())),
        created_at: Set(now),
        updated_at: Set(now),
    });
    let on_conflict = OnConflict::column(job::Column::DedupeKey).do_nothing().to_owned();
    Some(job::Entity::insert_many(rows).on_conflict(on_conflict).into_query())
}

/// Supersedes the appeal's pending jobs of `kinds` whose keys are not in `keep`; returns how
/// many. A job superseded while a worker runs it cannot complete (see [`complete`]).
pub async fn supersede(
    db: &impl ConnectionTrait,
    appeal_id: Uuid,
    kinds: &[&str],
    keep: &[String],
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    Ok(db.execute(&superseding(appeal_id, kinds, keep, now)).await?.rows_affected())
}

/// The statement [`supersede`] runs, to run later with other writes (see
/// [`super::deferred`]).
pub fn superseding(appeal_id: Uuid, kinds: &[&str], keep: &[String], now: DateTime<Utc>) -> UpdateStatement {
    let mut query = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(SUPERSEDED))
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .filter(job::Column::AppealId.eq(appeal_id))
        // Bound, not written in: an appeal's few jobs are read from `idx_jobs_appeal`,
        // never by scanning every pending job of the partial due index.
        .filter(job::Column::Status.eq(PENDING))
        .filter(job::Column::Kind.is_in(kinds.iter().copied()));
    if !keep.is_empty() {
        query = query.filter(job::Column::DedupeKey.is_not_in(keep.iter().cloned()));
    }
    query.into_query()
}

/// What a [`claim`] took.
#[derive(Debug)]
pub struct Claimed {
    /// The appeals held, each once, in the order of its soonest due job.
    pub appeals: Vec<Appeal>,
    /// Whether the claim took as many due jobs as it was allowed: more may be due. Counted
    /// from the claim itself, not from the jobs read after it, which can be fewer when
    /// another scheduler completed some between the claim's snapshot and its locks.
    pub full: bool,
}

/// Claims due work for the caller's write transaction: the appeals of up to `limit` pending
/// jobs due at `now`, soonest job first. Run [`due_of`] next, in the same transaction, for
/// the jobs to run.
///
/// The appeal is the unit a scheduler holds: every change to an appeal's jobs is made by a
/// transaction that holds the appeal (actions, the scheduler), so once the appeal is held
/// its jobs hold still. On PostgreSQL the claim locks the appeals (`FOR UPDATE OF appeals
/// SKIP LOCKED`): concurrent schedulers (and the parts of one batch) take disjoint appeals
/// without waiting, an appeal an official is acting on is left for the next pass, and the
/// locks end with the transaction, whether it commits, fails or its process dies. Nothing is
/// written to claim; a job is written once, when it completes with its effect. On SQLite the
/// IMMEDIATE transaction holds the only write lock, and the claim is a plain read.
pub async fn claim(
    db: &impl ConnectionTrait,
    backend: Backend,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Claimed, StoreError> {
    let rows = appeal::Entity::find().from_raw_sql(claiming(backend, now, limit)).all(db).await?;
    let full = rows.len() as u64 >= limit;
    // One row per due job: an appeal with several comes once, where its first job was.
    let mut seen = HashSet::with_capacity(rows.len());
    let appeals = rows.into_iter().filter(|a| seen.insert(a.id)).collect();
    Ok(Claimed { appeals, full })
}

/// The statement [`claim`] runs: the pending jobs due at `now` read in due order from
/// `idx_jobs_pending`, each joined to its appeal by key; on PostgreSQL the appeals locked,
/// skipping those another transaction holds (the row lock sits below the limit, so a
/// skipped appeal does not count towards it).
pub fn claiming(backend: Backend, now: DateTime<Utc>, limit: u64) -> Statement {
    let mut query = appeal::Entity::find().into_query();
    query
        .inner_join(
            job::Entity,
            Expr::col((job::Entity, job::Column::AppealId)).equals((appeal::Entity, appeal::Column::Id)),
        )
        .and_where(status_is(PENDING))
        .and_where(Expr::col((job::Entity, job::Column::RunAt)).lte(now))
        .order_by((job::Entity, job::Column::RunAt), Order::Asc)
        .order_by((job::Entity, job::Column::Id), Order::Asc)
        .limit(limit)
        .lock_with_tables_behavior(LockType::Update, [appeal::Entity], LockBehavior::SkipLocked);
    DbBackend::from(backend).build(&query)
}

/// The pending jobs due at `now` of `appeals`, which the caller's transaction holds (see
/// [`claim`]), soonest first: read after the claim, so they are as the appeals' last holder
/// left them. Every due job of a held appeal is here, also those past the claim's limit, so
/// an appeal's due jobs run together and in order. Read through `idx_jobs_appeal` (the
/// status bound, not written in), a few rows per appeal, however many jobs are due.
pub async fn due_of(
    db: &impl ConnectionTrait,
    appeals: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<Job>, StoreError> {
    let mut due = Vec::with_capacity(appeals.len());
    for chunk in appeals.chunks(1_000) {
        due.extend(reading_due_of(chunk, now).all(db).await?);
    }
    due.sort_by_key(|job| (job.run_at, job.id));
    Ok(due)
}

/// The query [`due_of`] runs for up to a thousand appeals.
pub fn reading_due_of(appeals: &[Uuid], now: DateTime<Utc>) -> sea_orm::Select<job::Entity> {
    job::Entity::find()
        .filter(job::Column::AppealId.is_in(appeals.iter().copied()))
        .filter(job::Column::Status.eq(PENDING))
        .filter(job::Column::RunAt.lte(now))
}

/// The pending jobs of `kinds` due after `after`, soonest first: the windows a calendar edit
/// may move (read through `idx_jobs_pending`).
pub async fn pending_after(
    db: &impl ConnectionTrait,
    kinds: &[&str],
    after: DateTime<Utc>,
) -> Result<Vec<Job>, StoreError> {
    Ok(job::Entity::find()
        .filter(job::Column::Status.eq(PENDING))
        .filter(job::Column::RunAt.gt(super::comparable(after)))
        .filter(job::Column::Kind.is_in(kinds.iter().copied()))
        .order_by_asc(job::Column::RunAt)
        .order_by_asc(job::Column::Id)
        .all(db)
        .await?)
}

/// Moves a pending job to `run_at` with `payload`; false when it is no longer pending.
pub async fn reschedule(
    db: &impl ConnectionTrait,
    id: Uuid,
    run_at: DateTime<Utc>,
    payload: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let result = job::Entity::update_many()
        .col_expr(job::Column::RunAt, Expr::value(run_at))
        .col_expr(job::Column::Payload, Expr::value(payload.to_string()))
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .filter(job::Column::Id.eq(id))
        .filter(job::Column::Status.eq(PENDING))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Marks the job done, run by `owner` at `now` (one more attempt), if it is still pending
/// and due. Run it in the transaction that commits the job's effect and holds its appeal:
/// `false` means the job was superseded or done meanwhile (by an earlier job of the same
/// appeal), and the caller must not apply the effect. Its outcome is not known yet: record
/// it with [`record_outcome`] once the effect ran.
pub async fn complete(
    db: &impl ConnectionTrait,
    id: Uuid,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(complete_many(db, &[id], owner, None, now).await? == 1)
}

/// [`complete`] for many jobs in one statement per thousand, each with `outcome` (one of
/// [`outcome`]) when the effects were decided before; returns how many were completed.
/// Same transaction rule as [`complete`].
pub async fn complete_many(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
    owner: &str,
    outcome: Option<&'static str>,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let mut completed = 0;
    for chunk in ids.chunks(1_000) {
        let result = job::Entity::update_many()
            .col_expr(job::Column::Status, Expr::value(DONE))
            .col_expr(job::Column::DoneAt, Expr::value(now))
            .col_expr(job::Column::RanBy, Expr::value(owner))
            .col_expr(job::Column::Attempts, Expr::col(job::Column::Attempts).add(Expr::value(1)))
            .col_expr(job::Column::Outcome, Expr::value(outcome))
            .col_expr(job::Column::UpdatedAt, Expr::value(now))
            .filter(job::Column::Id.is_in(chunk.iter().copied()))
            .filter(job::Column::Status.eq(PENDING))
            .filter(job::Column::RunAt.lte(now))
            .exec(db)
            .await?;
        completed += result.rows_affected;
    }
    Ok(completed)
}

/// Records what the job, completed in this transaction by [`complete`], did: `outcome` is
/// one of [`outcome`].
pub async fn record_outcome(
    db: &impl ConnectionTrait,
    id: Uuid,
    outcome: &'static str,
) -> Result<(), StoreError> {
    job::Entity::update_many()
        .col_expr(job::Column::Outcome, Expr::value(outcome))
        .filter(job::Column::Id.eq(id))
        .filter(job::Column::Status.eq(DONE))
        .exec(db)
        .await?;
    Ok(())
}

/// The appeal's done jobs of `kind` whose outcome is one of `outcomes`, in the order they
/// ran.
pub async fn done_of_appeal(
    db: &impl ConnectionTrait,
    appeal_id: Uuid,
    kind: &str,
    outcomes: &[&str],
) -> Result<Vec<Job>, StoreError> {
    Ok(job::Entity::find()
        .filter(job::Column::AppealId.eq(appeal_id))
        .filter(job::Column::Kind.eq(kind))
        .filter(job::Column::Status.eq(DONE))
        .filter(job::Column::Outcome.is_in(outcomes.iter().copied()))
        .order_by_asc(job::Column::DoneAt)
        .order_by_asc(job::Column::Id)
        .all(db)
        .await?)
}

/// Records a failed attempt by `owner`: with `retry_at` the job waits until then and runs
/// again; without, it ends `failed`. Does nothing if the job is no longer pending.
pub async fn fail(
    db: &impl ConnectionTrait,
    id: Uuid,
    owner: &str,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let mut update = job::Entity::update_many()
        .col_expr(job::Column::LastError, Expr::value(error))
        .col_expr(job::Column::RanBy, Expr::value(owner))
        .col_expr(job::Column::Attempts, Expr::col(job::Column::Attempts).add(Expr::value(1)))
        .col_expr(job::Column::UpdatedAt, Expr::value(now));
    update = match retry_at {
        Some(at) => update.col_expr(job::Column::RunAt, Expr::value(at)),
        None => update.col_expr(job::Column::Status, Expr::value(FAILED)),
    };
    let result =
        update.filter(job::Column::Id.eq(id)).filter(job::Column::Status.eq(PENDING)).exec(db).await?;
    Ok(result.rows_affected == 1)
}

/// The jobs that gave up, oldest first, at most `limit`: a range of `idx_jobs_failed`.
pub async fn failed(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<Job>, StoreError> {
    Ok(job::Entity::find()
        .filter(Condition::all().add(status_is(FAILED)))
        .order_by_asc(job::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Of `ids`, the jobs that gave up: for telling an operator which ids named none.
pub async fn failed_among(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<Uuid>, StoreError> {
    let mut found = Vec::new();
    for chunk in ids.chunks(1_000) {
        let rows: Vec<Uuid> = job::Entity::find()
            .select_only()
            .column(job::Column::Id)
            .filter(Condition::all().add(status_is(FAILED)))
            .filter(job::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        found.extend(rows);
    }
    Ok(found)
}

/// Puts jobs that gave up back to work: pending, due at `now`, their attempts counted from
/// zero again (the last error stays until they run). `ids` names them; `None` means every
/// failed job. Only failed jobs change; returns how many did. Safe at any time: a failed job
/// committed no effect, and the scheduler runs it as any other due job.
pub async fn retry_failed(
    db: &impl ConnectionTrait,
    ids: Option<&[Uuid]>,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let update = || {
        job::Entity::update_many()
            .col_expr(job::Column::Status, Expr::value(PENDING))
            .col_expr(job::Column::Attempts, Expr::value(0))
            .col_expr(job::Column::RunAt, Expr::value(now))
            .col_expr(job::Column::UpdatedAt, Expr::value(now))
            .filter(Condition::all().add(status_is(FAILED)))
    };
    let Some(ids) = ids else { return Ok(update().exec(db).await?.rows_affected) };
    let mut retried = 0;
    for chunk in ids.chunks(1_000) {
        retried +=
            update().filter(job::Column::Id.is_in(chunk.iter().copied())).exec(db).await?.rows_affected;
    }
    Ok(retried)
}

/// An appeal's jobs, in due order.
pub async fn of_appeal(db: &impl ConnectionTrait, appeal_id: Uuid) -> Result<Vec<Job>, StoreError> {
    Ok(job::Entity::find()
        .filter(job::Column::AppealId.eq(appeal_id))
        .order_by_asc(job::Column::RunAt)
        .order_by_asc(job::Column::Id)
        .all(db)
        .await?)
}

/// How many jobs have `status`, read from the whole table (the status is bound, so no
/// partial index applies): for tests and benchmarks. The scheduler's own counts are
/// [`count_due`] and [`count_failed`].
pub async fn count_with_status(db: &impl ConnectionTrait, status: &str) -> Result<u64, StoreError> {
    Ok(job::Entity::find().filter(job::Column::Status.eq(status)).count(db).await?)
}

/// How many jobs gave up: `idx_jobs_failed`, as long as the failures.
pub async fn count_failed(db: &impl ConnectionTrait) -> Result<u64, StoreError> {
    super::count_of(db, &counting_failed()).await
}

/// The statement [`count_failed`] runs.
pub fn counting_failed() -> SelectStatement {
    super::counting(job::Entity, Condition::all().add(status_is(FAILED)))
}

/// How many missed deadlines nobody was alerted to ([`outcome::UNALERTED`]):
/// `idx_jobs_unalerted`, as long as what it counts.
pub async fn count_unalerted(db: &impl ConnectionTrait) -> Result<u64, StoreError> {
    super::count_of(db, &counting_unalerted()).await
}

/// The statement [`count_unalerted`] runs. The outcome is written into the SQL, as the
/// partial index's condition is (see [`status_is`]).
pub fn counting_unalerted() -> SelectStatement {
    let unalerted = Expr::cust(format!("\"jobs\".\"outcome\" = '{}'", outcome::UNALERTED));
    super::counting(job::Entity, Condition::all().add(unalerted))
}

/// How many pending jobs are due at `now` (run or not yet run): a range of
/// `idx_jobs_pending`, as long as what is due, whatever number is pending later or done.
pub async fn count_due(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, StoreError> {
    super::count_of(db, &counting_due(now)).await
}

/// The statement [`count_due`] runs.
pub fn counting_due(now: DateTime<Utc>) -> SelectStatement {
    super::counting(job::Entity, Condition::all().add(status_is(PENDING)).add(job::Column::RunAt.lte(now)))
}

/// The job with this key.
pub async fn by_key(db: &impl ConnectionTrait, key: &str) -> Result<Option<Job>, StoreError> {
    Ok(job::Entity::find().filter(job::Column::DedupeKey.eq(key)).one(db).await?)
}
