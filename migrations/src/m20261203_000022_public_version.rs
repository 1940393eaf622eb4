//! What a citizen may learn of an appeal's changes: `version` and `updated_at` count and date
//! every change, internal ones included (an official's note, an assignment), so showing them
//! to the appeal's citizen told how many internal steps there were and when the last was.
//! `public_version` and `public_updated_at` change only with a change the citizen sees (a
//! public event); the citizen's views show them, and the citizen's actions are checked
//! against them. Existing appeals start from their current values, so an ETag a citizen
//! holds stays valid.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::m20261130_000002_appeals::Appeals;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000022_public_version"
    }
}

#[derive(DeriveIden)]
enum Public {
    #[sea_orm(iden = "public_version")]
    Version,
    #[sea_orm(iden = "public_updated_at")]
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Appeals::Table)
                    .add_column(integer(Public::Version).default(0))
                    .to_owned(),
            )
            .await?;
        // Every row is given its value below; the default only satisfies NOT NULL meanwhile.
        let epoch = "1970-01-01T00:00:00+00:00";
        manager
            .alter_table(
                Table::alter()
                    .table(Appeals::Table)
                    .add_column(timestamp_with_time_zone(Public::UpdatedAt).default(epoch))
                    .to_owned(),
            )
            .await?;
        let copy = Query::update()
            .table(Appeals::Table)
            .value(Public::Version, Expr::col(Appeals::Version))
            .value(Public::UpdatedAt, Expr::col(Appeals::UpdatedAt))
            .to_owned();
        manager.exec_stmt(copy).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Appeals::Table).drop_column(Public::UpdatedAt).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(Appeals::Table).drop_column(Public::Version).to_owned())
            .await
    }
}
