//! The deadline scheduler: runs the jobs that fall due (reminders, overdue escalation, the
//! forwarding window, abandoned requests for information, closing contest windows).
//!
//! [`Scheduler::run_due`] claims every job due at a given instant, soonest first, and runs
//! each in its own transaction together with the job's completion. The background loop of
//! `murojiat serve` and `murojiat worker` calls it with the clock's time; tests call it
//! directly after moving their clock. Any number of schedulers may run against PostgreSQL.

mod batch;
mod effects;
pub mod kind;
mod plan;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{DatabaseTransaction, TransactionTrait};
use tokio::sync::watch;

pub use effects::Outcome;
pub use kind::JobKind;
pub use plan::plan;

use crate::app::App;
use crate::config::SchedulerSettings;
use crate::store::StoreError;
use crate::store::appeals::{self, Appeal};
use crate::store::jobs::{self, Job};
use crate::store::{escalations, idempotency};

/// Why a job could not run. The job is retried with backoff, then ends `failed`.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The job's row does not make sense (unknown kind, unreadable payload).
    #[error("bad job: {0}")]
    Payload(String),
    /// A notice the job writes could not be prepared.
    #[error("notice: {0}")]
    Notice(String),
    /// A set-based run found the database other than it had read it; its batch runs job by
    /// job instead.
    #[error("batch: {0}")]
    Batch(String),
}

impl From<crate::services::ServiceError> for SchedulerError {
    fn from(err: crate::services::ServiceError) -> Self {
        match err {
            crate::services::ServiceError::Store(store) => SchedulerError::Store(store),
            other => SchedulerError::Notice(other.to_string()),
        }
    }
}

impl From<sea_orm::DbErr> for SchedulerError {
    fn from(err: sea_orm::DbErr) -> Self {
        SchedulerError::Store(err.into())
    }
}

/// What one call of [`Scheduler::run_due`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Jobs claimed.
    pub claimed: u64,
    /// Jobs whose effect happened.
    pub applied: u64,
    /// Jobs completed without effect: the appeal had moved on.
    pub moot: u64,
    /// Jobs that failed and will be retried.
    pub retried: u64,
    /// Jobs that failed for the last time.
    pub failed: u64,
    /// Jobs this scheduler could not complete because its lease had been taken over (or the
    /// job superseded) meanwhile; their effect was rolled back.
    pub lost: u64,
    /// Jobs run one by one rather than set-based with their batch: the kinds that change
    /// the appeal, jobs that could not be read, the other jobs of their appeals, and every
    /// job of a batch whose set-based run failed.
    pub one_by_one: u64,
}

impl RunReport {
    fn add(&mut self, other: RunReport) {
        self.claimed += other.claimed;
        self.applied += other.applied;
        self.moot += other.moot;
        self.retried += other.retried;
        self.failed += other.failed;
        self.lost += other.lost;
        self.one_by_one += other.one_by_one;
    }
}

/// What `/metrics` tells of the scheduler, read from the database, so any instance shows it
/// whichever processes run the scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobCounts {
    /// Jobs due now and not done: near zero while the schedulers keep up; growing, it means
    /// none is running or they fall behind.
    pub due: u64,
    /// Jobs that gave up after their last attempt (docs/operations.md says how to find
    /// why and run one again).
    pub failed: u64,
    /// Missed deadlines nobody was alerted to (no supervisor, assignee or agency address);
    /// it only grows, each step an agency to give a supervisor or an address.
    pub unalerted_escalations: u64,
}

/// The scheduler's counts at `now`: three index ranges, each as long as what it counts.
pub async fn counts(app: &App, now: DateTime<Utc>) -> Result<JobCounts, SchedulerError> {
    let db = app.db.conn();
    Ok(JobCounts {
        due: jobs::count_due(db, now).await?,
        failed: jobs::count_failed(db).await?,
        unalerted_escalations: escalations::count_unalerted(db).await?,
    })
}

/// One scheduler: a name for its leases and the application it works for.
#[derive(Clone)]
pub struct Scheduler {
    app: App,
    owner: String,
}

impl Scheduler {
    /// A scheduler with a lease owner name unique to it (host, process and a random part).
    pub fn new(app: App) -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".to_owned());
        let owner = format!("{host}:{}:{}", std::process::id(), uuid::Uuid::now_v7().simple());
        Self { app, owner }
    }

    /// The name this scheduler's leases carry.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    fn settings(&self) -> &SchedulerSettings {
        &self.app.settings.scheduler
    }

    /// Runs every job due at `now`, in due order, batch after batch until none is left.
    /// Jobs leased by a live scheduler are left to it; jobs whose lease expired are run.
    pub async fn run_due(&self, now: DateTime<Utc>) -> Result<RunReport, SchedulerError> {
        let mut report = RunReport::default();
        loop {
            let batch = self.run_batch(now).await?;
            report.add(batch);
            if batch.claimed < self.settings().batch_size {
                return Ok(report);
            }
        }
    }

    /// Claims one batch of due jobs and runs them.
    ///
    /// On PostgreSQL the batch is split by appeal into `scheduler.batch_transactions` parts
    /// that run at once, each in its own transaction on its own connection (see
    /// [`split_by_appeal`]); the parts share no appeal, so they never wait on each other,
    /// and each keeps its appeals' jobs in due order.
    pub async fn run_batch(&self, now: DateTime<Utc>) -> Result<RunReport, SchedulerError> {
        let settings = self.settings();
        let lease = TimeDelta::seconds(i64::try_from(settings.lease_secs).unwrap_or(i64::MAX));
        let started = Instant::now();
        let claimed = jobs::claim(&self.app.db, &self.owner, now, lease, settings.batch_size).await?;
        let claim_ms = ms(started.elapsed());
        let mut report = RunReport { claimed: claimed.len() as u64, ..Default::default() };
        let parts = split_by_appeal(claimed, self.app.db.concurrent_writers(settings.batch_transactions));
        tracing::debug!(claimed = report.claimed, parts = parts.len(), claim_ms, "scheduler batch claimed");
        match <[Vec<Job>; 1]>::try_from(parts) {
            Ok([part]) => report.add(self.run_claimed(&part, now).await?),
            Err(parts) => {
                let mut running = tokio::task::JoinSet::new();
                for part in parts {
                    let this = self.clone();
                    running.spawn(async move { this.run_claimed(&part, now).await });
                }
                // Every part ends (commits or rolls back) before the batch reports; the first
                // error is the batch's, and the failed part's jobs run again when their
                // leases expire.
                let mut failure = None;
                while let Some(ran) = running.join_next().await {
                    match ran.map_err(|err| SchedulerError::Batch(format!("a batch part stopped: {err}"))) {
                        Ok(Ok(part)) => report.add(part),
                        Ok(Err(err)) | Err(err) => failure = failure.or(Some(err)),
                    }
                }
                if let Some(err) = failure {
                    return Err(err);
                }
            }
        }
        Ok(report)
    }

    /// Runs claimed jobs in one transaction: one commit (one WAL flush) for all of them.
    /// Their appeals are locked first, all at once in id order. The common kinds then run
    /// set-based in a savepoint (see `batch`); the jobs left over, and every job of a set
    /// whose set-based run failed, run one by one with a savepoint each, so a job whose
    /// effect fails ends retried or failed without taking the others with it. The report's
    /// `claimed` is left to the caller.
    async fn run_claimed(&self, claimed: &[Job], now: DateTime<Utc>) -> Result<RunReport, SchedulerError> {
        let mut report = RunReport::default();
        if claimed.is_empty() {
            return Ok(report);
        }
        let started = Instant::now();
        let batch = self.app.db.write().await?;
        // The appeal first, then the job: the order in which actions take them (they update
        // the appeal, then supersede its jobs), so the two never wait on each other in a
        // cycle on PostgreSQL; and all of the batch's appeals in id order, so two
        // schedulers whose batches share appeals do not either.
        let ids: Vec<uuid::Uuid> = claimed.iter().filter_map(|j| j.appeal_id).collect();
        let appeals = appeals::lock_many(&batch, self.app.db.backend(), &ids).await?;
        let lock_time = started.elapsed();

        let started = Instant::now();
        let (rest, phases) = match self.run_set_based(&batch, claimed, &appeals, now).await {
            Ok(ran) => {
                report.add(ran.report);
                (ran.rest, ran.phases)
            }
            Err(err) => {
                tracing::warn!(error = %err, jobs = claimed.len(), "batch failed; running its jobs one by one");
                (claimed.iter().collect(), batch::Phases::default())
            }
        };
        let set_time = started.elapsed();
        let started = Instant::now();
        let one_by_one = rest.len();
        report.one_by_one += one_by_one as u64;
        for job in rest {
            self.run_one(&batch, job, now, &mut report).await?;
        }
        let rest_time = started.elapsed();
        let started = Instant::now();
        batch.commit().await?;
        tracing::debug!(
            jobs = claimed.len(),
            one_by_one,
            lock_ms = ms(lock_time),
            set_based_ms = ms(set_time),
            complete_ms = ms(phases.complete),
            read_ms = ms(phases.read),
            write_ms = ms(phases.write),
            one_by_one_ms = ms(rest_time),
            commit_ms = ms(started.elapsed()),
            "scheduler batch phases"
        );
        Ok(report)
    }

    /// The set-based run of a batch, in a savepoint that is rolled back when it fails.
    async fn run_set_based<'a>(
        &self,
        batch: &DatabaseTransaction,
        claimed: &'a [Job],
        appeals: &'a HashMap<uuid::Uuid, Appeal>,
        now: DateTime<Utc>,
    ) -> Result<batch::Ran<'a>, SchedulerError> {
        let txn = batch.begin().await?;
        match batch::run(&self.app, &txn, &self.owner, claimed, appeals, now).await {
            Ok(ran) => {
                txn.commit().await?;
                Ok(ran)
            }
            Err(err) => {
                txn.rollback().await?;
                Err(err)
            }
        }
    }

    /// Runs one claimed job: its completion and its effect commit together, or neither.
    /// A job whose lease another worker took over (or that was superseded) is not run.
    /// The completion comes first, so the effect's own re-planning (which supersedes
    /// pending jobs) leaves the running job alone.
    async fn run_one(
        &self,
        batch: &DatabaseTransaction,
        job: &Job,
        now: DateTime<Utc>,
        report: &mut RunReport,
    ) -> Result<(), SchedulerError> {
        let txn = batch.begin().await?;
        // Already held since `run_batch` locked the batch's appeals; read again as it is now.
        let appeal = match job.appeal_id {
            Some(id) => appeals::lock(&txn, self.app.db.backend(), id).await?,
            None => None,
        };
        if !jobs::complete(&txn, job.id, &self.owner, now).await? {
            txn.rollback().await?;
            report.lost += 1;
            return Ok(());
        }
        match effects::run(&self.app, &txn, job, appeal, now).await {
            Ok(outcome) => {
                txn.commit().await?;
                match outcome {
                    Outcome::Applied => report.applied += 1,
                    Outcome::Moot => report.moot += 1,
                }
            }
            Err(err) => {
                txn.rollback().await?;
                let retry_at = self.retry_at(job.attempts, now);
                tracing::warn!(job = %job.id, kind = %job.kind, attempts = job.attempts, error = %err, "job failed");
                jobs::fail(batch, job.id, &self.owner, &err.to_string(), retry_at, now).await?;
                if retry_at.is_some() {
                    report.retried += 1;
                } else {
                    report.failed += 1;
                }
            }
        }
        Ok(())
    }

    /// Deletes what is kept only for a while: Idempotency-Keys (with the first answers and
    /// guests' access codes they hold) recorded more than `appeals.idempotency_retention_hours`
    /// before `now`; returns how many. An indexed range, cheap when nothing is due, so the
    /// background loop runs it after every pass that found no job. Safe in any number of
    /// processes at once.
    pub async fn housekeep(&self, now: DateTime<Utc>) -> Result<u64, SchedulerError> {
        let hours = i64::try_from(self.app.settings.appeals.idempotency_retention_hours).unwrap_or(i64::MAX);
        let Some(cutoff) = TimeDelta::try_hours(hours).and_then(|kept| now.checked_sub_signed(kept)) else {
            return Ok(0);
        };
        Ok(idempotency::delete_recorded_before(self.app.db.conn(), cutoff).await?)
    }

    /// When a job that failed its `attempts`-th attempt runs again: the base delay doubled
    /// for each earlier attempt, capped; `None` once the attempts are used up.
    pub fn retry_at(&self, attempts: i32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let settings = self.settings();
        let attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
        if attempts >= settings.max_attempts {
            return None;
        }
        let factor = 1u64.checked_shl(attempts.saturating_sub(1)).unwrap_or(u64::MAX);
        let secs = settings.retry_base_secs.saturating_mul(factor).min(settings.retry_max_secs);
        Some(now + TimeDelta::seconds(i64::try_from(secs).unwrap_or(i64::MAX)))
    }

    /// Runs passes until `stop` turns true: after a pass that found work, the next starts at
    /// once (catching up after downtime); otherwise it waits the poll interval. A pass in
    /// progress finishes its current job before the loop stops.
    pub async fn run_until(self, mut stop: watch::Receiver<bool>) {
        let idle = Duration::from_millis(self.settings().poll_interval_ms);
        tracing::info!(owner = %self.owner, "scheduler started");
        loop {
            if *stop.borrow() {
                break;
            }
            let now = self.app.clock.now();
            let wait = match self.run_batch(now).await {
                Ok(report) if report.claimed > 0 => {
                    tracing::debug!(?report, "scheduler pass");
                    Duration::ZERO
                }
                Ok(_) => {
                    match self.housekeep(now).await {
                        Ok(0) => {}
                        Ok(deleted) => tracing::info!(deleted, "expired idempotency keys deleted"),
                        Err(err) => tracing::error!(error = %err, "housekeeping failed"),
                    }
                    idle
                }
                Err(err) => {
                    tracing::error!(error = %err, "scheduler pass failed");
                    idle
                }
            };
            self.app.scheduler_passes.send_modify(|passes| *passes += 1);
            if wait > Duration::ZERO && super::paused_until_stopped(wait, &mut stop).await {
                break;
            }
        }
        tracing::info!(owner = %self.owner, "scheduler stopped");
    }
}

/// Splits claimed jobs (in due order) into at most `parts` non-empty parts, each appeal's
/// jobs in one part and in due order: the part is chosen by the appeal's id, so the parts
/// share no appeal. Jobs of no appeal go to the first part.
fn split_by_appeal(claimed: Vec<Job>, parts: usize) -> Vec<Vec<Job>> {
    let parts = parts.max(1);
    if parts == 1 {
        return vec![claimed];
    }
    let mut split: Vec<Vec<Job>> = (0..parts).map(|_| Vec::new()).collect();
    for job in claimed {
        let at = job.appeal_id.map_or(0, |id| (id.as_u128() % parts as u128) as usize);
        split[at].push(job);
    }
    split.retain(|part| !part.is_empty());
    split
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use uuid::Uuid;

    use super::*;

    fn job(n: u128, appeal: Option<u128>) -> Job {
        let at = Utc.with_ymd_and_hms(2026, 3, 17, 10, 0, 0).single().expect("an instant");
        Job {
            id: Uuid::from_u128(n),
            kind: "deadline".to_owned(),
            appeal_id: appeal.map(Uuid::from_u128),
            run_at: at + TimeDelta::seconds(n as i64),
            dedupe_key: format!("job-{n}"),
            payload: "{}".to_owned(),
            status: jobs::PENDING.to_owned(),
            attempts: 1,
            lease_owner: Some("me".to_owned()),
            lease_expires_at: None,
            last_error: None,
            done_at: None,
            created_at: at,
            updated_at: at,
        }
    }

    fn ids(part: &[Job]) -> Vec<u128> {
        part.iter().map(|j| j.id.as_u128()).collect()
    }

    #[test]
    fn a_batch_splits_by_appeal_and_keeps_each_parts_due_order() {
        // Appeals 10, 11, 12, 13; appeal 10 has three jobs, one job has no appeal.
        let claimed = vec![
            job(1, Some(10)),
            job(2, Some(11)),
            job(3, Some(10)),
            job(4, None),
            job(5, Some(13)),
            job(6, Some(12)),
            job(7, Some(10)),
        ];
        let parts = split_by_appeal(claimed, 2);
        assert_eq!(parts.iter().map(|p| ids(p)).collect::<Vec<_>>(), vec![vec![1, 3, 4, 6, 7], vec![2, 5]]);
        for part in &parts {
            assert!(part.windows(2).all(|w| w[0].run_at <= w[1].run_at), "due order within a part");
        }
    }

    #[test]
    fn a_batch_is_one_part_when_one_is_asked_for_or_all_jobs_share_an_appeal() {
        let one = split_by_appeal(vec![job(1, Some(10)), job(2, Some(11))], 1);
        assert_eq!(one.iter().map(|p| ids(p)).collect::<Vec<_>>(), vec![vec![1, 2]]);
        let shared = split_by_appeal(vec![job(1, Some(11)), job(2, Some(11)), job(3, Some(11))], 4);
        assert_eq!(shared.iter().map(|p| ids(p)).collect::<Vec<_>>(), vec![vec![1, 2, 3]]);
        assert!(split_by_appeal(Vec::new(), 3).is_empty());
        assert_eq!(split_by_appeal(vec![job(1, Some(10))], 0).len(), 1, "zero parts is read as one");
    }
}
