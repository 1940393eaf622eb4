//! The jobs table: work due at a time, deduplicated by key, claimed under a lease.
//!
//! Exactly-once effects rest on three things here: a unique `dedupe_key` (scheduling the
//! same work twice keeps one row), a lease taken when claiming (a worker that dies leaves a
//! lease that expires, and the job becomes claimable again), and [`complete`] as a
//! compare-and-set on the lease, run in the same transaction as the job's effect (a worker
//! whose lease was taken over cannot commit its effect).
//!
//! Claiming is the one backend difference: PostgreSQL locks candidate rows with
//! `FOR UPDATE SKIP LOCKED`, so concurrent workers take disjoint batches; SQLite has one
//! writer at a time, and the claim runs in an IMMEDIATE transaction.

use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, InsertStatement, OnConflict, SelectStatement, UpdateStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Set, Statement,
};
use uuid::Uuid;

use super::entity::job;
use super::{Backend, Db, StoreError};

pub use job::Model as Job;

/// Waiting to run (possibly under a lease).
pub const PENDING: &str = "pending";
/// Ran; its effect is committed.
pub const DONE: &str = "done";
/// Gave up after the configured number of attempts; visible to operators.
pub const FAILED: &str = "failed";
/// Replaced because what made it due changed (a moved deadline, an answered request).
pub const SUPERSEDED: &str = "superseded";

/// `status = '<status>'`, written into the SQL rather than bound: the condition of the
/// partial indexes of pending and failed jobs (migration 15), which a planner matches only
/// against the text of a query, not against a bound value. `status` is one of this
/// module's constants, never a client's text.
fn status_is(status: &'static str) -> Expr {
    Expr::cust(status_sql(status))
}

fn status_sql(status: &'static str) -> String {
    format!("\"status\" = '{status}'")
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
        lease_owner: Set(None),
        lease_expires_at: Set(None),
        last_error: Set(None),
        done_at: Set(None),
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
            job::Column::LeaseOwner,
            job::Column::LeaseExpiresAt,
            job::Column::LastError,
            job::Column::DoneAt,
            job::Column::UpdatedAt,
        ])
        .action_and_where(Expr::col((job::Entity, job::Column::Status)).eq(Expr::value(SUPERSEDED)));
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

/// Claims up to `limit` pending jobs due at `now` whose lease is free or expired, soonest
/// first, for `owner` until `now + lease`. Each claim counts as an attempt.
pub async fn claim(
    db: &Db,
    owner: &str,
    now: DateTime<Utc>,
    lease: TimeDelta,
    limit: u64,
) -> Result<Vec<Job>, StoreError> {
    match db.backend() {
        Backend::Postgres => claim_skip_locked(db, owner, now, lease, limit).await,
        Backend::Sqlite => claim_single_writer(db, owner, now, lease, limit).await,
    }
}

/// PostgreSQL: concurrent claimers skip rows another claimer has locked, so each takes a
/// disjoint batch without waiting. One statement, committed on its own without waiting for
/// its flush ([`Db::write_unflushed`]: a claim a crash undoes leaves the jobs due, and the
/// commit that completes them flushes the claim with it): the due rows are locked and
/// leased at once, and the lease (owner, expiry, attempts) changes no indexed column, so
/// with the room migration 12 leaves on the table's pages it is written as a HOT update,
/// without new index entries.
async fn claim_skip_locked(
    db: &Db,
    owner: &str,
    now: DateTime<Utc>,
    lease: TimeDelta,
    limit: u64,
) -> Result<Vec<Job>, StoreError> {
    let txn = db.write_unflushed().await?;
    let mut claimed = job::Entity::find()
        .from_raw_sql(claiming(Backend::Postgres, owner, now, lease, limit))
        .all(&txn)
        .await?;
    txn.commit().await?;
    // RETURNING gives no order; the batch runs in due order.
    claimed.sort_by_key(|job| (job.run_at, job.id));
    Ok(claimed)
}

/// The statement that finds the jobs a claim takes: up to `limit` pending jobs due at
/// `now` whose lease is free or expired, soonest first, read in that order from
/// `idx_jobs_pending`. On PostgreSQL it also locks them (`FOR UPDATE SKIP LOCKED`) and
/// leases them to `owner` until `now + lease`, returning the leased rows; on SQLite it
/// returns the rows, to be leased by the same write transaction.
pub fn claiming(
    backend: Backend,
    owner: &str,
    now: DateTime<Utc>,
    lease: TimeDelta,
    limit: u64,
) -> Statement {
    match backend {
        Backend::Postgres => {
            let sql = format!(
                "WITH due AS ( \
                   SELECT id FROM jobs \
                   WHERE {pending} AND run_at <= $1 AND (lease_expires_at IS NULL OR lease_expires_at <= $1) \
                   ORDER BY run_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) \
                 UPDATE jobs SET lease_owner = $3, lease_expires_at = $4, attempts = jobs.attempts + 1, \
                   updated_at = $1 \
                 FROM due WHERE jobs.id = due.id \
                 RETURNING jobs.*",
                pending = status_sql(PENDING),
            );
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let values: [sea_orm::Value; 4] = [now.into(), limit.into(), owner.into(), (now + lease).into()];
            Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
        }
        Backend::Sqlite => due_query(now, limit).build(DbBackend::Sqlite),
    }
}

/// SQLite: the IMMEDIATE transaction holds the database's write lock from its first
/// statement, so no other claimer can read the same candidates before this one leases them.
async fn claim_single_writer(
    db: &Db,
    owner: &str,
    now: DateTime<Utc>,
    lease: TimeDelta,
    limit: u64,
) -> Result<Vec<Job>, StoreError> {
    let txn = db.write().await?;
    let due = job::Entity::find()
        .from_raw_sql(claiming(Backend::Sqlite, owner, now, lease, limit))
        .all(&txn)
        .await?;
    let claimed = take_lease(&txn, due, owner, now, lease).await?;
    txn.commit().await?;
    Ok(claimed)
}

fn due_query(now: DateTime<Utc>, limit: u64) -> sea_orm::Select<job::Entity> {
    job::Entity::find()
        .filter(status_is(PENDING))
        .filter(job::Column::RunAt.lte(now))
        .filter(
            Condition::any()
                .add(job::Column::LeaseExpiresAt.is_null())
                .add(job::Column::LeaseExpiresAt.lte(now)),
        )
        .order_by_asc(job::Column::RunAt)
        .order_by_asc(job::Column::Id)
        .limit(limit)
}

async fn take_lease(
    txn: &impl ConnectionTrait,
    due: Vec<Job>,
    owner: &str,
    now: DateTime<Utc>,
    lease: TimeDelta,
) -> Result<Vec<Job>, StoreError> {
    if due.is_empty() {
        return Ok(due);
    }
    let until = now + lease;
    job::Entity::update_many()
        .col_expr(job::Column::LeaseOwner, Expr::value(owner))
        .col_expr(job::Column::LeaseExpiresAt, Expr::value(until))
        .col_expr(job::Column::Attempts, Expr::col(job::Column::Attempts).add(Expr::value(1)))
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .filter(job::Column::Id.is_in(due.iter().map(|j| j.id)))
        .exec(txn)
        .await?;
    Ok(due
        .into_iter()
        .map(|mut j| {
            j.lease_owner = Some(owner.to_owned());
            j.lease_expires_at = Some(until);
            j.attempts += 1;
            j
        })
        .collect())
}

/// Marks the job done if `owner` still holds it and it is still pending. Run it in the
/// transaction that commits the job's effect: `false` means another worker took the job
/// over (or it was superseded), and the caller must not apply the effect. On PostgreSQL the
/// updated row stays locked until that transaction ends, so a worker that took the lease
/// over meanwhile waits and then finds the job done.
pub async fn complete(
    db: &impl ConnectionTrait,
    id: Uuid,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let result = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(DONE))
        .col_expr(job::Column::DoneAt, Expr::value(now))
        .col_expr(job::Column::LeaseExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .filter(job::Column::Id.eq(id))
        .filter(job::Column::Status.eq(PENDING))
        .filter(job::Column::LeaseOwner.eq(owner))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// [`complete`] for many jobs in one statement; returns the ids of those completed, the
/// others having been taken over or superseded. Same transaction rule as [`complete`].
pub async fn complete_many(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
    owner: &str,
    now: DateTime<Utc>,
) -> Result<HashSet<Uuid>, StoreError> {
    let mut completed = 0;
    for chunk in ids.chunks(1_000) {
        let result = job::Entity::update_many()
            .col_expr(job::Column::Status, Expr::value(DONE))
            .col_expr(job::Column::DoneAt, Expr::value(now))
            .col_expr(job::Column::LeaseExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(job::Column::UpdatedAt, Expr::value(now))
            .filter(job::Column::Id.is_in(chunk.iter().copied()))
            .filter(job::Column::Status.eq(PENDING))
            .filter(job::Column::LeaseOwner.eq(owner))
            .exec(db)
            .await?;
        completed += result.rows_affected;
    }
    if completed == ids.len() as u64 {
        return Ok(ids.iter().copied().collect());
    }
    // Some were lost (rare). The ones now done under this owner's name are the ones this
    // statement completed: they were pending under its lease when claimed, and only the
    // lease holder completes a job.
    let mut done = HashSet::new();
    for chunk in ids.chunks(1_000) {
        let rows: Vec<Uuid> = job::Entity::find()
            .select_only()
            .column(job::Column::Id)
            .filter(job::Column::Id.is_in(chunk.iter().copied()))
            .filter(job::Column::Status.eq(DONE))
            .filter(job::Column::LeaseOwner.eq(owner))
            .into_tuple()
            .all(db)
            .await?;
        done.extend(rows);
    }
    Ok(done)
}

/// Records a failed attempt by `owner`: with `retry_at` the job waits until then and runs
/// again; without, it ends `failed`. Does nothing if `owner` no longer holds the job.
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
        .col_expr(job::Column::LeaseExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(job::Column::UpdatedAt, Expr::value(now));
    update = match retry_at {
        Some(at) => update.col_expr(job::Column::RunAt, Expr::value(at)),
        None => update.col_expr(job::Column::Status, Expr::value(FAILED)),
    };
    let result = update
        .filter(job::Column::Id.eq(id))
        .filter(job::Column::Status.eq(PENDING))
        .filter(job::Column::LeaseOwner.eq(owner))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
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
