//! Which jobs an appeal needs, decided from its state before and after a change. Filing,
//! every lifecycle action and every job effect call [`plan`] in the transaction that makes
//! the change (its writes join the change's deferred ones), so the jobs table always agrees
//! with the appeals it watches.

use chrono::{DateTime, Utc};

use super::kind::{self, JobKind};
use crate::app::App;
use crate::domain::calendar::BusinessCalendar;
use crate::domain::deadline;
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
    let jurisdiction = &app.jurisdiction;
    let policy = jurisdiction.policy(&after.deadline_policy, &app.settings.appeals.default_policy);
    let Ok(status) = after.status.parse::<Status>() else { return };
    let was = before.and_then(|b| b.status.parse::<Status>().ok());
    let id = after.id;
    let job = |kind: JobKind, run_at: DateTime<Utc>, key: String, payload: serde_json::Value| NewJob {
        kind: kind.as_str().to_owned(),
        appeal_id: Some(id),
        run_at,
        dedupe_key: key,
        payload,
    };
    let mut wanted: Vec<NewJob> = Vec::new();

    // The consideration deadline: reminders and the deadline itself.
    let mut keep = Vec::new();
    if status.is_open() && after.paused_at.is_none() {
        let due = after.due_at;
        for offset in &policy.reminders {
            let key = kind::reminder_key(id, after.agency_id, due, *offset);
            keep.push(key.clone());
            let at = deadline::reminder_at(policy, calendar, *offset, due);
            // A reminder whose time has already passed when it is planned would arrive
            // late and misleading; a pending one from before (catch-up) still runs.
            if at > now {
                let payload = serde_json::json!({ "due_at": due, "offset": offset.to_string() });
                wanted.push(job(JobKind::Reminder, at, key, payload));
            }
        }
        let key = kind::deadline_key(id, after.agency_id, due);
        keep.push(key.clone());
        wanted.push(job(
            JobKind::Deadline,
            deadline::overdue_at(due),
            key,
            serde_json::json!({ "due_at": due }),
        ));
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
            let key = kind::forwarding_key(id, after.agency_id);
            keep.push(key.clone());
            let closes = deadline::forwarding_due_at(policy, calendar, now);
            let payload =
                serde_json::json!({ "agency_id": after.agency_id, "arrived_at": now, "closes_at": closes });
            wanted.push(job(JobKind::ForwardingWindow, deadline::overdue_at(closes), key, payload));
        }
        if before.is_some() {
            writes.push(jobs::superseding(id, &[JobKind::ForwardingWindow.as_str()], &keep, now));
        }
    }

    // A request for information: the citizen has until the reply window closes.
    if status == Status::AwaitingCitizen {
        if was != Some(Status::AwaitingCitizen) {
            let due = deadline::citizen_reply_due_at(policy, calendar, now);
            let payload = serde_json::json!({ "requested_at": now, "reply_due_at": due });
            wanted.push(job(
                JobKind::CitizenReply,
                deadline::overdue_at(due),
                kind::citizen_reply_key(id, now),
                payload,
            ));
        }
    } else if was == Some(Status::AwaitingCitizen) {
        writes.push(jobs::superseding(id, &[JobKind::CitizenReply.as_str()], &[], now));
    }

    // An answer: the appeal closes when the contest window does.
    if status == Status::Answered {
        if was != Some(Status::Answered) {
            let answered_at = after.answered_at.unwrap_or(now);
            let closes = deadline::contest_window_closes_at(policy, calendar, answered_at);
            let payload = serde_json::json!({ "answered_at": answered_at, "closes_at": closes });
            wanted.push(job(
                JobKind::ContestWindow,
                deadline::overdue_at(closes),
                kind::contest_key(id, answered_at),
                payload,
            ));
        }
    } else if was == Some(Status::Answered) {
        writes.push(jobs::superseding(id, &[JobKind::ContestWindow.as_str()], &[], now));
    }

    writes.extend(jobs::scheduling(wanted, now));
}
