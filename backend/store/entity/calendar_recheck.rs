use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calendar_rechecks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub year: i32,
    /// The edited year's declared entries before the edit, as JSON (a `YearTable`).
    pub entries_before: String,
    /// The administrator whose edit this is.
    pub edited_by: Uuid,
    pub due_at: DateTimeUtc,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    /// What the recheck moved, as JSON (a `Recomputed`).
    pub outcome: Option<String>,
    pub done_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
