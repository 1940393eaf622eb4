use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: String,
    pub appeal_id: Option<Uuid>,
    pub run_at: DateTimeUtc,
    #[sea_orm(unique)]
    pub dedupe_key: String,
    pub payload: String,
    pub status: String,
    pub attempts: i32,
    /// The scheduler that last ran the job (completed it or recorded its failure).
    pub ran_by: Option<String>,
    pub last_error: Option<String>,
    pub done_at: Option<DateTimeUtc>,
    /// What the job did when it ran (one of `store::jobs::outcome`); empty until then, and
    /// for jobs done before migration 21.
    pub outcome: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
