use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "appeals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub tracking_number: String,
    pub access_code_hash: Option<String>,
    pub kind: String,
    pub status: String,
    pub channel: String,
    pub subject: String,
    pub body: String,
    pub category_code: String,
    pub region_code: String,
    pub district_code: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub co_signers_count: i32,
    pub co_signers_names: Option<String>,
    pub applicant_type: String,
    pub legal_entity_name: Option<String>,
    pub legal_entity_tax_id: Option<String>,
    pub language: String,
    pub citizen_id: Option<Uuid>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub contact_address: Option<String>,
    pub entered_by: Option<Uuid>,
    pub agency_id: Uuid,
    pub assignee_id: Option<Uuid>,
    pub registration_number: Option<String>,
    pub priority: String,
    pub deadline_policy: String,
    pub ruleset_version: Option<i32>,
    pub rule_id: Option<String>,
    /// The routing explain trace (JSON) recorded at filing; `None` when no ruleset routed it.
    pub routing_trace: Option<String>,
    pub registered_at: DateTimeUtc,
    pub due_at: DateTimeUtc,
    pub paused_at: Option<DateTimeUtc>,
    pub extensions_granted: i32,
    pub outcome: Option<String>,
    pub answer_text: Option<String>,
    pub answered_at: Option<DateTimeUtc>,
    pub dismissal_reason: Option<String>,
    pub closed_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Counts only the changes its citizen sees (public events); what the citizen's views
    /// show as `version`, and what the citizen's actions are checked against.
    pub public_version: i32,
    /// When the citizen's view last changed: `updated_at` of the last public change.
    pub public_updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
