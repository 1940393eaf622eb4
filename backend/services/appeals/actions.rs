//! The lifecycle actions staff and citizens take on an appeal. Each runs in one
//! transaction: authorize against the policy and the lifecycle table, check the version the
//! caller saw, change the appeal (compare-and-set on its version), append the event.

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseTransaction, Set};
use uuid::Uuid;

use super::{Directory, Seen, facts, see, stored_instant};
use crate::app::App;
use crate::domain::access::{self, ViewLevel, Viewer};
use crate::domain::deadline::{self, ExtensionRefused};
use crate::domain::lifecycle::{Action, DismissalReason, Outcome, Status, Transition, Visibility};
use crate::domain::submission::{AnswerText, MessageText, ReasonText};
use crate::services::{ServiceError, notices};
use crate::store::StoreError;
use crate::store::agencies::Agency;
use crate::store::appeals::{self, Appeal, AppealChange};
use crate::store::deferred::Deferred;
use crate::store::events::{self, NewEvent};
use crate::store::{counters, users};

/// One action with its (already parsed) details.
#[derive(Debug, Clone)]
pub enum Command {
    Take,
    Assign { assignee: Uuid },
    RequestInfo { message: MessageText },
    Reply { message: MessageText },
    Forward { agency: String, reason: ReasonText },
    Reroute { agency: String, reason: ReasonText },
    RequestExtension { days: u32, reason: ReasonText },
    GrantExtension { days: u32, reason: ReasonText },
    RefuseExtension { reason: ReasonText },
    Answer { outcome: Outcome, text: AnswerText },
    Dismiss { reason: DismissalReason, comment: ReasonText },
    Withdraw { reason: Option<ReasonText> },
    Contest { reason: ReasonText },
    Uphold { comment: ReasonText },
    Reopen { comment: ReasonText },
    Note { text: MessageText },
    Message { text: MessageText },
}

impl Command {
    pub fn action(&self) -> Action {
        match self {
            Command::Take => Action::Take,
            Command::Assign { .. } => Action::Assign,
            Command::RequestInfo { .. } => Action::RequestInfo,
            Command::Reply { .. } => Action::Reply,
            Command::Forward { .. } => Action::Forward,
            Command::Reroute { .. } => Action::Reroute,
            Command::RequestExtension { .. } => Action::RequestExtension,
            Command::GrantExtension { .. } => Action::GrantExtension,
            Command::RefuseExtension { .. } => Action::RefuseExtension,
            Command::Answer { .. } => Action::Answer,
            Command::Dismiss { .. } => Action::Dismiss,
            Command::Withdraw { .. } => Action::Withdraw,
            Command::Contest { .. } => Action::Contest,
            Command::Uphold { .. } => Action::Uphold,
            Command::Reopen { .. } => Action::Reopen,
            Command::Note { .. } => Action::Note,
            Command::Message { .. } => Action::Message,
        }
    }
}

/// Takes `command` on the appeal for `viewer`. `expected_version` is the version the caller
/// last saw (If-Match); a different current version is [`ServiceError::Stale`].
pub async fn act(
    app: &App,
    viewer: &Viewer,
    appeal_id: Uuid,
    expected_version: Option<i32>,
    command: Command,
) -> Result<Seen, ServiceError> {
    let txn = app.db.write().await?;
    let directory = Directory::load_in(&txn).await?;
    // Held from here to the commit: the version checked is the one the change replaces.
    let appeal = appeals::lock(&txn, app.db.backend(), appeal_id).await?.ok_or(ServiceError::NotFound)?;
    let ancestors = directory.ancestors(appeal.agency_id);
    let status: Status = appeal.status.parse().map_err(|_| ServiceError::NotFound)?;
    let facts = facts(&appeal, &ancestors);
    let transition = access::authorize(viewer, &facts, status, command.action())?;
    // The citizen's view counts only the changes the citizen sees (see `AppealView`).
    let current = match access::view_level(viewer, &facts) {
        Some(ViewLevel::Staff) => appeal.version,
        _ => appeal.public_version,
    };
    let expected = expected_version.ok_or(ServiceError::VersionRequired)?;
    if expected != current {
        return Err(ServiceError::Stale { current });
    }
    let now = stored_instant(app.clock.now());
    let (change, data) = apply(app, &txn, &directory, viewer, &appeal, &transition, &command, now).await?;
    let visibility = transition.visibility();
    let updated = match appeals::save_if_version(&txn, appeal.id, appeal.version, change, visibility).await {
        Ok(updated) => updated,
        // Cannot happen while the appeal is held; if it does, the caller reads it again.
        Err(StoreError::NotFound) => return Err(ServiceError::Stale { current }),
        Err(other) => return Err(other.into()),
    };
    // The appeal's row and its event are written now (a stale version or a moved chain must
    // stop the action); the rest follows in one go just before the commit.
    let mut writes = Deferred::new();
    crate::services::scheduler::plan(app, &mut writes, Some(&appeal), &updated, now);
    let (actor_id, actor_role) = actor(viewer);
    let event = events::append(
        &txn,
        NewEvent {
            appeal_id: appeal.id,
            at: now,
            actor_id,
            actor_role,
            action: transition.action.as_str().to_owned(),
            visibility: transition.visibility().as_str().to_owned(),
            status_before: transition.from.as_str().to_owned(),
            status_after: transition.to.as_str().to_owned(),
            data,
        },
    )
    .await?;
    crate::services::reports::track(&txn, &mut writes, directory.all(), &updated, &event).await?;
    if let Some(agency) = directory.get(updated.agency_id) {
        let previous = directory.get(appeal.agency_id).filter(|a| a.id != agency.id);
        notices::for_appeal_event(app, &txn, &mut writes, &updated, &event, agency, previous).await?;
    }
    writes.flush(&txn).await?;
    txn.commit().await?;
    let directory = Directory::load(app).await?;
    match see(app, &directory, viewer, updated.clone(), now) {
        Err(ServiceError::NotFound) => handed_over(app, &directory, viewer, &appeal, updated, now),
        seen => seen,
    }
}

/// What an official who forwarded (or rerouted) the appeal out of their reach sees: the
/// result of their own action, at the level they had before it, with nothing more they may
/// do. Their next read of the appeal is a 404 like any other agency's.
fn handed_over(
    app: &App,
    directory: &Directory,
    viewer: &Viewer,
    before: &Appeal,
    after: Appeal,
    now: DateTime<Utc>,
) -> Result<Seen, ServiceError> {
    let ancestors = directory.ancestors(before.agency_id);
    let level = access::view_level(viewer, &facts(before, &ancestors)).ok_or(ServiceError::NotFound)?;
    let agency = directory.get(after.agency_id).cloned().ok_or(ServiceError::NotFound)?;
    let deadline_state = super::deadline_state(app, (&after).into(), now);
    Ok(Seen { appeal: after, agency, level, allowed: Vec::new(), deadline_state })
}

/// The change to the appeal's row and the event's details.
#[allow(clippy::too_many_arguments)]
async fn apply(
    app: &App,
    txn: &DatabaseTransaction,
    directory: &Directory,
    viewer: &Viewer,
    appeal: &Appeal,
    transition: &Transition,
    command: &Command,
    now: DateTime<Utc>,
) -> Result<(AppealChange, serde_json::Value), ServiceError> {
    let jurisdiction = &app.jurisdiction;
    let policy = jurisdiction.policy(&appeal.deadline_policy, &app.settings.appeals.default_policy);
    let current = jurisdiction.calendar.current();
    let calendar = &*current;
    let mut change = AppealChange {
        updated_at: Set(now),
        status: Set(transition.to.as_str().to_owned()),
        ..Default::default()
    };
    // Leaving "awaiting citizen" restarts a paused clock, moved by exactly the pause.
    if transition.from == Status::AwaitingCitizen
        && transition.to != Status::AwaitingCitizen
        && let Some(paused_at) = appeal.paused_at
    {
        change.due_at = Set(stored_instant(deadline::due_after_pause(policy, appeal.due_at, paused_at, now)));
        change.paused_at = Set(None);
    }
    let data = match command {
        Command::Take => {
            let (id, _) = actor(viewer);
            change.assignee_id = Set(id);
            serde_json::json!({ "assignee": { "before": appeal.assignee_id, "after": id } })
        }
        Command::Assign { assignee } => {
            let user = users::by_id(txn, *assignee).await?;
            let fits = user.as_ref().is_some_and(|u| {
                !u.disabled
                    && u.agency_id == Some(appeal.agency_id)
                    && (u.role == "official" || u.role == "supervisor")
            });
            if !fits {
                return Err(
                    crate::domain::field::FieldError::unknown("assignee", "official of this agency").into()
                );
            }
            change.assignee_id = Set(Some(*assignee));
            serde_json::json!({ "assignee": { "before": appeal.assignee_id, "after": assignee } })
        }
        Command::RequestInfo { message } => {
            if policy.pause_while_awaiting_citizen {
                change.paused_at = Set(Some(now));
            }
            let reply_due = deadline::citizen_reply_due_at(policy, calendar, now);
            serde_json::json!({ "message": message.as_str(), "reply_due_at": reply_due })
        }
        Command::Reply { message } => serde_json::json!({ "message": message.as_str() }),
        Command::Forward { agency, reason } | Command::Reroute { agency, reason } => {
            let target = directory
                .by_code(agency)
                .filter(|a| a.active && a.id != appeal.agency_id)
                .ok_or_else(|| crate::domain::field::FieldError::unknown("agency", "other active agency"))?;
            let due = stored_instant(deadline::due_after_forwarding(policy, calendar, appeal.due_at, now));
            let registration = register_at(app, txn, target, now).await?;
            change.agency_id = Set(target.id);
            change.assignee_id = Set(None);
            change.due_at = Set(due);
            change.paused_at = Set(None);
            change.registration_number = Set(Some(registration.clone()));
            let from = directory.get(appeal.agency_id).map(|a| a.code.clone());
            serde_json::json!({
                "agency": { "before": from, "after": target.code },
                "reason": reason.as_str(),
                "registration_number": { "before": appeal.registration_number, "after": registration },
                "due_at": { "before": appeal.due_at, "after": due },
            })
        }
        Command::RequestExtension { days, reason } => {
            check_extension(policy, calendar, appeal, *days, now)?;
            serde_json::json!({ "days": days, "reason": reason.as_str() })
        }
        Command::GrantExtension { days, reason } => {
            let due = check_extension(policy, calendar, appeal, *days, now)?;
            change.due_at = Set(due);
            change.extensions_granted = Set(appeal.extensions_granted + 1);
            serde_json::json!({ "days": days, "reason": reason.as_str(), "due_at": { "before": appeal.due_at, "after": due } })
        }
        Command::RefuseExtension { reason } => serde_json::json!({ "reason": reason.as_str() }),
        Command::Answer { outcome, text } => {
            change.outcome = Set(Some(outcome.as_str().to_owned()));
            change.answer_text = Set(Some(text.as_str().to_owned()));
            change.answered_at = Set(Some(now));
            let contest_until = deadline::contest_window_closes_at(policy, calendar, now);
            serde_json::json!({ "outcome": outcome.as_str(), "text": text.as_str(), "contest_until": contest_until })
        }
        Command::Dismiss { reason, comment } => {
            change.dismissal_reason = Set(Some(reason.as_str().to_owned()));
            change.closed_at = Set(Some(now));
            serde_json::json!({ "reason": reason.as_str(), "comment": comment.as_str() })
        }
        Command::Withdraw { reason } => {
            change.closed_at = Set(Some(now));
            serde_json::json!({ "reason": reason.as_ref().map(|r| r.as_str()) })
        }
        Command::Contest { reason } => {
            let answered_at = appeal.answered_at.unwrap_or(appeal.updated_at);
            let closes = deadline::contest_window_closes_at(policy, calendar, answered_at);
            if now > closes {
                return Err(ServiceError::Conflict(format!(
                    "the window to contest this answer closed at {closes}"
                )));
            }
            // A contest is a complaint about the answer: its review has a period of its own,
            // counted from now, as a new appeal's would be (the answer met or missed the old).
            let due = stored_instant(deadline::due_at(policy, calendar, now));
            change.due_at = Set(due);
            serde_json::json!({ "reason": reason.as_str(), "due_at": { "before": appeal.due_at, "after": due } })
        }
        Command::Uphold { comment } => {
            change.closed_at = Set(Some(now));
            serde_json::json!({ "comment": comment.as_str() })
        }
        Command::Reopen { comment } => {
            // The agency answers again, in a new period from now: it could not have given
            // the better answer before the citizen contested the first.
            let due = stored_instant(deadline::due_at(policy, calendar, now));
            change.due_at = Set(due);
            serde_json::json!({ "comment": comment.as_str(), "due_at": { "before": appeal.due_at, "after": due } })
        }
        Command::Note { text } | Command::Message { text } => serde_json::json!({ "text": text.as_str() }),
    };
    Ok((change, data))
}

/// The new due time an extension of `days` asked for at `now` would give, or why it may not
/// be granted. A paused clock stands where it stopped.
fn check_extension(
    policy: &crate::domain::deadline::DeadlinePolicy,
    calendar: &crate::domain::calendar::BusinessCalendar,
    appeal: &Appeal,
    days: u32,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ServiceError> {
    let granted = u32::try_from(appeal.extensions_granted).unwrap_or(u32::MAX);
    let clock_at = appeal.paused_at.unwrap_or(now);
    match deadline::extend(policy, calendar, appeal.due_at, days, granted, clock_at) {
        Ok(due) => Ok(stored_instant(due)),
        Err(refused @ (ExtensionRefused::NoDays | ExtensionRefused::TooLong { .. })) => {
            Err(crate::domain::field::FieldError::new("days", "out_of_range", refused.to_string()).into())
        }
        Err(refused) => Err(ServiceError::Conflict(refused.to_string())),
    }
}

/// Registers the appeal at `agency`: its next registration number for the year.
async fn register_at(
    app: &App,
    txn: &DatabaseTransaction,
    agency: &Agency,
    now: DateTime<Utc>,
) -> Result<String, ServiceError> {
    use chrono::Datelike;
    let year = app.jurisdiction.calendar.current().local_date(now).year();
    let sequence = counters::next_registration(txn, agency.id, year).await?;
    Ok(crate::domain::tracking::format_registration_number(&agency.code, year, sequence as u64))
}

/// Why an account's open appeals went back to their agencies' queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// The account was disabled.
    AccountDisabled,
    /// The account now belongs to another agency.
    AgencyChanged,
    /// The account is no longer an official's or a supervisor's.
    RoleChanged,
}

impl Release {
    pub const fn as_str(self) -> &'static str {
        match self {
            Release::AccountDisabled => "account_disabled",
            Release::AgencyChanged => "agency_changed",
            Release::RoleChanged => "role_changed",
        }
    }
}

/// Unassigns the appeals assigned to `user` that are not closed for good and that `keep`
/// does not keep, in `txn` (the account change that makes them unworkable): each goes back
/// to its agency's queue, where any official may take it, with an internal `unassign` event
/// by `admin` naming `reason`. Left assigned, they would wait for someone who can no longer
/// open them, and their reminders and overdue alerts would go to that person instead of the
/// agency; an answered appeal too, as the citizen may still contest it and a supervisor
/// reopen it. Returns how many were unassigned.
pub(crate) async fn release_assigned(
    app: &App,
    txn: &DatabaseTransaction,
    admin: Uuid,
    user: Uuid,
    keep: impl Fn(&Appeal) -> bool,
    reason: Release,
    now: DateTime<Utc>,
) -> Result<u64, ServiceError> {
    let now = stored_instant(now);
    let live: Vec<&str> = Status::ALL.iter().filter(|s| !s.is_terminal()).map(|s| s.as_str()).collect();
    let mut released = 0;
    for found in appeals::assigned_to(txn, user, &live).await? {
        // Held from here to the commit, so a concurrent action takes its turn after this.
        let Some(appeal) = appeals::lock(txn, app.db.backend(), found.id).await? else { continue };
        if appeal.assignee_id != Some(user) || keep(&appeal) {
            continue;
        }
        let change = AppealChange { assignee_id: Set(None), updated_at: Set(now), ..Default::default() };
        appeals::save_if_version(txn, appeal.id, appeal.version, change, Visibility::Internal).await?;
        let data = serde_json::json!({
            "assignee": { "before": user, "after": null },
            "reason": reason.as_str(),
        });
        events::append(txn, super::admin_event(&appeal, admin, "unassign", Visibility::Internal, data, now))
            .await?;
        released += 1;
    }
    Ok(released)
}

/// Who acts, as recorded in the event.
pub(crate) fn actor(viewer: &Viewer) -> (Option<Uuid>, String) {
    match viewer {
        Viewer::User(user) => (Some(user.id), user.role.as_str().to_owned()),
        Viewer::Guest(_) => (None, "guest".to_owned()),
        Viewer::System => (None, "system".to_owned()),
    }
}
