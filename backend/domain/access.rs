//! The access policy: who may see and do what to which appeal. One pure decision that every
//! service calls before it reads or changes an appeal; nothing else decides access.
//!
//! The rules:
//! - A citizen sees only their own appeals, and a guest only the one appeal whose access
//!   code they presented. Both act as the lifecycle's `citizen_owner`.
//! - An official sees their own agency's appeals; a supervisor their agency's and every
//!   sub-agency's (the appeal's agency or one of its ancestors is the supervisor's agency).
//! - Ownership comes first: a member of staff who filed an appeal sees it only as its owner
//!   and can never work it.
//! - An official may do the working steps (take, assign, ask for information, forward,
//!   request an extension, answer, dismiss) only on an appeal that is unassigned or assigned
//!   to them; notes and messages are open to every official of the agency. Supervisors may
//!   do everything the lifecycle gives them, whoever the assignee is.
//! - An administrator configures the system and never reads appeal content.
//! - The scheduler acts as [`Viewer::System`] and may run only the system's actions.
//!
//! A viewer who may not see an appeal must get a 404, never a 403, so its existence does not
//! leak: [`view_level`] returns `None` exactly then, and [`authorize`] returns
//! [`Denial::NotFound`].

use uuid::Uuid;

use super::lifecycle::{self, Action, ActorKind, Refusal, Status, Transition};
use super::role::Role;
use super::tracking::{AccessCode, AccessCodeHash};

/// A signed-in user, as the access policy needs to know them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct User {
    pub id: Uuid,
    pub role: Role,
    /// The agency a member of staff belongs to; `None` for citizens and administrators. A
    /// member of staff without an agency sees no appeals.
    pub agency: Option<Uuid>,
}

/// Proof that a guest presented the right access code for one appeal. It can only be made
/// by [`GuestPass::verify`], so holding one means the code was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestPass {
    appeal: Uuid,
}

impl GuestPass {
    /// Checks `presented` against the hash stored for `appeal` (in constant time) and, when it
    /// matches, returns a pass for that appeal only.
    pub fn verify(appeal: Uuid, stored: &AccessCodeHash, presented: &AccessCode) -> Option<Self> {
        stored.matches(presented).then_some(Self { appeal })
    }

    /// The one appeal this pass opens.
    pub fn appeal(&self) -> Uuid {
        self.appeal
    }
}

/// Whoever is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    User(User),
    Guest(GuestPass),
    /// The scheduler and other background work.
    System,
}

/// The facts about an appeal that access depends on, as loaded by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppealFacts<'a> {
    pub id: Uuid,
    /// The citizen account that owns the appeal; `None` for guest and anonymous appeals.
    pub owner: Option<Uuid>,
    /// The agency that currently handles the appeal.
    pub agency: Uuid,
    /// Every ancestor of `agency` in the agency hierarchy (order does not matter).
    pub agency_ancestors: &'a [Uuid],
    /// The member of staff the appeal is assigned to, if any.
    pub assignee: Option<Uuid>,
}

/// How much of an appeal a viewer may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ViewLevel {
    /// The owner's view: the appeal, the applicant's own details and public events only.
    Public,
    /// The staff view: everything, including internal notes and events.
    Staff,
}

/// Something a viewer wants to do with an appeal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    ReadPublic,
    /// Read internal notes and events.
    ReadStaff,
    Act(Action),
}

/// Why an action is not allowed, in the order a service checks it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    /// The viewer may not see the appeal at all: answer 404, as if it did not exist.
    #[error("no such appeal")]
    NotFound,
    /// The viewer sees the appeal but may never take this action on it (wrong role, or an
    /// official acting on a colleague's appeal): answer 403.
    #[error("you may not {0} this appeal")]
    Forbidden(Action),
    /// The action is theirs to take, but not in the appeal's current status: answer 409.
    #[error(transparent)]
    Refused(#[from] Refusal),
}

/// The lifecycle actor the viewer is for this appeal, or `None` when they may not see it.
pub fn actor_kind(viewer: &Viewer, appeal: &AppealFacts<'_>) -> Option<ActorKind> {
    match viewer {
        Viewer::System => Some(ActorKind::System),
        Viewer::Guest(pass) => (pass.appeal == appeal.id).then_some(ActorKind::CitizenOwner),
        Viewer::User(user) if appeal.owner == Some(user.id) => Some(ActorKind::CitizenOwner),
        Viewer::User(user) => {
            let agency = user.agency?;
            match user.role {
                Role::Official if agency == appeal.agency => Some(ActorKind::Official),
                Role::Supervisor if agency == appeal.agency || appeal.agency_ancestors.contains(&agency) => {
                    Some(ActorKind::Supervisor)
                }
                _ => None,
            }
        }
    }
}

/// How much of the appeal the viewer may see; `None` means "answer 404".
pub fn view_level(viewer: &Viewer, appeal: &AppealFacts<'_>) -> Option<ViewLevel> {
    match actor_kind(viewer, appeal)? {
        ActorKind::CitizenOwner => Some(ViewLevel::Public),
        ActorKind::Official | ActorKind::Supervisor | ActorKind::System => Some(ViewLevel::Staff),
        // `actor_kind` never yields Admin; were it to, an administrator still reads nothing.
        ActorKind::Admin => None,
    }
}

/// Whether the viewer may ever take `action` on this appeal, whatever its status: they see
/// it, their lifecycle actor kind has the action somewhere in the table, and the assignee
/// rule lets them. Whether the current status allows it is [`lifecycle::transition`]'s call.
pub fn may(viewer: &Viewer, appeal: &AppealFacts<'_>, action: Action) -> bool {
    let Some(actor) = actor_kind(viewer, appeal) else {
        return false;
    };
    if !lifecycle::ever_allowed(action, actor) {
        return false;
    }
    match (actor, viewer) {
        (ActorKind::Official, Viewer::User(user)) if is_working_step(action) => {
            appeal.assignee.is_none_or(|assignee| assignee == user.id)
        }
        _ => true,
    }
}

/// Steps that belong to whoever works the appeal, as opposed to notes and messages.
const fn is_working_step(action: Action) -> bool {
    !matches!(action, Action::Note | Action::Message)
}

/// The one question every service asks: may this viewer do `what` with this appeal?
pub fn allowed(viewer: &Viewer, appeal: &AppealFacts<'_>, what: What) -> bool {
    match what {
        What::ReadPublic => view_level(viewer, appeal).is_some(),
        What::ReadStaff => view_level(viewer, appeal) == Some(ViewLevel::Staff),
        What::Act(action) => may(viewer, appeal, action),
    }
}

/// Access and lifecycle in one call, for services that change an appeal: the permitted
/// [`Transition`], or why not (404, 403 or 409, see [`Denial`]).
pub fn authorize(
    viewer: &Viewer,
    appeal: &AppealFacts<'_>,
    status: Status,
    action: Action,
) -> Result<Transition, Denial> {
    let actor = actor_kind(viewer, appeal).ok_or(Denial::NotFound)?;
    if !may(viewer, appeal, action) {
        return Err(Denial::Forbidden(action));
    }
    Ok(lifecycle::transition(status, action, actor)?)
}

#[cfg(test)]
mod tests;
