//! Which jobs an appeal needs, decided from its state before and after a change. Filing,
//! every lifecycle action and every job effect call [`plan`] in the transaction that makes
//! the change (its writes join the change's deferred ones), so the jobs table always agrees
//! with the appeals it watches.

use chrono::{DateTime, Utc};

use super::kind::{self, JobKind};
use crate::app::App;
use crate::domain::calendar::BusinessCalendar;
use crate::domain::deadline::{self, DeadlinePolicy};
use crate::domain::lifecycle::Status;
use crate::store::appeals::Appeal;
use crate::store::deferred::Deferred;
use crate::store::jobs::{self, NewJob};

/// Brings the appeal's jobs in line with `after` (the appeal as it is now stored), given
/// `before` (`None` when it was just filed):
/// - while the agency owes work and the clock runs, a reminder per policy offset still in
///   the future and a deadline job, keyed by the agency and the due instant, so a moved
///   deadline supersedes the old ones, and an agency that receives the appeal late is
///   told of its missed deadline too;
/// - a forwarding-window job when the appeal arrives at an agency;
/// - a citizen-reply job when a request for information opens, superseded when it closes;
/// - a contest-window job when the appeal is answered, superseded when it leaves
///   `answered`.
///
/// The writes go to `writes`. Within one plan they touch disjoint rows, as a flush requires:
/// every key scheduled is one its kind's supersede keeps, and a kind is superseded with
/// nothing kept only when none of it is scheduled.
pub fn plan(app: &App, writes: &mut Deferred, before: Option<&Appeal>, after: &Appeal, now: DateTime<Utc>) {
    let current = app.jurisdiction.calendar.current();
    plan_on(app, &current, writes, before, after, now);
}

/// [`plan`] on `calendar` instead of the one in force: for an edit of the calendar, whose
/// transaction plans on the edited calendar before it is put in force.
pub fn plan_on(
    app: &App,
    calendar: &BusinessCalendar,
    writes: &mut Deferred,
    before: Option<&Appeal>,
    after: &Appeal,
    now: DateTime<Utc>,
) {
    let policy = app.jurisdiction.policy(&after.deadline_policy, &app.settings.appeals.default_policy);
    let Ok(status) = after.status.parse::<Status>() else { return };
    let was = before.and_then(|b| b.status.parse::<Status>().ok());
    let id = after.id;
    let mut wanted: Vec<NewJob> = Vec::new();

    // The consideration deadline: reminders and the deadline itself.
    let mut keep = Vec::new();
    if status.is_open() && after.paused_at.is_none() {
        // Every offset's key is kept, also of a reminder whose time has passed and is not
        // planned (it would arrive late and misleading): a pending one from before
        // (catch-up) still runs.
        keep.extend(
            policy.reminders.iter().map(|o| kind::reminder_key(id, after.agency_id, after.due_at, *o)),
        );
        keep.push(kind::deadline_key(id, after.agency_id, after.due_at));
        wanted.extend(deadline_jobs(policy, calendar, after, now));
    }
    if before.is_some() {
        writes.push(jobs::superseding(
            id,
            &[JobKind::Reminder.as_str(), JobKind::Deadline.as_str()],
            &keep,
            now,
        ));
    }

    // The forwarding window runs from the moment the appeal arrives at an agency.
    let arrived = before.is_none_or(|b| b.agency_id != after.agency_id);
    if !status.is_open() || arrived {
        let mut keep = Vec::new();
        if status.is_open() {
            let job = forwarding_job(policy, calendar, after, now);
            keep.push(job.dedupe_key.clone());
            wanted.push(job);
        }
        if before.is_some() {
            writes.push(jobs::superseding(id, &[JobKind::ForwardingWindow.as_str()], &keep, now));
        }
    }

    // A request for information: the citizen has until the reply window closes.
    if status == Status::AwaitingCitizen {
        if was != Some(Status::AwaitingCitizen) {
            wanted.push(citizen_reply_job(policy, calendar, after, now));
        }
    } else if was == Some(Status::AwaitingCitizen) {
        writes.push(jobs::superseding(id, &[JobKind::CitizenReply.as_str()], &[], now));
    }

    // An answer: the appeal closes when the contest window does.
    if status == Status::Answered {
        if was != Some(Status::Answered) {
            wanted.push(contest_job(policy, calendar, after, after.answered_at.unwrap_or(now)));
        }
    } else if was == Some(Status::Answered) {
        writes.push(jobs::superseding(id, &[JobKind::ContestWindow.as_str()], &[], now));
    }

    writes.extend(jobs::scheduling(wanted, now));
}

/// The jobs still ahead at `now` of an appeal whose history was written in bulk, not lived
/// through (demo data): what [`plan`] would have left pending, had every step been taken
/// through it at the time the appeal records (its registration as its arrival, `paused_at`
/// as the request for information, `answered_at` as the answer). Jobs that would already
/// have run (a missed deadline, a closed window) are left out: they were not run, and
/// running them now would alert about the past. So is a forwarding window once the agency
/// took the appeal up (past `registered`), which would run to no effect.
pub fn pending_as_stored(
    app: &App,
    calendar: &BusinessCalendar,
    appeal: &Appeal,
    now: DateTime<Utc>,
) -> Vec<NewJob> {
    let policy = app.jurisdiction.policy(&appeal.deadline_policy, &app.settings.appeals.default_policy);
    let Ok(status) = appeal.status.parse::<Status>() else { return Vec::new() };
    let mut wanted = Vec::new();
    if status.is_open() && appeal.paused_at.is_none() {
        wanted.extend(deadline_jobs(policy, calendar, appeal, now));
    }
    if status == Status::Registered {
        wanted.push(forwarding_job(policy, calendar, appeal, appeal.registered_at));
    }
    if let (Status::AwaitingCitizen, Some(requested_at)) = (status, appeal.paused_at) {
        wanted.push(citizen_reply_job(policy, calendar, appeal, requested_at));
    }
    if let (Status::Answered, Some(answered_at)) = (status, appeal.answered_at) {
        wanted.push(contest_job(policy, calendar, appeal, answered_at));
    }
    wanted.retain(|job| job.run_at > now);
    wanted
}

fn job(
    appeal: &Appeal,
    kind: JobKind,
    run_at: DateTime<Utc>,
    key: String,
    payload: serde_json::Value,
) -> NewJob {
    NewJob { kind: kind.as_str().to_owned(), appeal_id: Some(appeal.id), run_at, dedupe_key: key, payload }
}

/// The reminders still ahead at `now` (one per policy offset) and the deadline job, keyed by
/// the agency and the due instant.
fn deadline_jobs(
    policy: &DeadlinePolicy,
    calendar: &BusinessCalendar,
    appeal: &Appeal,
    now: DateTime<Utc>,
) -> Vec<NewJob> {
    let due = appeal.due_at;
    let mut jobs = Vec::new();
    for offset in &policy.reminders {
        let at = deadline::reminder_at(policy, calendar, *offset, due);
        if at > now {
            let key = kind::reminder_key(appeal.id, appeal.agency_id, due, *offset);
            let payload = serde_json::json!({ "due_at": due, "offset": offset.to_string() });
            jobs.push(job(appeal, JobKind::Reminder, at, key, payload));
        }
    }
    jobs.push(deadline_job(appeal));
    jobs
}

/// The job that escalates the appeal's deadline (`due_at`) when it passes, keyed by the
/// agency and the due instant.
pub(super) fn deadline_job(appeal: &Appeal) -> NewJob {
    let due = appeal.due_at;
    let key = kind::deadline_key(appeal.id, appeal.agency_id, due);
    job(appeal, JobKind::Deadline, deadline::overdue_at(due), key, serde_json::json!({ "due_at": due }))
}

/// The agency's window to forward the appeal, open from `arrived_at`.
fn forwarding_job(
    policy: &DeadlinePolicy,
    calendar: &BusinessCalendar,
    appeal: &Appeal,
    arrived_at: DateTime<Utc>,
) -> NewJob {
    let closes = deadline::forwarding_due_at(policy, calendar, arrived_at);
    let payload =
        serde_json::json!({ "agency_id": appeal.agency_id, "arrived_at": arrived_at, "closes_at": closes });
    let key = kind::forwarding_key(appeal.id, appeal.agency_id);
    job(appeal, JobKind::ForwardingWindow, deadline::overdue_at(closes), key, payload)
}

/// The citizen's window to answer a request for information made at `requested_at`.
fn citizen_reply_job(
    policy: &DeadlinePolicy,
    calendar: &BusinessCalendar,
    appeal: &Appeal,
    requested_at: DateTime<Utc>,
) -> NewJob {
    let due = deadline::citizen_reply_due_at(policy, calendar, requested_at);
    let payload = serde_json::json!({ "requested_at": requested_at, "reply_due_at": due });
    let key = kind::citizen_reply_key(appeal.id, requested_at);
    job(appeal, JobKind::CitizenReply, deadline::overdue_at(due), key, payload)
}

/// The window to contest an answer given at `answered_at`; the appeal closes with it.
fn contest_job(
    policy: &DeadlinePolicy,
    calendar: &BusinessCalendar,
    appeal: &Appeal,
    answered_at: DateTime<Utc>,
) -> NewJob {
    let closes = deadline::contest_window_closes_at(policy, calendar, answered_at);
    let payload = serde_json::json!({ "answered_at": answered_at, "closes_at": closes });
    let key = kind::contest_key(appeal.id, answered_at);
    job(appeal, JobKind::ContestWindow, deadline::overdue_at(closes), key, payload)
}
