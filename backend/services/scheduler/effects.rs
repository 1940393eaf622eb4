//! What each job does when it runs. Every effect runs in the transaction that completes the
//! job, holds the appeal (row lock), and first checks that the appeal is still in the state
//! the job was planned for; when it is not, the job is moot and changes nothing. So an
//! effect happens at most once per job, and a re-run after a crash changes nothing twice.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, Set};
use serde::Deserialize;

use super::SchedulerError;
use super::kind::{self, JobKind};
use crate::app::App;
use crate::domain::deadline;
use crate::domain::lifecycle::{self, Action, ActorKind, Status};
use crate::notify::MessageKind;
use crate::services::notices;
use crate::store::appeals::{self, Appeal, AppealChange};
use crate::store::deferred::Deferred;
use crate::store::events::{self, NewEvent};
use crate::store::jobs::{self, Job};
use crate::store::{StoreError, users};

/// What running a job did, recorded on the done job (`jobs.outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The effect happened.
    Applied,
    /// A missed deadline was escalated (marked and recorded) but nobody could be told: no
    /// active supervisor, no assignee, no agency address.
    Unalerted,
    /// The appeal moved on (answered, extended, forwarded, ...): nothing to do.
    Moot,
}

impl Outcome {
    /// The name stored in `jobs.outcome`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => jobs::outcome::APPLIED,
            Outcome::Unalerted => jobs::outcome::UNALERTED,
            Outcome::Moot => jobs::outcome::MOOT,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct DuePayload {
    pub due_at: DateTime<Utc>,
    #[serde(default)]
    pub offset: Option<String>,
}

/// The deadline and offset a reminder job was planned for; `None` for another kind of job
/// or a payload that does not read (one planned before offsets were kept).
pub fn reminder_of(job: &Job) -> Option<(DateTime<Utc>, deadline::ReminderOffset)> {
    if JobKind::parse(&job.kind) != Some(JobKind::Reminder) {
        return None;
    }
    let p: DuePayload = payload(job).ok()?;
    Some((p.due_at, deadline::ReminderOffset::parse(p.offset.as_deref()?).ok()?))
}

#[derive(Deserialize)]
pub(super) struct ForwardingPayload {
    pub agency_id: uuid::Uuid,
    pub closes_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct ReplyPayload {
    reply_due_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct ContestPayload {
    answered_at: DateTime<Utc>,
    closes_at: DateTime<Utc>,
}

/// Runs `job`'s effect in `txn` at `now` on `appeal`, which the caller read and locked in
/// `txn` (see [`appeals::lock`]); `None` when the job has no appeal or it is gone.
pub async fn run(
    app: &App,
    txn: &impl ConnectionTrait,
    job: &Job,
    appeal: Option<Appeal>,
    now: DateTime<Utc>,
) -> Result<Outcome, SchedulerError> {
    let kind = JobKind::parse(&job.kind)
        .ok_or_else(|| SchedulerError::Payload(format!("unknown kind {}", job.kind)))?;
    let Some(appeal) = appeal else { return Ok(Outcome::Moot) };
    let status: Status = appeal
        .status
        .parse()
        .map_err(|_| SchedulerError::Payload(format!("unknown status {}", appeal.status)))?;
    match kind {
        JobKind::Reminder => {
            let p: DuePayload = payload(job)?;
            if !reminds(&appeal, status, p.due_at, now) {
                return Ok(Outcome::Moot);
            }
            note(txn, &appeal, status, "remind", remind_data(&appeal, &p), now).await?;
            let assignee: Vec<uuid::Uuid> = appeal.assignee_id.into_iter().collect();
            let cause = format!("job:{}", job.id);
            notices::staff_alert(app, txn, MessageKind::DeadlineReminder, &appeal, &assignee, &cause, now)
                .await?;
            Ok(Outcome::Applied)
        }
        JobKind::Deadline => {
            let p: DuePayload = payload(job)?;
            if !escalates(job, &appeal, status, &p, now) {
                return Ok(Outcome::Moot);
            }
            let supervisors = supervisors_of(txn, &appeal).await?;
            note(txn, &appeal, status, "overdue", overdue_data(&appeal, &p, &supervisors), now).await?;
            let alerted = overdue_alerted(&appeal, &supervisors);
            let cause = format!("job:{}", job.id);
            let queued =
                notices::staff_alert(app, txn, MessageKind::OverdueAlert, &appeal, &alerted, &cause, now)
                    .await?;
            Ok(if queued > 0 { Outcome::Applied } else { Outcome::Unalerted })
        }
        JobKind::ForwardingWindow => {
            let p: ForwardingPayload = payload(job)?;
            // Only an appeal nobody at the agency has taken up is still waiting to be
            // forwarded; once taken, the agency has accepted it.
            if status != Status::Registered || appeal.agency_id != p.agency_id {
                return Ok(Outcome::Moot);
            }
            note(txn, &appeal, status, "forwarding_window_closed", forwarding_data(&p), now).await?;
            Ok(Outcome::Applied)
        }
        JobKind::CitizenReply => {
            let p: ReplyPayload = payload(job)?;
            if status != Status::AwaitingCitizen || now < deadline::overdue_at(p.reply_due_at) {
                return Ok(Outcome::Moot);
            }
            let data = serde_json::json!({ "reply_due_at": p.reply_due_at });
            close(app, txn, &appeal, status, Action::Abandon, data, now).await?;
            Ok(Outcome::Applied)
        }
        JobKind::ContestWindow => {
            let p: ContestPayload = payload(job)?;
            if status != Status::Answered || appeal.answered_at != Some(p.answered_at) {
                return Ok(Outcome::Moot);
            }
            let data = serde_json::json!({ "contest_window_closed_at": p.closes_at });
            close(app, txn, &appeal, status, Action::Close, data, now).await?;
            Ok(Outcome::Applied)
        }
    }
}

/// Whether the deadline job escalates now: the appeal still watches its deadline, the
/// deadline has passed, and the job is not the deadline of another agency than the one that
/// has the appeal (forwarding supersedes those; one that was not stays moot). Its key is
/// one per appeal, agency and due instant, and a done job is never scheduled again, so each
/// missed deadline escalates once per agency: the completed job is the record of it.
pub(super) fn escalates(
    job: &Job,
    appeal: &Appeal,
    status: Status,
    p: &DuePayload,
    now: DateTime<Utc>,
) -> bool {
    let named = kind::deadline_of_key(&job.dedupe_key).and_then(|(_, agency, _)| agency);
    let elsewhere = named.is_some_and(|agency| agency != appeal.agency_id);
    watches(appeal, status, p.due_at) && now >= deadline::overdue_at(p.due_at) && !elsewhere
}

/// Whether the deadline `due` is still the one this appeal runs against: the agency owes
/// work, the clock is not paused, and no extension, pause or forwarding moved it.
pub(super) fn watches(appeal: &Appeal, status: Status, due: DateTime<Utc>) -> bool {
    status.is_open() && appeal.paused_at.is_none() && appeal.due_at == due
}

/// Whether a reminder of the deadline `due` still has something to say at `now`: the
/// deadline is watched and has not passed. A reminder caught up after downtime, once its
/// deadline is gone, would announce time that is no longer there; the overdue alert says
/// what matters then.
pub(super) fn reminds(appeal: &Appeal, status: Status, due: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    watches(appeal, status, due) && now < deadline::overdue_at(due)
}

pub(super) fn payload<T: for<'de> Deserialize<'de>>(job: &Job) -> Result<T, SchedulerError> {
    serde_json::from_str(&job.payload).map_err(|e| SchedulerError::Payload(format!("{}: {e}", job.kind)))
}

/// The details of a reminder's `remind` event.
pub(super) fn remind_data(appeal: &Appeal, p: &DuePayload) -> serde_json::Value {
    serde_json::json!({
        "due_at": p.due_at,
        "offset": p.offset,
        "assignee": appeal.assignee_id,
        "agency_id": appeal.agency_id,
    })
}

/// The details of a missed deadline's `overdue` event.
pub(super) fn overdue_data(appeal: &Appeal, p: &DuePayload, supervisors: &[uuid::Uuid]) -> serde_json::Value {
    serde_json::json!({
        "due_at": p.due_at,
        "agency_id": appeal.agency_id,
        "assignee": appeal.assignee_id,
        "escalated_to": supervisors,
    })
}

/// Who the overdue alert names: the assignee, then the supervisors.
pub(super) fn overdue_alerted(appeal: &Appeal, supervisors: &[uuid::Uuid]) -> Vec<uuid::Uuid> {
    let mut alerted: Vec<uuid::Uuid> = appeal.assignee_id.into_iter().collect();
    alerted.extend(supervisors.iter().copied().filter(|s| Some(*s) != appeal.assignee_id));
    alerted
}

/// The details of the `forwarding_window_closed` event.
pub(super) fn forwarding_data(p: &ForwardingPayload) -> serde_json::Value {
    serde_json::json!({ "agency_id": p.agency_id, "closed_at": p.closes_at })
}

/// An internal event by the system that leaves the status as it is. The appeal's row is
/// held (see [`appeals::lock`]), so the chain cannot fork.
async fn note(
    txn: &impl ConnectionTrait,
    appeal: &Appeal,
    status: Status,
    action: &str,
    data: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    events::append(txn, system_note(appeal, status, action, data, now)).await?;
    Ok(())
}

/// The event [`note`] appends, before it is linked into the chain.
pub(super) fn system_note(
    appeal: &Appeal,
    status: Status,
    action: &str,
    data: serde_json::Value,
    now: DateTime<Utc>,
) -> NewEvent {
    NewEvent {
        appeal_id: appeal.id,
        at: now,
        actor_id: None,
        actor_role: "system".to_owned(),
        action: action.to_owned(),
        visibility: "internal".to_owned(),
        status_before: status.as_str().to_owned(),
        status_after: status.as_str().to_owned(),
        data,
    }
}

/// A lifecycle step the system takes (abandon, close): through the lifecycle table, a
/// compare-and-set on the version, a public event, and the appeal's jobs re-planned.
async fn close(
    app: &App,
    txn: &impl ConnectionTrait,
    appeal: &Appeal,
    status: Status,
    action: Action,
    data: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), SchedulerError> {
    let step = lifecycle::transition(status, action, ActorKind::System)
        .map_err(|refusal| SchedulerError::Payload(refusal.to_string()))?;
    let change = AppealChange {
        status: Set(step.to.as_str().to_owned()),
        closed_at: Set(Some(now)),
        paused_at: Set(None),
        updated_at: Set(now),
        ..Default::default()
    };
    let updated = appeals::save_if_version(txn, appeal.id, appeal.version, change, step.visibility()).await?;
    let event = events::append(
        txn,
        NewEvent {
            appeal_id: appeal.id,
            at: now,
            actor_id: None,
            actor_role: "system".to_owned(),
            action: action.as_str().to_owned(),
            visibility: step.visibility().as_str().to_owned(),
            status_before: step.from.as_str().to_owned(),
            status_after: step.to.as_str().to_owned(),
            data,
        },
    )
    .await?;
    let agencies = crate::store::agencies::all(txn).await?;
    let mut writes = Deferred::new();
    crate::services::reports::track(txn, &mut writes, &agencies, &updated, &event).await?;
    super::plan(app, &mut writes, Some(appeal), &updated, now);
    // The applicant is told the appeal closed, as after any other public step.
    if let Some(agency) = agencies.iter().find(|a| a.id == updated.agency_id) {
        notices::for_appeal_event(app, txn, &mut writes, &updated, &event, agency, None).await?;
    }
    Ok(writes.flush(txn).await?)
}

/// The active supervisors of the appeal's agency, to whom a missed deadline escalates.
async fn supervisors_of(txn: &impl ConnectionTrait, appeal: &Appeal) -> Result<Vec<uuid::Uuid>, StoreError> {
    let found = users::with_role_at(txn, SUPERVISOR, &[appeal.agency_id]).await?;
    Ok(active_supervisors(&found))
}

/// The role a missed deadline escalates to.
pub(super) const SUPERVISOR: &str = "supervisor";

/// Of one agency's supervisors in email order, the ones alerted: the first hundred, less
/// the disabled accounts.
pub(super) fn active_supervisors(of_agency: &[users::User]) -> Vec<uuid::Uuid> {
    of_agency.iter().take(100).filter(|u| !u.disabled).map(|u| u.id).collect()
}
