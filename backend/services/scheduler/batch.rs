//! The common kinds of a whole claimed batch (reminders, missed deadlines, closed forwarding
//! windows) run set-based: a few statements for the batch instead of several per job. The
//! decisions are those of [`effects::run`], made in Rust from rows read once per batch; the
//! writes are one multi-row INSERT per table, with each appeal's event chain continued in
//! Rust from its last hash.
//!
//! The exactly-once argument is the per-job one: the caller holds every appeal of the batch
//! (its claim), the completions are compare-and-sets on the jobs' status, and the
//! completions and the effects commit in the same transaction. The effects are decided
//! first, so each completion records its job's outcome; a completed deadline job that
//! escalated is the escalation's record. A job that changes the
//! appeal (abandoning, closing) or cannot be read is left to the caller's job-by-job path,
//! together with every other job of its appeal, so each appeal still sees its jobs in due
//! order. Any error here means nothing of this run stands: the caller rolls back and runs the
//! batch job by job.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::effects::{self, DuePayload, ForwardingPayload, Outcome, payload, reminds};
use super::kind::JobKind;
use super::{RunReport, SchedulerError};
use crate::app::App;
use crate::domain::lifecycle::Status;
use crate::notify::MessageKind;
use crate::services::notices;
use crate::store::appeals::Appeal;
use crate::store::events::{self, Event, Link};
use crate::store::jobs::{self, Job};
use crate::store::{agencies, users};

/// What a set-based run did, and what it left to the job-by-job path.
pub(super) struct Ran<'a> {
    /// Applied and moot counts of the jobs run here.
    pub report: RunReport,
    /// The jobs left to the job-by-job path, in due order.
    pub rest: Vec<&'a Job>,
    pub phases: Phases,
}

/// Where the time of a set-based run went.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Phases {
    pub complete: Duration,
    pub read: Duration,
    pub write: Duration,
}

/// A job this module runs, its payload read.
enum Common {
    Reminder(DuePayload),
    Deadline(DuePayload),
    Forwarding(ForwardingPayload),
}

/// An effect decided for one job.
struct Note<'a> {
    job: &'a Job,
    appeal: &'a Appeal,
    status: Status,
    action: &'static str,
    /// The deadline job's payload, whose event names the supervisors (read later).
    overdue: Option<&'a DuePayload>,
    data: Option<serde_json::Value>,
    alert: Option<MessageKind>,
}

/// Runs the common jobs of `claimed` in `txn` at `now`, for `owner`; `appeals` are the
/// batch's appeals, held by the caller's claim in this transaction.
pub(super) async fn run<'a>(
    app: &App,
    txn: &impl ConnectionTrait,
    owner: &str,
    claimed: &'a [Job],
    appeals: &'a HashMap<Uuid, Appeal>,
    now: DateTime<Utc>,
) -> Result<Ran<'a>, SchedulerError> {
    let mut phases = Phases::default();
    let (common, rest) = sort_out(claimed, appeals);
    let mut report = RunReport::default();
    if common.is_empty() {
        return Ok(Ran { report, rest, phases });
    }

    let started = Instant::now();
    let mut notes: Vec<Note> = Vec::new();
    let mut moot: Vec<Uuid> = Vec::new();
    for (job, appeal, status, common) in &common {
        let (job, appeal, status) = (*job, *appeal, *status);
        let note = match common {
            Common::Reminder(p) if reminds(appeal, status, p.due_at, now) => Some(Note {
                job,
                appeal,
                status,
                action: "remind",
                overdue: None,
                data: Some(effects::remind_data(appeal, p)),
                alert: Some(MessageKind::DeadlineReminder),
            }),
            // Escalating twice is impossible: the job is the one deadline job of the appeal,
            // agency and due instant, and it completes here.
            Common::Deadline(p) if effects::escalates(job, appeal, status, p, now) => Some(Note {
                job,
                appeal,
                status,
                action: "overdue",
                overdue: Some(p),
                data: None,
                alert: Some(MessageKind::OverdueAlert),
            }),
            Common::Forwarding(p) if status == Status::Registered && appeal.agency_id == p.agency_id => {
                Some(Note {
                    job,
                    appeal,
                    status,
                    action: "forwarding_window_closed",
                    overdue: None,
                    data: Some(effects::forwarding_data(p)),
                    alert: None,
                })
            }
            _ => None,
        };
        match note {
            Some(note) => notes.push(note),
            None => moot.push(job.id),
        }
    }
    report.moot = moot.len() as u64;
    report.applied = notes.len() as u64;
    if notes.is_empty() {
        phases.read = started.elapsed();
        let started = Instant::now();
        complete(txn, owner, &[(moot.as_slice(), Outcome::Moot)], now).await?;
        phases.complete = started.elapsed();
        return Ok(Ran { report, rest, phases });
    }

    // Everything the notes and alerts name, once per batch.
    let alerting: Vec<&Note> = notes.iter().filter(|n| n.alert.is_some()).collect();
    let agency_ids = distinct(alerting.iter().map(|n| n.appeal.agency_id));
    let escalating_agencies =
        distinct(notes.iter().filter(|n| n.overdue.is_some()).map(|n| n.appeal.agency_id));
    let agencies =
        if agency_ids.is_empty() { HashMap::new() } else { agencies::by_ids(txn, &agency_ids).await? };
    let mut supervisors: HashMap<Uuid, Vec<users::User>> = HashMap::new();
    if !escalating_agencies.is_empty() {
        for user in users::with_role_at(txn, effects::SUPERVISOR, &escalating_agencies).await? {
            if let Some(agency) = user.agency_id {
                supervisors.entry(agency).or_default().push(user);
            }
        }
    }
    let assignees = distinct(alerting.iter().filter_map(|n| n.appeal.assignee_id));
    let mut people: HashMap<Uuid, users::User> = if assignees.is_empty() {
        HashMap::new()
    } else {
        users::by_ids(txn, &assignees).await?.into_iter().map(|u| (u.id, u)).collect()
    };
    for user in supervisors.values().flatten() {
        people.entry(user.id).or_insert_with(|| user.clone());
    }
    let appeal_ids = distinct(notes.iter().map(|n| n.appeal.id));
    let mut links = events::last_links(txn, &appeal_ids).await?;
    phases.read = started.elapsed();

    let started = Instant::now();
    let mut chained: Vec<Event> = Vec::with_capacity(notes.len());
    let mut messages = Vec::new();
    let (mut applied, mut unalerted) = (Vec::with_capacity(notes.len()), Vec::new());
    for note in notes {
        let appeal = note.appeal;
        let escalated_to = match note.overdue {
            Some(_) => effects::active_supervisors(
                supervisors.get(&appeal.agency_id).map(Vec::as_slice).unwrap_or_default(),
            ),
            None => Vec::new(),
        };
        let data = match (note.data, note.overdue) {
            (Some(data), _) => data,
            (None, Some(p)) => effects::overdue_data(appeal, p, &escalated_to),
            (None, None) => serde_json::Value::Null,
        };
        let new = effects::system_note(appeal, note.status, note.action, data, now);
        let event = events::link(links.get(&appeal.id), new);
        links.insert(appeal.id, Link { seq: event.seq, hash: event.hash.clone() });
        chained.push(event);

        let (Some(kind), Some(agency)) = (note.alert, agencies.get(&appeal.agency_id)) else {
            // No agency to write from: nobody is alerted.
            match note.overdue {
                Some(_) => unalerted.push(note.job.id),
                None => applied.push(note.job.id),
            }
            continue;
        };
        let named: Vec<Uuid> = match note.overdue {
            Some(_) => effects::overdue_alerted(appeal, &escalated_to),
            None => appeal.assignee_id.into_iter().collect(),
        };
        let named: Vec<users::User> = named.iter().filter_map(|id| people.get(id).cloned()).collect();
        let assignee = appeal.assignee_id.and_then(|id| people.get(&id)).map(|u| u.full_name.as_str());
        let cause = format!("job:{}", note.job.id);
        let alerts = notices::staff_alert_messages(app, kind, appeal, agency, assignee, &named, &cause, now)?;
        match note.overdue {
            Some(_) if alerts.is_empty() => unalerted.push(note.job.id),
            _ => applied.push(note.job.id),
        }
        messages.extend(alerts);
    }
    let built = started.elapsed();

    let started = Instant::now();
    complete(
        txn,
        owner,
        &[
            (applied.as_slice(), Outcome::Applied),
            (unalerted.as_slice(), Outcome::Unalerted),
            (moot.as_slice(), Outcome::Moot),
        ],
        now,
    )
    .await?;
    phases.complete = started.elapsed();
    let started = Instant::now();
    events::insert_chains(txn, chained).await?;
    notices::enqueue_all(txn, messages).await?;
    phases.write = built + started.elapsed();
    Ok(Ran { report, rest, phases })
}

/// Completes the jobs of each outcome, recording it on them: one compare-and-set statement
/// per outcome that has jobs. Every job must complete; one that does not means the database
/// is other than it was read (it cannot be while the appeals are held), and the caller's
/// job-by-job path decides instead.
async fn complete(
    txn: &impl ConnectionTrait,
    owner: &str,
    groups: &[(&[Uuid], Outcome)],
    now: DateTime<Utc>,
) -> Result<(), SchedulerError> {
    for (ids, outcome) in groups.iter().filter(|(ids, _)| !ids.is_empty()) {
        let completed = jobs::complete_many(txn, ids, owner, Some(outcome.as_str()), now).await?;
        if completed != ids.len() as u64 {
            return Err(SchedulerError::Batch(format!("{completed} of {} jobs completed", ids.len())));
        }
    }
    Ok(())
}

type Sorted<'a> = (Vec<(&'a Job, &'a Appeal, Status, Common)>, Vec<&'a Job>);

/// Splits the batch into the common jobs run here and the rest, both in due order. Every job
/// of an appeal that has one job in the rest goes to the rest.
fn sort_out<'a>(claimed: &'a [Job], appeals: &'a HashMap<Uuid, Appeal>) -> Sorted<'a> {
    let read = |job: &'a Job| -> Option<(&'a Appeal, Status, Common)> {
        let appeal = appeals.get(&job.appeal_id?)?;
        let status: Status = appeal.status.parse().ok()?;
        let common = match JobKind::parse(&job.kind)? {
            JobKind::Reminder => Common::Reminder(payload(job).ok()?),
            JobKind::Deadline => Common::Deadline(payload(job).ok()?),
            JobKind::ForwardingWindow => Common::Forwarding(payload(job).ok()?),
            JobKind::CitizenReply | JobKind::ContestWindow => return None,
        };
        Some((appeal, status, common))
    };
    let read: Vec<Option<(&Appeal, Status, Common)>> = claimed.iter().map(read).collect();
    let elsewhere: HashSet<Uuid> =
        claimed.iter().zip(&read).filter(|(_, r)| r.is_none()).filter_map(|(job, _)| job.appeal_id).collect();
    let mut common = Vec::new();
    let mut rest = Vec::new();
    for (job, read) in claimed.iter().zip(read) {
        match read {
            Some((appeal, status, c)) if !elsewhere.contains(&appeal.id) => {
                common.push((job, appeal, status, c))
            }
            _ => rest.push(job),
        }
    }
    (common, rest)
}

fn distinct(ids: impl Iterator<Item = Uuid>) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}
