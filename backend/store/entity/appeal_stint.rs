use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "appeal_stints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub appeal_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i32,
    pub agency_id: Uuid,
    pub official_id: Option<Uuid>,
    pub category_code: String,
    pub territory_code: String,
    pub kind: String,
    pub received_at: DateTimeUtc,
    pub received_day: i32,
    pub due_at: DateTimeUtc,
    pub due_day: i32,
    pub paused_at: Option<DateTimeUtc>,
    pub ended_at: Option<DateTimeUtc>,
    pub ended_day: Option<i32>,
    pub outcome: Option<String>,
    pub on_time: Option<bool>,
    pub answer_days: Option<i32>,
    pub extensions: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
