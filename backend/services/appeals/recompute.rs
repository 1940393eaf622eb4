//! Deadlines moved by an edit of the business calendar. A deadline is computed on the
//! calendar in force when it is set; when the government decrees a holiday on another day
//! than the provisional one, or adds a day off, the open appeals whose periods crossed the
//! changed days are due on another day. Their timelines are replayed on the edited
//! calendar ([`deadline::replay`]) and the deadlines that differ are moved, each with a
//! public event, their reminders and deadline job re-planned. The citizen's windows still
//! open (to answer a request for information, to contest an answer) move likewise, and so
//! does an agency's window to forward an appeal it is not competent for.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{DatabaseTransaction, Set};
use uuid::Uuid;

use super::stored_instant;
use crate::app::App;
use crate::domain::calendar::BusinessCalendar;
use crate::domain::deadline::{self, DeadlineStep};
use crate::domain::lifecycle::{Status, Visibility};
use crate::services::scheduler::JobKind;
use crate::services::{ServiceError, notices};
use crate::store::appeals::{self, Appeal, AppealChange};
use crate::store::deferred::Deferred;
use crate::store::events::{self, Event, NewEvent};
use crate::store::jobs;

/// The event that records a deadline moved by a calendar edit.
pub const ACTION: &str = "recompute_deadline";

/// What [`after_calendar_edit`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Recomputed {
    /// Open appeals due on or after the first changed day, their deadlines not yet passed,
    /// whose timelines were replayed.
    pub replayed: u64,
    /// Deadlines the edit moved.
    pub moved: u64,
    /// Open windows of the citizen's (to answer a request for information, to contest an
    /// answer) the edit moved.
    pub windows_moved: u64,
    /// Open windows of agencies to forward an appeal they are not competent for, moved.
    pub forwarding_windows_moved: u64,
    /// Pending reminders of deadlines the edit left where they were, moved to their working
    /// day on the edited calendar.
    pub reminders_moved: u64,
    /// Appeals whose timeline gives their stored deadline neither on the calendar before the
    /// edit nor on the edited one (their policy changed since, say): left as they are, for a
    /// person to look at.
    pub unexplained: u64,
}

/// The first day whose being a working day differs between `before` and `after`, looking
/// at `year` and the first weeks of the next (where a holiday late in `year` may move its
/// day off).
pub fn first_changed_day(
    before: &BusinessCalendar,
    after: &BusinessCalendar,
    year: i32,
) -> Option<NaiveDate> {
    let first = NaiveDate::from_ymd_opt(year, 1, 1)?;
    let last = NaiveDate::from_ymd_opt(year.checked_add(1)?, 1, 31)?;
    first
        .iter_days()
        .take_while(|day| *day <= last)
        .find(|day| before.is_working_day(*day) != after.is_working_day(*day))
}

/// Moves the deadlines of open appeals that the calendar edit from `before` to `after`
/// changes, in `txn` (the edit's own transaction, so the calendar and the deadlines change
/// together). Only appeals due on or after the start of `from`, the first changed day, can
/// move: a period that ends before a day does not count it. Deadlines that have passed
/// stay. `admin` is who edited.
pub(crate) async fn after_calendar_edit(
    app: &App,
    txn: &DatabaseTransaction,
    before: &BusinessCalendar,
    after: &BusinessCalendar,
    from: NaiveDate,
    admin: Uuid,
    now: DateTime<Utc>,
) -> Result<Recomputed, ServiceError> {
    const PAGE: u64 = 500;
    let now = stored_instant(now);
    let open: Vec<&str> = Status::ALL.iter().filter(|s| s.is_open()).map(|s| s.as_str()).collect();
    let from_instant = before.start_of_day(from).min(after.start_of_day(from));
    let agencies = crate::store::agencies::all(txn).await?;
    let mut done = Recomputed::default();
    let mut cursor = None;
    // A deadline moved later comes round again further on in (due, id) order.
    let mut moved = HashSet::new();
    let mut unexplained = Vec::new();
    loop {
        let page = appeals::due_from(txn, &open, from_instant, cursor, PAGE).await?;
        let Some(last) = page.last() else { break };
        cursor = Some((last.due_at, last.id));
        let ids: Vec<Uuid> = page.iter().map(|a| a.id).collect();
        let mut timelines: HashMap<Uuid, Vec<Event>> = HashMap::new();
        for event in events::of_appeals(txn, &ids).await? {
            timelines.entry(event.appeal_id).or_default().push(event);
        }
        for appeal in &page {
            if moved.contains(&appeal.id) || passed(appeal, now) {
                continue;
            }
            done.replayed += 1;
            let timeline = timelines.remove(&appeal.id).unwrap_or_default();
            let policy =
                app.jurisdiction.policy(&appeal.deadline_policy, &app.settings.appeals.default_policy);
            let steps = steps(&timeline);
            let replayed = |calendar| deadline::replay(policy, calendar, &steps).map(stored_instant);
            // Set on the edited calendar already (by a process that had the edit in force,
            // when a recheck runs): it stays, but its reminders may have been planned before.
            let on_after = replayed(after);
            if on_after != Some(appeal.due_at) && replayed(before) != Some(appeal.due_at) {
                done.unexplained += 1;
                if unexplained.len() < 10 {
                    unexplained.push(appeal.id);
                }
                continue;
            }
            let Some(due) = on_after.filter(|due| *due != appeal.due_at) else {
                if appeal.paused_at.is_none() && reminders_move(policy, (before, after), appeal.due_at) {
                    done.reminders_moved += move_reminders(app, txn, policy, after, appeal.id, now).await?;
                }
                continue;
            };
            move_deadline(app, txn, after, &agencies, appeal, due, admin, now).await?;
            moved.insert(appeal.id);
            done.moved += 1;
        }
    }
    let from_now = from_instant.max(now);
    move_windows(app, txn, (before, after), &agencies, from_now, admin, now, &mut done, &mut unexplained)
        .await?;
    if !unexplained.is_empty() {
        // One line for the lot (a changed policy can leave thousands), naming the first ten.
        tracing::warn!(
            count = done.unexplained,
            first = ?unexplained,
            "the timeline does not give the stored deadline (or window) on the calendar before the edit; those appeals are left as they are"
        );
    }
    Ok(done)
}

/// A window a calendar edit may move: where its job's payload keeps its start and its
/// closing, the name its event gives the closing, and whether it is the citizen's.
struct Window {
    start: &'static str,
    closes: &'static str,
    named: &'static str,
    citizens: bool,
    /// When the window opened at its start closes on a calendar.
    closing: fn(&deadline::DeadlinePolicy, &BusinessCalendar, DateTime<Utc>) -> DateTime<Utc>,
}

impl Window {
    fn of(kind: JobKind) -> Option<Self> {
        let window =
            |start, closes, named, citizens, closing| Self { start, closes, named, citizens, closing };
        Some(match kind {
            JobKind::CitizenReply => {
                window("requested_at", "reply_due_at", "reply_due_at", true, deadline::citizen_reply_due_at)
            }
            JobKind::ContestWindow => {
                window("answered_at", "closes_at", "contest_until", true, deadline::contest_window_closes_at)
            }
            JobKind::ForwardingWindow => {
                window("arrived_at", "closes_at", "forwarding_closes_at", false, deadline::forwarding_due_at)
            }
            JobKind::Reminder | JobKind::Deadline => return None,
        })
    }
}

/// Moves the windows still open after `from` (their pending jobs) that close on another day
/// on `after` than on `before`: the job, and an event on the appeal. The citizen's windows
/// (to answer a request for information, to contest an answer) get a public event and an
/// email to the applicant; the agency's window to forward an appeal it is not competent for
/// an internal event. A window that has closed stays closed. A forwarding window planned
/// before its job kept its start (`arrived_at`) is left as it is.
#[allow(clippy::too_many_arguments)]
async fn move_windows(
    app: &App,
    txn: &DatabaseTransaction,
    (before, after): (&BusinessCalendar, &BusinessCalendar),
    agencies: &[crate::store::agencies::Agency],
    from: DateTime<Utc>,
    admin: Uuid,
    now: DateTime<Utc>,
    done: &mut Recomputed,
    unexplained: &mut Vec<Uuid>,
) -> Result<(), ServiceError> {
    let kinds =
        [JobKind::CitizenReply, JobKind::ContestWindow, JobKind::ForwardingWindow].map(JobKind::as_str);
    for job in jobs::pending_after(txn, &kinds, from).await? {
        let Some(appeal_id) = job.appeal_id else { continue };
        let Some(kind) = JobKind::parse(&job.kind) else { continue };
        let Some(window) = Window::of(kind) else { continue };
        let Some(appeal) = appeals::by_id(txn, appeal_id).await? else { continue };
        let policy = app.jurisdiction.policy(&appeal.deadline_policy, &app.settings.appeals.default_policy);
        let mut payload: serde_json::Value = serde_json::from_str(&job.payload).unwrap_or_default();
        let instant = |key: &str| payload[key].as_str().and_then(|at| at.parse::<DateTime<Utc>>().ok());
        let (Some(start), Some(closes)) = (instant(window.start), instant(window.closes)) else { continue };
        let new = stored_instant((window.closing)(policy, after, start));
        if new == closes {
            continue;
        }
        if stored_instant((window.closing)(policy, before, start)) != closes {
            done.unexplained += 1;
            if unexplained.len() < 10 {
                unexplained.push(appeal.id);
            }
            continue;
        }
        // Held from here to the commit, as for any change that appends to the timeline.
        let Some(appeal) = appeals::lock(txn, app.db.backend(), appeal_id).await? else { continue };
        payload[window.closes] = serde_json::json!(new);
        if !jobs::reschedule(txn, job.id, deadline::overdue_at(new), &payload, now).await? {
            continue;
        }
        let change = AppealChange { updated_at: Set(now), ..Default::default() };
        let visibility = if window.citizens { Visibility::Public } else { Visibility::Internal };
        let updated = appeals::save_if_version(txn, appeal.id, appeal.version, change, visibility).await?;
        let data = serde_json::json!({
            window.named: { "before": closes, "after": new },
            "reason": "calendar_changed",
        });
        let event = events::append(txn, recorded(&appeal, admin, visibility, now, data)).await?;
        if window.citizens {
            let mut writes = Deferred::new();
            tell_applicant(app, txn, &mut writes, agencies, &updated, &event).await?;
            writes.flush(txn).await?;
            done.windows_moved += 1;
        } else {
            done.forwarding_windows_moved += 1;
        }
    }
    Ok(())
}

/// Writes the applicant's email about the date `event` moved (their address permitting).
async fn tell_applicant(
    app: &App,
    txn: &DatabaseTransaction,
    writes: &mut Deferred,
    agencies: &[crate::store::agencies::Agency],
    appeal: &Appeal,
    event: &Event,
) -> Result<(), ServiceError> {
    match agencies.iter().find(|a| a.id == appeal.agency_id) {
        Some(agency) => notices::for_appeal_event(app, txn, writes, appeal, event, agency, None).await,
        None => Ok(()),
    }
}

/// The event that records a deadline or a window moved by the calendar edit.
fn recorded(
    appeal: &Appeal,
    admin: Uuid,
    visibility: Visibility,
    now: DateTime<Utc>,
    data: serde_json::Value,
) -> NewEvent {
    super::admin_event(appeal, admin, ACTION, visibility, data, now)
}

/// Whether the appeal's deadline has passed at `now`: its clock runs and the due instant is
/// behind, or the clock stopped after it. A missed deadline stays as it was missed, and
/// was escalated once; the edit does not make it met, nor missed a second time.
fn passed(appeal: &Appeal, now: DateTime<Utc>) -> bool {
    match appeal.paused_at {
        None => now >= deadline::overdue_at(appeal.due_at),
        Some(paused_at) => paused_at >= appeal.due_at,
    }
}

/// Whether a reminder of a deadline at `due` falls at another time on `after` than on
/// `before`: one counted in working days before the last day moves when a day between them
/// changes, though the last day stays.
fn reminders_move(
    policy: &deadline::DeadlinePolicy,
    (before, after): (&BusinessCalendar, &BusinessCalendar),
    due: DateTime<Utc>,
) -> bool {
    policy.reminders.iter().any(|offset| {
        deadline::reminder_at(policy, before, *offset, due)
            != deadline::reminder_at(policy, after, *offset, due)
    })
}

/// Moves the appeal's pending reminders to their time on `after`, each for the deadline and
/// offset its job names; returns how many moved. One whose new time has passed runs at the
/// next pass: its working day is today (or was, in a backlog). No event: the reminders are
/// the agency's, and the timeline records those sent.
async fn move_reminders(
    app: &App,
    txn: &DatabaseTransaction,
    policy: &deadline::DeadlinePolicy,
    after: &BusinessCalendar,
    appeal_id: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, ServiceError> {
    // Held from here to the commit, as for any change to the appeal's jobs.
    if appeals::lock(txn, app.db.backend(), appeal_id).await?.is_none() {
        return Ok(0);
    }
    let mut moved = 0;
    for job in jobs::of_appeal(txn, appeal_id).await?.into_iter().filter(|job| job.status == jobs::PENDING) {
        let Some((due, offset)) = crate::services::scheduler::reminder_of(&job) else { continue };
        let at = stored_instant(deadline::reminder_at(policy, after, offset, due));
        let payload: serde_json::Value = serde_json::from_str(&job.payload).unwrap_or_default();
        if at != job.run_at && jobs::reschedule(txn, job.id, at, &payload, now).await? {
            moved += 1;
        }
    }
    Ok(moved)
}

/// Moves the appeal's deadline to `due`: the row (held until the commit), a public event, the
/// report figures and the reminders and deadline job, planned on `calendar` (the edited one).
#[allow(clippy::too_many_arguments)]
async fn move_deadline(
    app: &App,
    txn: &DatabaseTransaction,
    calendar: &BusinessCalendar,
    agencies: &[crate::store::agencies::Agency],
    appeal: &Appeal,
    due: DateTime<Utc>,
    admin: Uuid,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    // The edit's transaction holds the calendar's rows, and every action computes its
    // deadline inside its own: on PostgreSQL an action may still have changed the appeal
    // since it was read, which the version check turns into a conflict the edit reports.
    let change = AppealChange { due_at: Set(due), updated_at: Set(now), ..Default::default() };
    let updated =
        match appeals::save_if_version(txn, appeal.id, appeal.version, change, Visibility::Public).await {
            Ok(updated) => updated,
            Err(crate::store::StoreError::NotFound) => {
                return Err(ServiceError::Conflict(format!(
                    "appeal {} changed while its deadline was recomputed; save the calendar again",
                    appeal.tracking_number
                )));
            }
            Err(other) => return Err(other.into()),
        };
    let data = serde_json::json!({
        "due_at": { "before": appeal.due_at, "after": due },
        "reason": "calendar_changed",
    });
    let event = events::append(txn, recorded(appeal, admin, Visibility::Public, now, data)).await?;
    let mut writes = Deferred::new();
    crate::services::reports::track(txn, &mut writes, agencies, &updated, &event).await?;
    crate::services::scheduler::plan_on(app, calendar, &mut writes, Some(appeal), &updated, now);
    tell_applicant(app, txn, &mut writes, agencies, &updated, &event).await?;
    writes.flush(txn).await?;
    Ok(())
}

/// The steps of `timeline` (oldest first) that set or moved the deadline, as the lifecycle
/// actions took them (services/appeals/actions.rs).
fn steps(timeline: &[Event]) -> Vec<DeadlineStep> {
    let awaiting = Status::AwaitingCitizen.as_str();
    let mut steps = Vec::new();
    for event in timeline {
        // Leaving "awaiting citizen" restarts the clock before the action's own change.
        if event.status_before == awaiting && event.status_after != awaiting {
            steps.push(DeadlineStep::Resume(event.at));
        }
        match event.action.as_str() {
            "file" | "contest" | "reopen" => steps.push(DeadlineStep::Start(event.at)),
            "forward" | "reroute" => steps.push(DeadlineStep::Forward(event.at)),
            "request_info" => steps.push(DeadlineStep::Pause(event.at)),
            "grant_extension" => {
                let data: serde_json::Value = serde_json::from_str(&event.data).unwrap_or_default();
                let days = data["days"].as_u64().and_then(|d| u32::try_from(d).ok()).unwrap_or(0);
                steps.push(DeadlineStep::Extend(days));
            }
            _ => {}
        }
    }
    steps
}
