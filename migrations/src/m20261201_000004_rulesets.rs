//! Routing rules: versioned rulesets, the territories each agency covers (for rules that
//! route to "the agency of kind K covering the appeal's district"), and the routing trace
//! kept with every appeal.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::m20261130_000001_accounts::{Agencies, Users};
use super::m20261130_000002_appeals::Appeals;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000004_rulesets"
    }
}

/// At most one ruleset is active. A partial unique index says so on both backends with the
/// same statement.
const ONE_ACTIVE: &str =
    "CREATE UNIQUE INDEX idx_rulesets_one_active ON rulesets (status) WHERE status = 'active'";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Rulesets::Table)
                    .col(pk_uuid(Rulesets::Id))
                    .col(integer_uniq(Rulesets::Version))
                    .col(string_len(Rulesets::Status, 16))
                    .col(uuid_null(Rulesets::AuthorId))
                    .col(timestamp_with_time_zone(Rulesets::CreatedAt))
                    .col(timestamp_with_time_zone_null(Rulesets::ActivatedAt))
                    .col(text(Rulesets::Source))
                    .col(string_len(Rulesets::Format, 8))
                    .col(string_len_null(Rulesets::Description, 500))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Rulesets::Table, Rulesets::AuthorId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager.get_connection().execute_unprepared(ONE_ACTIVE).await?;

        manager
            .create_table(
                Table::create()
                    .table(AgencyTerritories::Table)
                    .col(uuid(AgencyTerritories::AgencyId))
                    .col(string_len(AgencyTerritories::TerritoryCode, 64))
                    .primary_key(
                        Index::create()
                            .col(AgencyTerritories::AgencyId)
                            .col(AgencyTerritories::TerritoryCode),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(AgencyTerritories::Table, AgencyTerritories::AgencyId)
                            .to(Agencies::Table, Agencies::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .alter_table(
                Table::alter()
                    .table(Appeals::Table)
                    .add_column(text_null(RoutingTrace::RoutingTrace))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Appeals::Table).drop_column(RoutingTrace::RoutingTrace).to_owned(),
            )
            .await?;
        manager.drop_table(Table::drop().table(AgencyTerritories::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Rulesets::Table).to_owned()).await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Rulesets {
    Table,
    Id,
    Version,
    Status,
    AuthorId,
    CreatedAt,
    ActivatedAt,
    Source,
    Format,
    Description,
}

#[derive(DeriveIden)]
enum AgencyTerritories {
    Table,
    AgencyId,
    TerritoryCode,
}

/// The explain trace (JSON) of the routing decision made when the appeal was filed.
#[derive(DeriveIden)]
enum RoutingTrace {
    RoutingTrace,
}
