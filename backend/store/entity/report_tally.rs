use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "report_tallies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub grouping: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub month: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub agency_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub group_key: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub answer_days: i32,
    pub received: i32,
    pub extensions: i32,
    pub answered: i32,
    pub answered_on_time: i32,
    pub forwarded_out: i32,
    pub dismissed: i32,
    pub missed: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
