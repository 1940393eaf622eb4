//! The staff queue: an official's agency, a supervisor's agency and its sub-agencies,
//! sorted by deadline and filtered as the work needs.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Directory, Seen, see, viewer_of};
use crate::app::App;
use crate::domain::appeal::AppealKind;
use crate::domain::deadline::{DeadlinePolicy, DeadlineState};
use crate::domain::lifecycle::Status;
use crate::domain::role::Role;
use crate::services::{Caller, ServiceError};
use crate::store::appeals::{self, AssigneeFilter, DueWindow, QueueOrder, QueueQuery, QueueRow};

/// Which deadline state to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadlineFilter {
    Overdue,
    DueSoon,
    OnTime,
}

/// Who the appeals are assigned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignee {
    Me,
    Unassigned,
    User(Uuid),
}

/// The queue's filters, as the caller asks for them.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// Empty means every open status.
    pub statuses: Vec<Status>,
    pub assignee: Option<Assignee>,
    pub categories: Vec<String>,
    pub territories: Vec<String>,
    pub kinds: Vec<AppealKind>,
    pub deadline: Option<DeadlineFilter>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_until: Option<DateTime<Utc>>,
    pub text: Option<String>,
    pub order: QueueOrder,
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: u64,
}

/// One page of the caller's queue.
pub async fn queue(
    app: &App,
    caller: &Caller,
    filter: QueueFilter,
) -> Result<Vec<Seen<QueueRow>>, ServiceError> {
    let agency = match (caller.role, caller.agency_id) {
        (Role::Official | Role::Supervisor, Some(agency)) => agency,
        _ => return Err(ServiceError::Forbidden),
    };
    let directory = Directory::load(app).await?;
    let agencies = if caller.role == Role::Supervisor { directory.subtree(agency) } else { vec![agency] };
    let now = app.clock.now();
    let statuses = if filter.statuses.is_empty() {
        Status::ALL.iter().filter(|s| s.is_open()).map(|s| s.as_str().to_owned()).collect()
    } else {
        filter.statuses.iter().map(|s| s.as_str().to_owned()).collect()
    };
    // The states' boundaries under each policy, in working days on the current calendar, as
    // each row's `deadline_state` counts them; an appeal under a policy no longer configured
    // is measured by the default one, as its row is. A paused appeal's row is measured at its
    // pause; the filter measures it now.
    let due = match filter.deadline {
        None => Vec::new(),
        Some(wanted) => {
            let calendar = app.jurisdiction.calendar.current();
            let default = &app.settings.appeals.default_policy;
            let window = |policy: &DeadlinePolicy, name: Option<String>| {
                let (due_soon_from, on_time_from) = DeadlineState::boundaries(policy, &calendar, now);
                let (from, until) = match wanted {
                    DeadlineFilter::Overdue => (None, Some(due_soon_from)),
                    DeadlineFilter::DueSoon => (Some(due_soon_from), Some(on_time_from)),
                    DeadlineFilter::OnTime => (Some(on_time_from), None),
                };
                DueWindow { policy: name, from, until }
            };
            let mut windows: Vec<DueWindow> = app
                .jurisdiction
                .policies
                .iter()
                .filter(|p| p.name != *default)
                .map(|p| window(p, Some(p.name.clone())))
                .collect();
            windows.push(window(app.jurisdiction.policy(default, default), None));
            windows
        }
    };
    let query = QueueQuery {
        agencies,
        statuses,
        assignee: filter.assignee.map(|a| match a {
            Assignee::Me => AssigneeFilter::User(caller.id),
            Assignee::Unassigned => AssigneeFilter::Unassigned,
            Assignee::User(id) => AssigneeFilter::User(id),
        }),
        categories: filter.categories,
        territories: filter.territories,
        kinds: filter.kinds.iter().map(|k| k.as_str().to_owned()).collect(),
        due,
        created_from: filter.created_from,
        created_until: filter.created_until,
        text: filter.text,
        order: filter.order,
        after: filter.after,
        limit: filter.limit,
    };
    let rows = appeals::queue(app.db.conn(), app.db.backend(), &query).await?;
    let viewer = viewer_of(caller);
    rows.into_iter().map(|row| see(app, &directory, &viewer, row, now)).collect()
}
