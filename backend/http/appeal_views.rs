//! What an appeal looks like to each reader: the citizen's public view, and the staff view
//! that adds routing, assignment, contact details and internal fields.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::domain::access::ViewLevel;
use crate::domain::deadline::DeadlineState;
use crate::domain::lifecycle::Action;
use crate::services::appeals::Seen;
use crate::store::agencies::Agency;
use crate::store::appeals::QueueRow;
use crate::store::attachments::Attachment;
use crate::store::events::Event;

/// An appeal as its reader may see it. `staff` is present only for staff.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AppealView {
    pub id: Uuid,
    /// Quote this number when calling or writing about the appeal.
    pub tracking_number: String,
    /// application | request | proposal | complaint
    pub kind: String,
    pub status: String,
    /// web | api | oral | paper | open311
    pub channel: String,
    pub subject: String,
    pub text: String,
    pub category: String,
    pub region: String,
    pub district: Option<String>,
    pub location: Option<Location>,
    pub collective: bool,
    /// How many people sign the appeal, the applicant included.
    pub signatories: i32,
    /// person | legal_entity
    pub applicant_type: String,
    pub legal_entity: Option<LegalEntityView>,
    pub language: String,
    pub agency: AgencyRef,
    pub registration_number: Option<String>,
    pub registered_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// on_time | due_soon | overdue
    pub deadline_state: DeadlineState,
    /// Set while the appeal waits for the citizen and the clock is stopped.
    pub paused_at: Option<DateTime<Utc>>,
    pub extensions_granted: i32,
    /// satisfied | partly_satisfied | rejected | explained
    pub outcome: Option<String>,
    pub answer: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
    pub dismissal_reason: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Send as If-Match (also the ETag) when acting on the appeal. The citizen's view counts
    /// only the changes the citizen sees; staff see every change counted.
    pub version: i32,
    /// The actions this reader may take now (path segments under /actions/).
    pub allowed_actions: Vec<String>,
    pub created_at: DateTime<Utc>,
    /// The last change this reader sees (for the citizen, the last public one).
    pub updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staff: Option<StaffFields>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LegalEntityView {
    pub name: Option<String>,
    pub tax_id: Option<String>,
}

/// The agency handling the appeal.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgencyRef {
    pub id: Uuid,
    pub code: String,
    pub name_tg: String,
    pub name_ru: String,
    pub name_en: String,
}

/// What only staff see.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StaffFields {
    pub assignee_id: Option<Uuid>,
    /// low | normal | high | urgent
    pub priority: String,
    pub deadline_policy: String,
    pub ruleset_version: Option<i32>,
    pub rule_id: Option<String>,
    pub citizen_id: Option<Uuid>,
    pub entered_by: Option<Uuid>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub contact_address: Option<String>,
    pub co_signers: Vec<String>,
}

impl AppealView {
    pub fn of(seen: Seen) -> Self {
        let a = seen.appeal;
        let staff = (seen.level == ViewLevel::Staff).then(|| StaffFields {
            assignee_id: a.assignee_id,
            priority: a.priority.clone(),
            deadline_policy: a.deadline_policy.clone(),
            ruleset_version: a.ruleset_version,
            rule_id: a.rule_id.clone(),
            citizen_id: a.citizen_id,
            entered_by: a.entered_by,
            contact_name: a.contact_name.clone(),
            contact_email: a.contact_email.clone(),
            contact_address: a.contact_address.clone(),
            co_signers: a
                .co_signers_names
                .as_deref()
                .and_then(|n| serde_json::from_str(n).ok())
                .unwrap_or_default(),
        });
        Self {
            id: a.id,
            tracking_number: display_tracking_number(a.tracking_number),
            kind: a.kind,
            status: a.status,
            channel: a.channel,
            subject: a.subject,
            text: a.body,
            category: a.category_code,
            region: a.region_code,
            district: a.district_code,
            location: a.lat.zip(a.lon).map(|(lat, lon)| Location { lat, lon }),
            collective: a.co_signers_count > 1,
            signatories: a.co_signers_count,
            applicant_type: a.applicant_type,
            legal_entity: (a.legal_entity_name.is_some() || a.legal_entity_tax_id.is_some())
                .then_some(LegalEntityView { name: a.legal_entity_name, tax_id: a.legal_entity_tax_id }),
            language: a.language,
            agency: AgencyRef::of(seen.agency),
            registration_number: a.registration_number,
            registered_at: a.registered_at,
            due_at: a.due_at,
            deadline_state: seen.deadline_state,
            paused_at: a.paused_at,
            extensions_granted: a.extensions_granted,
            outcome: a.outcome,
            answer: a.answer_text,
            answered_at: a.answered_at,
            dismissal_reason: a.dismissal_reason,
            closed_at: a.closed_at,
            version: if staff.is_some() { a.version } else { a.public_version },
            allowed_actions: action_names(&seen.allowed),
            created_at: a.created_at,
            updated_at: if staff.is_some() { a.updated_at } else { a.public_updated_at },
            staff,
        }
    }
}

/// One appeal in a staff queue: what a list shows and acts on. The texts, the contacts and
/// the routing are in the appeal itself (`GET /api/v1/appeals/{id}`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QueueItemView {
    pub id: Uuid,
    /// Quote this number when calling or writing about the appeal.
    pub tracking_number: String,
    /// application | request | proposal | complaint
    pub kind: String,
    pub status: String,
    pub subject: String,
    pub category: String,
    pub region: String,
    pub district: Option<String>,
    /// How many people sign the appeal, the applicant included.
    pub signatories: i32,
    pub language: String,
    pub agency: AgencyRef,
    pub assignee_id: Option<Uuid>,
    /// low | normal | high | urgent
    pub priority: String,
    pub registration_number: Option<String>,
    pub registered_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// on_time | due_soon | overdue
    pub deadline_state: DeadlineState,
    /// Set while the appeal waits for the citizen and the clock is stopped.
    pub paused_at: Option<DateTime<Utc>>,
    pub extensions_granted: i32,
    /// Send as If-Match (also the ETag) when acting on the appeal.
    pub version: i32,
    /// The actions this reader may take now (path segments under /actions/).
    pub allowed_actions: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl QueueItemView {
    pub fn of(seen: Seen<QueueRow>) -> Self {
        let a = seen.appeal;
        Self {
            id: a.id,
            tracking_number: display_tracking_number(a.tracking_number),
            kind: a.kind,
            status: a.status,
            subject: a.subject,
            category: a.category_code,
            region: a.region_code,
            district: a.district_code,
            signatories: a.co_signers_count,
            language: a.language,
            agency: AgencyRef::of(seen.agency),
            assignee_id: a.assignee_id,
            priority: a.priority,
            registration_number: a.registration_number,
            registered_at: a.registered_at,
            due_at: a.due_at,
            deadline_state: seen.deadline_state,
            paused_at: a.paused_at,
            extensions_granted: a.extensions_granted,
            version: a.version,
            allowed_actions: action_names(&seen.allowed),
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

impl AgencyRef {
    fn of(agency: Agency) -> Self {
        Self {
            id: agency.id,
            code: agency.code,
            name_tg: agency.name_tg,
            name_ru: agency.name_ru,
            name_en: agency.name_en,
        }
    }
}

/// A stored tracking number as it is written for people (grouped), or as stored when it
/// does not parse.
fn display_tracking_number(stored: String) -> String {
    crate::domain::tracking::TrackingNumber::parse(&stored).map(|t| t.to_string()).unwrap_or(stored)
}

/// Actions as the path segments under `/actions/`.
fn action_names(actions: &[Action]) -> Vec<String> {
    actions.iter().map(|a| a.as_str().replace('_', "-")).collect()
}

/// One step in an appeal's timeline.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventView {
    /// The step's number in the timeline as its reader sees it, from 1: staff see every
    /// event of the appeal's record; a citizen or guest sees the public steps numbered in
    /// order without gaps, so the numbers do not tell how many internal events there are.
    pub seq: i32,
    pub at: DateTime<Utc>,
    /// citizen | guest | official | supervisor | admin | system
    pub actor_role: String,
    /// Present for staff readers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<Uuid>,
    pub action: String,
    /// public | internal (internal events reach staff only)
    pub visibility: String,
    pub status_before: String,
    pub status_after: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// Keys of an event's `data` that carry what only staff may see: who was assigned (staff
/// ids, as `actor_id` is) and routing internals (as in [`StaffFields`]).
const STAFF_ONLY_DATA: &[&str] = &["assignee", "deadline_policy", "ruleset_version", "rule_id"];

impl EventView {
    /// The timeline `events` (oldest first, as the reader may see them) for staff or not.
    pub fn timeline(events: Vec<Event>, staff: bool) -> Vec<Self> {
        events
            .into_iter()
            .zip(1..)
            .map(|(event, position)| {
                let seq = if staff { event.seq } else { position };
                Self { seq, ..Self::of(event, staff) }
            })
            .collect()
    }

    fn of(event: Event, staff: bool) -> Self {
        let mut data = serde_json::from_str(&event.data).unwrap_or(serde_json::Value::Null);
        if !staff && let Some(fields) = data.as_object_mut() {
            fields.retain(|key, _| !STAFF_ONLY_DATA.contains(&key.as_str()));
        }
        Self {
            seq: event.seq,
            at: event.at,
            actor_role: event.actor_role,
            actor_id: if staff { event.actor_id } else { None },
            action: event.action,
            visibility: event.visibility,
            status_before: event.status_before,
            status_after: event.status_after,
            data,
        }
    }
}

/// A file attached to an appeal.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttachmentView {
    pub id: Uuid,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
}

impl From<Attachment> for AttachmentView {
    fn from(a: Attachment) -> Self {
        Self {
            id: a.id,
            file_name: a.file_name,
            content_type: a.content_type,
            size_bytes: a.size_bytes,
            sha256: a.sha256,
            created_at: a.created_at,
        }
    }
}
