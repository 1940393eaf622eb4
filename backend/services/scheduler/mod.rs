//! The deadline scheduler: runs the jobs that fall due (reminders, overdue escalation, the
//! forwarding window, abandoned requests for information, closing contest windows).
//!
//! [`Scheduler::run_due`] runs every job due at a given instant, soonest first: a batch
//! claims the jobs' appeals and runs their jobs in the same transaction, so each job's
//! completion commits with its effect, or neither does. The background loop of
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

pub use effects::{Outcome, reminder_of};
pub use kind::JobKind;
pub use plan::{pending_as_stored, plan, plan_on};

use crate::app::App;
use crate::config::SchedulerSettings;
use crate::store::StoreError;
use crate::store::appeals::{self, Appeal};
use crate::store::idempotency;
use crate::store::jobs::{self, Job};

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
    /// Due jobs of the appeals claimed (each appeal's every due job).
    pub claimed: u64,
    /// Jobs whose effect happened.
    pub applied: u64,
    /// Jobs completed without effect: the appeal had moved on.
    pub moot: u64,
    /// Jobs that failed and will be retried.
    pub retried: u64,
    /// Jobs that failed for the last time.
    pub failed: u64,
    /// Jobs found superseded or done when their turn came (an earlier job of the same
    /// appeal, run in the same batch, had replaced them); their effect was not applied.
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
    /// Calendar edits whose recheck gave up (docs/deadlines.md, "The recheck"): deadlines
    /// other processes set on the old calendar may still be on it.
    pub failed_calendar_rechecks: u64,
}

/// The scheduler's counts at `now`: three index ranges, each as long as what it counts, and
/// the few rechecks of calendar edits.
pub async fn counts(app: &App, now: DateTime<Utc>) -> Result<JobCounts, SchedulerError> {
    let db = app.db.conn();
    Ok(JobCounts {
        due: jobs::count_due(db, now).await?,
        failed: jobs::count_failed(db).await?,
        unalerted_escalations: jobs::count_unalerted(db).await?,
        failed_calendar_rechecks: crate::store::calendar::count_failed_rechecks(db).await?,
    })
}

/// A missed deadline escalated to the supervisors of the agency that had the appeal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Escalation {
    /// `None` for a deadline job scheduled before jobs were kept per agency (its key names
    /// none; the agency was the appeal's when the deadline was missed).
    pub agency_id: Option<uuid::Uuid>,
    pub due_at: DateTime<Utc>,
    pub escalated_at: DateTime<Utc>,
    /// Whether alert emails were queued with it (the outbox sends them); `false` when there
    /// was nobody to tell (what `murojiat_escalations_unalerted` counts).
    pub alerted: bool,
}

/// The appeal's escalations, oldest first: its deadline jobs that ran and escalated. Such a
/// job's key is one per appeal, agency and due instant, and a done job never runs again, so
/// the job is the record that the deadline was missed and escalated once.
pub async fn escalations_of(
    db: &impl sea_orm::ConnectionTrait,
    appeal_id: uuid::Uuid,
) -> Result<Vec<Escalation>, SchedulerError> {
    let escalated = [Outcome::Applied.as_str(), Outcome::Unalerted.as_str()];
    let done = jobs::done_of_appeal(db, appeal_id, JobKind::Deadline.as_str(), &escalated).await?;
    done.into_iter()
        .map(|job| {
            let (_, agency_id, due_at) = kind::deadline_of_key(&job.dedupe_key)
                .ok_or_else(|| SchedulerError::Payload(format!("not a deadline key: {}", job.dedupe_key)))?;
            Ok(Escalation {
                agency_id,
                due_at,
                escalated_at: job.done_at.unwrap_or(job.updated_at),
                alerted: job.outcome.as_deref() == Some(Outcome::Applied.as_str()),
            })
        })
        .collect()
}

/// A missed deadline as the scheduler records it, for a history written at once (the demo
/// seed), where the scheduler did not run at the time.
#[derive(Debug, Clone, PartialEq)]
pub struct MissedDeadline {
    /// The details of the internal `overdue` event, due at `job.job.run_at`.
    pub data: serde_json::Value,
    /// The appeal's deadline job, done when the deadline was missed, by `ran_by`.
    pub job: jobs::RanJob,
}

/// What the scheduler would have recorded had it run when `appeal` missed its deadline
/// (`appeal.due_at`), with `supervisors` its agency's supervisors then (as
/// [`crate::store::users::with_role_at`] lists them) and `agency_has_address` whether the
/// agency has an email address: the event's details, and the deadline job, done, `applied`
/// if the overdue alert would have reached anyone (the assignee, the supervisors, or else
/// the agency's address) and `unalerted` otherwise. Nothing is sent.
pub fn missed_deadline(
    appeal: &Appeal,
    supervisors: &[crate::store::users::User],
    agency_has_address: bool,
    ran_by: &str,
) -> MissedDeadline {
    let escalated_to = effects::active_supervisors(supervisors);
    let alerted = !effects::overdue_alerted(appeal, &escalated_to).is_empty() || agency_has_address;
    let outcome = if alerted { Outcome::Applied } else { Outcome::Unalerted };
    let due = effects::DuePayload { due_at: appeal.due_at, offset: None };
    let job = plan::deadline_job(appeal);
    MissedDeadline {
        data: effects::overdue_data(appeal, &due, &escalated_to),
        job: jobs::RanJob { done_at: job.run_at, job, ran_by: ran_by.to_owned(), outcome: outcome.as_str() },
    }
}

/// The jobs that gave up after their last attempt, oldest first, at most `limit`: what an
/// operator reads before running them again with [`retry_failed`].
pub async fn failed_jobs(app: &App, limit: u64) -> Result<Vec<Job>, SchedulerError> {
    Ok(jobs::failed(app.db.conn(), limit).await?)
}

/// What [`retry_failed`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retried {
    /// Failed jobs put back to work, due now.
    pub retried: u64,
    /// The ids asked for that named no failed job (unknown, or not failed: pending or done).
    pub not_failed: Vec<uuid::Uuid>,
}

/// Runs failed jobs again: `ids`, or every failed job when `None`. Each is due at once, its
/// attempts counted from zero; any running scheduler takes it at its next pass, and if it
/// fails again it backs off and ends failed as before.
pub async fn retry_failed(app: &App, ids: Option<&[uuid::Uuid]>) -> Result<Retried, SchedulerError> {
    let now = app.clock.now();
    let txn = app.db.write().await?;
    let not_failed = match ids {
        Some(ids) => {
            let failed: std::collections::HashSet<uuid::Uuid> =
                jobs::failed_among(&txn, ids).await?.into_iter().collect();
            ids.iter().copied().filter(|id| !failed.contains(id)).collect()
        }
        None => Vec::new(),
    };
    let retried = jobs::retry_failed(&txn, ids, now).await?;
    txn.commit().await.map_err(StoreError::from)?;
    Ok(Retried { retried, not_failed })
}

/// One scheduler: a name for the jobs it runs and the application it works for.
#[derive(Clone)]
pub struct Scheduler {
    app: App,
    owner: String,
}

impl Scheduler {
    /// A scheduler with a name unique to it (host, process and a random part).
    pub fn new(app: App) -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".to_owned());
        let owner = format!("{host}:{}:{}", std::process::id(), uuid::Uuid::now_v7().simple());
        Self { app, owner }
    }

    /// The name the jobs this scheduler runs record (`ran_by`).
    pub fn owner(&self) -> &str {
        &self.owner
    }

    fn settings(&self) -> &SchedulerSettings {
        &self.app.settings.scheduler
    }

    /// Runs every job due at `now`, in due order, batch after batch until none is left.
    /// Appeals another scheduler holds meanwhile are left to it.
    pub async fn run_due(&self, now: DateTime<Utc>) -> Result<RunReport, SchedulerError> {
        let mut report = RunReport::default();
        loop {
            let (batch, full) = self.batch(now).await?;
            report.add(batch);
            if !full {
                return Ok(report);
            }
        }
    }

    /// Claims one batch of due jobs and runs them.
    ///
    /// On PostgreSQL the batch runs in `scheduler.batch_transactions` parts at once, each
    /// claiming its share of `scheduler.batch_size` in its own transaction on its own
    /// connection (see [`jobs::claim`]): the parts hold disjoint appeals, so they never wait
    /// on each other, and each runs its appeals' jobs in due order.
    pub async fn run_batch(&self, now: DateTime<Utc>) -> Result<RunReport, SchedulerError> {
        Ok(self.batch(now).await?.0)
    }

    /// [`Self::run_batch`], and whether a part's claim reached its share (more may be due).
    async fn batch(&self, now: DateTime<Utc>) -> Result<(RunReport, bool), SchedulerError> {
        let settings = self.settings();
        let parts = self.app.db.concurrent_writers(settings.batch_transactions).max(1);
        let share = settings.batch_size.div_ceil(parts as u64);
        if parts == 1 {
            return self.run_part(now, share).await;
        }
        let mut running = tokio::task::JoinSet::new();
        for _ in 0..parts {
            let this = self.clone();
            running.spawn(async move { this.run_part(now, share).await });
        }
        // Every part ends (commits or rolls back) before the batch reports; the first error
        // is the batch's, and the failed part's jobs are due again at once.
        let (mut report, mut full, mut failure) = (RunReport::default(), false, None);
        while let Some(ran) = running.join_next().await {
            match ran.map_err(|err| SchedulerError::Batch(format!("a batch part stopped: {err}"))) {
                Ok(Ok((part, part_full))) => {
                    report.add(part);
                    full |= part_full;
                }
                Ok(Err(err)) | Err(err) => failure = failure.or(Some(err)),
            }
        }
        match failure {
            Some(err) => Err(err),
            None => Ok((report, full)),
        }
    }

    /// One part of a batch, in one transaction (one commit, one WAL flush, for all its jobs):
    /// claims the appeals of up to `limit` due jobs and runs every due job of theirs. The
    /// common kinds run set-based in a savepoint (see `batch`); the jobs left over, and every
    /// job of a set whose set-based run failed, run one by one with a savepoint each, so a
    /// job whose effect fails ends retried or failed without taking the others with it.
    /// Returns the part's report and whether its claim reached `limit` (more may be due).
    async fn run_part(&self, now: DateTime<Utc>, limit: u64) -> Result<(RunReport, bool), SchedulerError> {
        let started = Instant::now();
        let batch = self.app.db.write_holding(Duration::from_secs(self.settings().batch_idle_secs)).await?;
        let held = jobs::claim(&batch, self.app.db.backend(), now, limit).await?;
        if held.appeals.is_empty() {
            batch.commit().await?;
            return Ok((RunReport::default(), false));
        }
        let ids: Vec<uuid::Uuid> = held.appeals.iter().map(|appeal| appeal.id).collect();
        let claimed = jobs::due_of(&batch, &ids, now).await?;
        let appeals: HashMap<uuid::Uuid, Appeal> =
            held.appeals.into_iter().map(|appeal| (appeal.id, appeal)).collect();
        let claim_time = started.elapsed();
        let mut report = RunReport { claimed: claimed.len() as u64, ..Default::default() };

        let started = Instant::now();
        let (rest, phases) = match self.run_set_based(&batch, &claimed, &appeals, now).await {
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
            appeals = appeals.len(),
            one_by_one,
            claim_ms = ms(claim_time),
            set_based_ms = ms(set_time),
            complete_ms = ms(phases.complete),
            read_ms = ms(phases.read),
            write_ms = ms(phases.write),
            one_by_one_ms = ms(rest_time),
            commit_ms = ms(started.elapsed()),
            "scheduler batch part"
        );
        Ok((report, held.full))
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
    /// A job an earlier job of its appeal superseded (or completed) is not run. The
    /// completion comes first, so the effect's own re-planning (which supersedes pending
    /// jobs) leaves the running job alone.
    async fn run_one(
        &self,
        batch: &DatabaseTransaction,
        job: &Job,
        now: DateTime<Utc>,
        report: &mut RunReport,
    ) -> Result<(), SchedulerError> {
        let txn = batch.begin().await?;
        // Already held since the part claimed it; read again as earlier jobs left it.
        let appeal = match job.appeal_id {
            Some(id) => appeals::lock(&txn, self.app.db.backend(), id).await?,
            None => None,
        };
        if !jobs::complete(&txn, job.id, &self.owner, now).await? {
            txn.rollback().await?;
            report.lost += 1;
            return Ok(());
        }
        let ran = async {
            let outcome = effects::run(&self.app, &txn, job, appeal, now).await?;
            jobs::record_outcome(&txn, job.id, outcome.as_str()).await?;
            Ok::<_, SchedulerError>(outcome)
        }
        .await;
        match ran {
            Ok(outcome) => {
                txn.commit().await?;
                match outcome {
                    Outcome::Applied | Outcome::Unalerted => report.applied += 1,
                    Outcome::Moot => report.moot += 1,
                }
            }
            Err(err) => {
                txn.rollback().await?;
                let attempts = job.attempts.saturating_add(1);
                let retry_at = retry_at(self.settings(), attempts, now);
                tracing::warn!(job = %job.id, kind = %job.kind, attempts, error = %err, "job failed");
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
    /// background loop runs it with its chores (see [`Self::run_until`]). Safe in any number
    /// of processes at once.
    pub async fn housekeep(&self, now: DateTime<Utc>) -> Result<u64, SchedulerError> {
        let hours = i64::try_from(self.app.settings.appeals.idempotency_retention_hours).unwrap_or(i64::MAX);
        let Some(cutoff) = TimeDelta::try_hours(hours).and_then(|kept| now.checked_sub_signed(kept)) else {
            return Ok(0);
        };
        Ok(idempotency::delete_recorded_before(self.app.db.conn(), cutoff).await?)
    }

    /// Runs passes until `stop` turns true: after a pass that found work, the next starts at
    /// once (catching up after downtime); otherwise it waits the poll interval. A pass in
    /// progress finishes its current job before the loop stops.
    ///
    /// The chores (housekeeping, the rechecks of calendar edits) run after a pass that found
    /// nothing, and while passes keep finding work at least once per poll interval of the
    /// clock's time, the first pass included: a long catch-up, or a scheduler that always
    /// finds something due, must not hold back the recheck that corrects deadlines set on
    /// an edited calendar.
    pub async fn run_until(self, mut stop: watch::Receiver<bool>) {
        let idle = Duration::from_millis(self.settings().poll_interval_ms);
        let chores_every = TimeDelta::from_std(idle).unwrap_or(TimeDelta::MAX);
        let mut chores_at = self.app.clock.now();
        tracing::info!(owner = %self.owner, "scheduler started");
        loop {
            if *stop.borrow() {
                break;
            }
            let now = self.app.clock.now();
            // Whether the pass found work; `None` when it failed.
            let busy = match self.run_batch(now).await {
                Ok(report) if report.claimed > 0 => {
                    tracing::debug!(?report, "scheduler pass");
                    Some(true)
                }
                Ok(_) => Some(false),
                Err(err) => {
                    tracing::error!(error = %err, "scheduler pass failed");
                    None
                }
            };
            if busy.is_some_and(|found_work| !found_work || now >= chores_at) {
                self.chores(now).await;
                chores_at = now.checked_add_signed(chores_every).unwrap_or(DateTime::<Utc>::MAX_UTC);
            }
            self.app.scheduler_passes.send_modify(|passes| *passes += 1);
            if busy != Some(true) && super::paused_until_stopped(idle, &mut stop).await {
                break;
            }
        }
        tracing::info!(owner = %self.owner, "scheduler stopped");
    }

    /// Housekeeping and the due rechecks of calendar edits; failures are logged, and both
    /// run again at the next chores.
    async fn chores(&self, now: DateTime<Utc>) {
        match self.housekeep(now).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "expired idempotency keys deleted"),
            Err(err) => tracing::error!(error = %err, "housekeeping failed"),
        }
        if let Err(err) = crate::services::calendar::run_due_rechecks(&self.app, now).await {
            tracing::error!(error = %err, "the rechecks of calendar edits failed");
        }
    }
}

/// When background work that failed its `attempts`-th attempt runs again: the base delay
/// doubled for each earlier attempt, capped; `None` once `scheduler.max_attempts` are used.
pub fn retry_at(settings: &SchedulerSettings, attempts: i32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
    if attempts >= settings.max_attempts {
        return None;
    }
    let factor = 1u64.checked_shl(attempts.saturating_sub(1)).unwrap_or(u64::MAX);
    let secs = settings.retry_base_secs.saturating_mul(factor).min(settings.retry_max_secs);
    Some(now + TimeDelta::seconds(i64::try_from(secs).unwrap_or(i64::MAX)))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
