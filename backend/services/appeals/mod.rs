//! Appeals: filing, the lifecycle actions, reads and the staff queue. Every read and action
//! goes through the access policy in `domain::access`; a viewer who may not see an appeal
//! gets "not found", never "forbidden".

pub mod actions;
pub mod attachments;
pub mod filing;
pub mod queue;
pub mod reads;
pub mod recompute;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::cache::Cached;
use super::{Caller, ServiceError};
use crate::app::App;
use crate::domain::access::{self, AppealFacts, Denial, User, ViewLevel, Viewer};
use crate::domain::deadline::DeadlineState;
use crate::domain::lifecycle::{Action, Status, allowed_actions};
use crate::store::agencies::{self, Agency};
use crate::store::appeals::{Appeal, QueueRow};

/// An appeal (its whole row, or the queue's [`QueueRow`]) as one viewer may see it.
#[derive(Debug, Clone)]
pub struct Seen<A = Appeal> {
    pub appeal: A,
    pub agency: Agency,
    pub level: ViewLevel,
    /// What this viewer may do next.
    pub allowed: Vec<Action>,
    pub deadline_state: DeadlineState,
}

/// The agency hierarchy (it is small and read on every request that shows an appeal).
pub(crate) struct Directory {
    agencies: Arc<[Agency]>,
}

/// The agency hierarchy as last read by this process (see [`crate::services::cache`]).
pub type DirectoryCache = Cached<[Agency]>;

impl Directory {
    /// The hierarchy from this process's cache, read through the pool when it is stale.
    pub(crate) async fn load(app: &App) -> Result<Self, ServiceError> {
        Self::cached(app, app.db.conn()).await
    }

    /// The hierarchy from this process's cache, read through `db` when it is stale: inside a
    /// write transaction, pass the transaction (see [`Directory::load_in`]).
    pub(crate) async fn cached(app: &App, db: &impl sea_orm::ConnectionTrait) -> Result<Self, ServiceError> {
        let agencies =
            app.directory.get_or_load(app, async { Self::load_in(db).await.map(|d| d.agencies) }).await?;
        Ok(Self { agencies })
    }

    /// The hierarchy as `db` sees it now, never from the cache: for a change that must not
    /// act on a stale hierarchy. Inside a write transaction, pass the transaction, so the work
    /// does not wait for a second pooled connection while holding the first (a pool of N
    /// connections would otherwise deadlock under N concurrent writers on SQLite).
    pub(crate) async fn load_in(db: &impl sea_orm::ConnectionTrait) -> Result<Self, ServiceError> {
        Ok(Self { agencies: agencies::all(db).await?.into() })
    }

    pub(crate) fn get(&self, id: Uuid) -> Option<&Agency> {
        self.agencies.iter().find(|a| a.id == id)
    }

    pub(crate) fn by_code(&self, code: &str) -> Option<&Agency> {
        self.agencies.iter().find(|a| a.code == code)
    }

    /// Every agency.
    pub(crate) fn all(&self) -> &[Agency] {
        &self.agencies
    }

    /// Every ancestor of `id`, nearest first.
    pub(crate) fn ancestors(&self, id: Uuid) -> Vec<Uuid> {
        let mut found = Vec::new();
        let mut current = self.get(id).and_then(|a| a.parent_id);
        while let Some(parent) = current {
            if found.contains(&parent) {
                break;
            }
            found.push(parent);
            current = self.get(parent).and_then(|a| a.parent_id);
        }
        found
    }

    /// `root` and everything below it.
    pub(crate) fn subtree(&self, root: Uuid) -> Vec<Uuid> {
        agencies::descendants(&self.agencies, root)
    }
}

/// The access-policy viewer for a signed-in caller.
pub fn viewer_of(caller: &Caller) -> Viewer {
    Viewer::User(User { id: caller.id, role: caller.role, agency: caller.agency_id })
}

/// What the access policy and the deadline state need of an appeal, from its whole row or
/// from the queue's summary of it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Core<'a> {
    pub id: Uuid,
    pub owner: Option<Uuid>,
    pub agency_id: Uuid,
    pub assignee_id: Option<Uuid>,
    pub status: &'a str,
    pub deadline_policy: &'a str,
    pub due_at: DateTime<Utc>,
    pub paused_at: Option<DateTime<Utc>>,
}

/// `Core` of a row type with the appeal's columns under their own names.
macro_rules! core_of {
    ($row:ty) => {
        impl<'a> From<&'a $row> for Core<'a> {
            fn from(a: &'a $row) -> Self {
                Core {
                    id: a.id,
                    owner: a.citizen_id,
                    agency_id: a.agency_id,
                    assignee_id: a.assignee_id,
                    status: &a.status,
                    deadline_policy: &a.deadline_policy,
                    due_at: a.due_at,
                    paused_at: a.paused_at,
                }
            }
        }
    };
}

core_of!(Appeal);
core_of!(QueueRow);

/// What the access policy needs to know about an appeal.
pub(crate) fn facts<'a>(appeal: &Appeal, ancestors: &'a [Uuid]) -> AppealFacts<'a> {
    facts_of(appeal.into(), ancestors)
}

fn facts_of<'a>(core: Core<'_>, ancestors: &'a [Uuid]) -> AppealFacts<'a> {
    AppealFacts {
        id: core.id,
        owner: core.owner,
        agency: core.agency_id,
        agency_ancestors: ancestors,
        assignee: core.assignee_id,
    }
}

/// Decides what `viewer` sees of `appeal` (a whole row or a queue row); `NotFound` when
/// nothing.
pub(crate) fn see<A>(
    app: &App,
    directory: &Directory,
    viewer: &Viewer,
    appeal: A,
    now: DateTime<Utc>,
) -> Result<Seen<A>, ServiceError>
where
    for<'a> &'a A: Into<Core<'a>>,
{
    let core: Core = (&appeal).into();
    let ancestors = directory.ancestors(core.agency_id);
    let facts = facts_of(core, &ancestors);
    let level = access::view_level(viewer, &facts).ok_or(ServiceError::NotFound)?;
    let status: Status = core.status.parse().map_err(|_| ServiceError::NotFound)?;
    let allowed = match access::actor_kind(viewer, &facts) {
        Some(actor) => {
            allowed_actions(status, actor).into_iter().filter(|a| access::may(viewer, &facts, *a)).collect()
        }
        None => Vec::new(),
    };
    let agency = directory.get(core.agency_id).cloned().ok_or(ServiceError::NotFound)?;
    let deadline_state = deadline_state(app, core, now);
    Ok(Seen { appeal, agency, level, allowed, deadline_state })
}

/// Whether the appeal is on time, due soon or overdue now, under its own policy.
pub(crate) fn deadline_state(app: &App, appeal: Core<'_>, now: DateTime<Utc>) -> DeadlineState {
    let jurisdiction = &app.jurisdiction;
    let policy = jurisdiction.policy(appeal.deadline_policy, &app.settings.appeals.default_policy);
    // A paused clock does not run out: measure as if it were still the moment of pausing.
    let at = appeal.paused_at.unwrap_or(now);
    DeadlineState::at(policy, &jurisdiction.calendar.current(), appeal.due_at, at)
}

impl From<Denial> for ServiceError {
    fn from(denial: Denial) -> Self {
        match denial {
            Denial::NotFound => ServiceError::NotFound,
            Denial::Forbidden(_) => ServiceError::Forbidden,
            Denial::Refused(refusal) => ServiceError::Refused {
                status: refusal.status.as_str().to_owned(),
                action: refusal.action.as_str().to_owned(),
                allowed: refusal.allowed.iter().map(|a| a.as_str().replace('_', "-")).collect(),
            },
        }
    }
}

/// An event an administrator's change records on the appeal without changing its status
/// (an assignee released, a deadline moved by a calendar edit).
pub(crate) fn admin_event(
    appeal: &Appeal,
    admin: Uuid,
    action: &str,
    visibility: crate::domain::lifecycle::Visibility,
    data: serde_json::Value,
    now: DateTime<Utc>,
) -> crate::store::events::NewEvent {
    crate::store::events::NewEvent {
        appeal_id: appeal.id,
        at: now,
        actor_id: Some(admin),
        actor_role: crate::domain::role::Role::Admin.as_str().to_owned(),
        action: action.to_owned(),
        visibility: visibility.as_str().to_owned(),
        status_before: appeal.status.clone(),
        status_after: appeal.status.clone(),
        data,
    }
}

/// Instants are stored with microsecond precision on every backend; truncating before use
/// keeps what is hashed and compared equal to what is read back.
pub(crate) fn stored_instant(instant: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::SubsecRound;
    instant.trunc_subsecs(6)
}
