//! The lifecycle of an appeal as one table: which actor may take which action in which
//! status, and what status follows.
//!
//! # Statuses
//!
//! | status             | open | meaning                                                        |
//! |--------------------|------|----------------------------------------------------------------|
//! | `registered`       | yes  | filed (or forwarded/rerouted) and registered at an agency; nobody works it yet |
//! | `in_progress`      | yes  | taken or assigned; an official works it                        |
//! | `awaiting_citizen` | yes  | the official asked the citizen for information                 |
//! | `contested`        | yes  | the citizen contested the answer; a supervisor reviews it      |
//! | `answered`         | no   | a final answer was given; the citizen may still contest it     |
//! | `dismissed`        | no   | left without consideration, with a lawful [`DismissalReason`]  |
//! | `withdrawn`        | no   | withdrawn by the citizen                                       |
//! | `closed`           | no   | final: the contest window passed, a supervisor upheld a contested answer, the citizen withdrew a contest, or the citizen did not answer a request in time |
//!
//! There is deliberately no `forwarded` status. Forwarding (and a supervisor's reroute)
//! registers the appeal anew at the receiving agency, so the appeal goes back to
//! `registered` there; the forwarding itself is a public event on the timeline. This keeps
//! one tracking number for the citizen and one queue state ("registered, not yet taken") for
//! the receiving agency. [`Action::moves_agency`] tells services when to re-register.
//!
//! # The table
//!
//! [`RULES`] is the whole lifecycle; `lifecycle/tests.rs` repeats it as an expected grid and
//! walks every (status, action, actor) triple, so a change is a one-line diff in both.
//! What the table does not decide: time windows (the contest window, abandonment), the
//! one-extension limit and deadline dates (the deadline module), and who among staff may act
//! on a particular appeal (assignee and agency rules live in [`super::access`]).

use super::appeal::vocabulary;
use super::locale::Locale;

vocabulary! {
    /// Where an appeal is in its lifecycle. See the module documentation for the full set.
    Status {
        Registered = "registered",
        InProgress = "in_progress",
        AwaitingCitizen = "awaiting_citizen",
        Answered = "answered",
        Dismissed = "dismissed",
        Withdrawn = "withdrawn",
        Contested = "contested",
        Closed = "closed",
    }
}

impl Status {
    /// The status every new appeal starts in.
    pub const INITIAL: Status = Status::Registered;

    /// Whether the agency still owes work on the appeal: it is in the open queue and its
    /// deadline is watched. `answered` is not open (the agency's work is done), although the
    /// citizen may still contest it.
    pub const fn is_open(self) -> bool {
        matches!(self, Status::Registered | Status::InProgress | Status::AwaitingCitizen | Status::Contested)
    }

    /// Whether no lifecycle action can ever change this status again.
    pub const fn is_terminal(self) -> bool {
        matches!(self, Status::Dismissed | Status::Withdrawn | Status::Closed)
    }

    /// The status's name as a person reads it, in `locale`.
    pub const fn title(self, locale: Locale) -> &'static str {
        use Locale::*;
        use Status::*;
        match (self, locale) {
            (Registered, Tg) => "Ба қайд гирифта шуд",
            (Registered, Ru) => "Зарегистрировано",
            (Registered, En) => "Registered",
            (InProgress, Tg) => "Дар баррасӣ",
            (InProgress, Ru) => "На рассмотрении",
            (InProgress, En) => "In progress",
            (AwaitingCitizen, Tg) => "Интизори маълумот аз муроҷиаткунанда",
            (AwaitingCitizen, Ru) => "Ожидает сведений от заявителя",
            (AwaitingCitizen, En) => "Awaiting information from the applicant",
            (Answered, Tg) => "Ҷавоб дода шуд",
            (Answered, Ru) => "Дан ответ",
            (Answered, En) => "Answered",
            (Dismissed, Tg) => "Бе баррасӣ гузошта шуд",
            (Dismissed, Ru) => "Оставлено без рассмотрения",
            (Dismissed, En) => "Left without consideration",
            (Withdrawn, Tg) => "Бозхонда шуд",
            (Withdrawn, Ru) => "Отозвано",
            (Withdrawn, En) => "Withdrawn",
            (Contested, Tg) => "Аз ҷавоб шикоят шудааст",
            (Contested, Ru) => "Ответ обжалован",
            (Contested, En) => "Answer contested",
            (Closed, Tg) => "Пӯшида шуд",
            (Closed, Ru) => "Закрыто",
            (Closed, En) => "Closed",
        }
    }
}

vocabulary! {
    /// A step in the lifecycle. Each is a `POST /appeals/{id}/actions/{name}` (with `_`
    /// written as `-` in the URL) or, for `close` and `abandon`, a scheduled job.
    Action {
        /// An official takes an unassigned appeal for themselves.
        Take = "take",
        /// Assign (or reassign) the appeal to a member of staff.
        Assign = "assign",
        /// Ask the citizen for more information.
        RequestInfo = "request_info",
        /// The citizen answers a request for information.
        Reply = "reply",
        /// Send the appeal to the competent agency, with a reason.
        Forward = "forward",
        /// An official asks a supervisor to extend the deadline.
        RequestExtension = "request_extension",
        /// A supervisor extends the deadline (the citizen is told why).
        GrantExtension = "grant_extension",
        /// A supervisor declines a requested extension.
        RefuseExtension = "refuse_extension",
        /// The final answer, with an [`Outcome`].
        Answer = "answer",
        /// Leave without consideration, with a [`DismissalReason`].
        Dismiss = "dismiss",
        /// The citizen withdraws the appeal (or, while contested, the contest).
        Withdraw = "withdraw",
        /// The citizen contests the answer; a supervisor reviews it.
        Contest = "contest",
        /// A supervisor upholds a contested answer; the appeal closes.
        Uphold = "uphold",
        /// A supervisor reopens a contested appeal for a new review round.
        Reopen = "reopen",
        /// An internal note by staff; never shown to the citizen.
        Note = "note",
        /// A public message between the citizen and staff.
        Message = "message",
        /// A supervisor re-routes the appeal to another agency by hand.
        Reroute = "reroute",
        /// System: the citizen did not answer a request for information in time.
        Abandon = "abandon",
        /// System: the contest window after an answer has passed.
        Close = "close",
    }
}

impl Action {
    /// Whether the event this action records is shown to the citizen when it leaves the
    /// status unchanged. A transition that changes the status is always public (see
    /// [`Transition::visibility`]), so the citizen can see why their status changed.
    pub const fn visibility(self) -> Visibility {
        match self {
            Action::Assign | Action::Note | Action::RequestExtension | Action::RefuseExtension => {
                Visibility::Internal
            }
            _ => Visibility::Public,
        }
    }

    /// Whether the action moves the appeal to another agency, so the service must register it
    /// there anew (new registration number, no assignee, a new deadline).
    pub const fn moves_agency(self) -> bool {
        matches!(self, Action::Forward | Action::Reroute)
    }
}

vocabulary! {
    /// Who acts, as far as the lifecycle table is concerned. [`super::access`] maps a viewer
    /// and an appeal to one of these; a guest holding the appeal's access code acts as the
    /// `citizen_owner`.
    ActorKind {
        CitizenOwner = "citizen_owner",
        Official = "official",
        Supervisor = "supervisor",
        Admin = "admin",
        System = "system",
    }
}

vocabulary! {
    /// Who may see an event on the timeline.
    Visibility {
        /// The citizen (and anyone with the public view) sees it.
        Public = "public",
        /// Only staff see it.
        Internal = "internal",
    }
}

vocabulary! {
    /// The substance of a final answer.
    Outcome {
        Satisfied = "satisfied",
        PartlySatisfied = "partly_satisfied",
        Rejected = "rejected",
        Explained = "explained",
    }
}

impl Outcome {
    /// The outcome's name as a person reads it, in `locale`.
    pub const fn title(self, locale: Locale) -> &'static str {
        use Locale::*;
        use Outcome::*;
        match (self, locale) {
            (Satisfied, Tg) => "Қонеъ гардонида шуд",
            (Satisfied, Ru) => "Удовлетворено",
            (Satisfied, En) => "Satisfied",
            (PartlySatisfied, Tg) => "Қисман қонеъ гардонида шуд",
            (PartlySatisfied, Ru) => "Удовлетворено частично",
            (PartlySatisfied, En) => "Partly satisfied",
            (Rejected, Tg) => "Рад карда шуд",
            (Rejected, Ru) => "Отказано",
            (Rejected, En) => "Rejected",
            (Explained, Tg) => "Шарҳ дода шуд",
            (Explained, Ru) => "Дано разъяснение",
            (Explained, En) => "Explained",
        }
    }
}

vocabulary! {
    /// The lawful reasons to leave an appeal without consideration.
    DismissalReason {
        /// No name or no postal address (and no report of a crime).
        Anonymous = "anonymous",
        /// Repeats an earlier appeal that was answered, with no new arguments.
        RepeatedWithoutNewArguments = "repeated_without_new_arguments",
        /// Contains obscene or abusive language, or threats.
        Abusive = "abusive",
        /// Outside the agency's competence, and no competent body to forward it to.
        NotCompetentNowhereToForward = "not_competent_nowhere_to_forward",
    }
}

impl DismissalReason {
    /// The reason as a person reads it, in `locale`.
    pub const fn title(self, locale: Locale) -> &'static str {
        use DismissalReason::*;
        use Locale::*;
        match (self, locale) {
            (Anonymous, Tg) => "Муроҷиати беном (ному насаб ё суроға нишон дода нашудааст)",
            (Anonymous, Ru) => "Анонимное обращение (не указаны фамилия или адрес)",
            (Anonymous, En) => "Anonymous appeal (no name or address given)",
            (RepeatedWithoutNewArguments, Tg) => "Муроҷиати такрорӣ бе далелҳои нав",
            (RepeatedWithoutNewArguments, Ru) => "Повторное обращение без новых доводов",
            (RepeatedWithoutNewArguments, En) => "Repeated appeal without new arguments",
            (Abusive, Tg) => "Дорои ибораҳои таҳқиромез ё таҳдид",
            (Abusive, Ru) => "Содержит оскорбительные выражения или угрозы",
            (Abusive, En) => "Abusive language or threats",
            (NotCompetentNowhereToForward, Tg) => {
                "Берун аз салоҳият; мақоми салоҳиятдор барои ирсол вуҷуд надорад"
            }
            (NotCompetentNowhereToForward, Ru) => "Вне компетенции; нет органа, куда его можно направить",
            (NotCompetentNowhereToForward, En) => {
                "Outside competence, with no competent body to forward it to"
            }
        }
    }
}

/// One row of the lifecycle table: in status `from`, any of `actors` may take `action`,
/// and the appeal moves to `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub from: Status,
    pub action: Action,
    pub actors: &'static [ActorKind],
    pub to: Status,
}

const fn rule(from: Status, action: Action, actors: &'static [ActorKind], to: Status) -> Rule {
    Rule { from, action, actors, to }
}

const CITIZEN: &[ActorKind] = &[ActorKind::CitizenOwner];
const STAFF: &[ActorKind] = &[ActorKind::Official, ActorKind::Supervisor];
const SUPERVISOR: &[ActorKind] = &[ActorKind::Supervisor];
const PARTIES: &[ActorKind] = &[ActorKind::CitizenOwner, ActorKind::Official, ActorKind::Supervisor];
const SYSTEM: &[ActorKind] = &[ActorKind::System];

use Action as A;
use Status as S;

/// The lifecycle. At most one row per (status, action); a pair without a row is refused for
/// everyone. Administrators appear in no row: they configure the system and do not work
/// appeals.
pub const RULES: &[Rule] = &[
    // Registered: waiting to be taken at its (current) agency.
    rule(S::Registered, A::Take, STAFF, S::InProgress),
    rule(S::Registered, A::Assign, STAFF, S::InProgress),
    rule(S::Registered, A::Forward, STAFF, S::Registered),
    rule(S::Registered, A::Reroute, SUPERVISOR, S::Registered),
    rule(S::Registered, A::Dismiss, STAFF, S::Dismissed),
    rule(S::Registered, A::Withdraw, CITIZEN, S::Withdrawn),
    rule(S::Registered, A::Note, STAFF, S::Registered),
    rule(S::Registered, A::Message, PARTIES, S::Registered),
    // In progress: an official works it.
    rule(S::InProgress, A::Take, STAFF, S::InProgress),
    rule(S::InProgress, A::Assign, STAFF, S::InProgress),
    rule(S::InProgress, A::RequestInfo, STAFF, S::AwaitingCitizen),
    rule(S::InProgress, A::Forward, STAFF, S::Registered),
    rule(S::InProgress, A::Reroute, SUPERVISOR, S::Registered),
    rule(S::InProgress, A::RequestExtension, STAFF, S::InProgress),
    rule(S::InProgress, A::GrantExtension, SUPERVISOR, S::InProgress),
    rule(S::InProgress, A::RefuseExtension, SUPERVISOR, S::InProgress),
    rule(S::InProgress, A::Answer, STAFF, S::Answered),
    rule(S::InProgress, A::Dismiss, STAFF, S::Dismissed),
    rule(S::InProgress, A::Withdraw, CITIZEN, S::Withdrawn),
    rule(S::InProgress, A::Note, STAFF, S::InProgress),
    rule(S::InProgress, A::Message, PARTIES, S::InProgress),
    // Awaiting the citizen: a request for information is open.
    rule(S::AwaitingCitizen, A::Assign, STAFF, S::AwaitingCitizen),
    rule(S::AwaitingCitizen, A::Reply, CITIZEN, S::InProgress),
    rule(S::AwaitingCitizen, A::RequestExtension, STAFF, S::AwaitingCitizen),
    rule(S::AwaitingCitizen, A::GrantExtension, SUPERVISOR, S::AwaitingCitizen),
    rule(S::AwaitingCitizen, A::RefuseExtension, SUPERVISOR, S::AwaitingCitizen),
    rule(S::AwaitingCitizen, A::Withdraw, CITIZEN, S::Withdrawn),
    rule(S::AwaitingCitizen, A::Note, STAFF, S::AwaitingCitizen),
    // What the citizen writes now is the answer the agency waits for: a reply, which
    // starts the clock again. A message would leave the request open, and the appeal
    // closed as abandoned when it ran out, although the citizen had written back.
    rule(S::AwaitingCitizen, A::Message, STAFF, S::AwaitingCitizen),
    rule(S::AwaitingCitizen, A::Abandon, SYSTEM, S::Closed),
    // Answered: the agency is done; the citizen may contest within the window.
    rule(S::Answered, A::Contest, CITIZEN, S::Contested),
    rule(S::Answered, A::Note, STAFF, S::Answered),
    rule(S::Answered, A::Close, SYSTEM, S::Closed),
    // Contested: a supervisor reviews the answer.
    rule(S::Contested, A::Assign, SUPERVISOR, S::Contested),
    rule(S::Contested, A::Uphold, SUPERVISOR, S::Closed),
    rule(S::Contested, A::Reopen, SUPERVISOR, S::InProgress),
    rule(S::Contested, A::Withdraw, CITIZEN, S::Closed),
    rule(S::Contested, A::Note, STAFF, S::Contested),
    rule(S::Contested, A::Message, PARTIES, S::Contested),
    // Final statuses keep only internal notes.
    rule(S::Dismissed, A::Note, STAFF, S::Dismissed),
    rule(S::Withdrawn, A::Note, STAFF, S::Withdrawn),
    rule(S::Closed, A::Note, STAFF, S::Closed),
];

/// A permitted step: what the service should record and where the appeal ends up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: Status,
    pub action: Action,
    pub actor: ActorKind,
    pub to: Status,
}

impl Transition {
    /// Whether the status changes.
    pub fn changes_status(&self) -> bool {
        self.from != self.to
    }

    /// Who may see the event recording this step: public when the status changes or the
    /// action is public by nature, internal otherwise.
    pub fn visibility(&self) -> Visibility {
        if self.changes_status() { Visibility::Public } else { self.action.visibility() }
    }
}

/// A step the table does not allow. Carries what a 409 response needs: the current status
/// and the actions this actor may take now (in the table's order, possibly empty).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} an appeal that is {status} (as {actor}); allowed now: {}", list(.allowed))]
pub struct Refusal {
    pub status: Status,
    pub action: Action,
    pub actor: ActorKind,
    pub allowed: Vec<Action>,
}

fn list(actions: &[Action]) -> String {
    if actions.is_empty() {
        return "nothing".to_owned();
    }
    actions.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ")
}

/// Decides one step of the lifecycle from the table alone: pure, total and cheap.
///
/// `Ok` carries the resulting status (the same status for notes, messages, extensions and
/// reassignment). `Err` names the current status and what `actor` may do instead.
pub fn transition(from: Status, action: Action, actor: ActorKind) -> Result<Transition, Refusal> {
    RULES
        .iter()
        .find(|r| r.from == from && r.action == action && r.actors.contains(&actor))
        .map(|r| Transition { from, action, actor, to: r.to })
        .ok_or_else(|| Refusal { status: from, action, actor, allowed: allowed_actions(from, actor) })
}

/// The actions `actor` may take in `status`, in the table's order. Useful for showing only
/// the buttons that will work.
pub fn allowed_actions(status: Status, actor: ActorKind) -> Vec<Action> {
    RULES.iter().filter(|r| r.from == status && r.actors.contains(&actor)).map(|r| r.action).collect()
}

/// Whether `actor` may take `action` in at least one status. An actor for whom this is
/// false has no business with the action at all (a 403 rather than a 409).
pub fn ever_allowed(action: Action, actor: ActorKind) -> bool {
    RULES.iter().any(|r| r.action == action && r.actors.contains(&actor))
}

#[cfg(test)]
mod tests;
