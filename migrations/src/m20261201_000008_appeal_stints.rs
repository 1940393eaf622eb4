//! The facts the deadline reports are computed from: one row per stay ("stint") of an appeal
//! at one agency. Filing opens the first stint; forwarding or a reroute ends the current one
//! as `forwarded` and opens the next at the receiving agency, so each agency is counted for
//! what it received and did. The row is written in the same transaction as the appeal's
//! change and can be rebuilt from the timeline (`murojiat reports rebuild`).
//!
//! Local dates (`received_on`, `ended_on`, `due_on`) are ISO `YYYY-MM-DD` strings in the
//! agency's time zone, so a period filter is a plain string range on both backends.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::m20261130_000001_accounts::Agencies;
use super::m20261130_000002_appeals::Appeals;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000008_appeal_stints"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AppealStints::Table)
                    .col(pk_uuid(AppealStints::Id))
                    .col(uuid(AppealStints::AppealId))
                    .col(integer(AppealStints::Seq))
                    .col(uuid(AppealStints::AgencyId))
                    .col(uuid_null(AppealStints::OfficialId))
                    .col(string_len(AppealStints::CategoryCode, 64))
                    .col(string_len(AppealStints::TerritoryCode, 64))
                    .col(string_len(AppealStints::Kind, 16))
                    .col(timestamp_with_time_zone(AppealStints::ReceivedAt))
                    .col(string_len(AppealStints::ReceivedOn, 10))
                    .col(timestamp_with_time_zone(AppealStints::DueAt))
                    .col(string_len(AppealStints::DueOn, 10))
                    .col(timestamp_with_time_zone_null(AppealStints::PausedAt))
                    .col(timestamp_with_time_zone_null(AppealStints::EndedAt))
                    .col(string_len_null(AppealStints::EndedOn, 10))
                    .col(string_len_null(AppealStints::Outcome, 16))
                    .col(boolean_null(AppealStints::OnTime))
                    .col(integer_null(AppealStints::AnswerDays))
                    .col(integer(AppealStints::Extensions))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AppealStints::Table, AppealStints::AppealId)
                            .to(Appeals::Table, Appeals::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(AppealStints::Table, AppealStints::AgencyId)
                            .to(Agencies::Table, Agencies::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, unique, cols) in [
            ("idx_appeal_stints_seq", true, vec![AppealStints::AppealId, AppealStints::Seq]),
            // The report's period filters: what was received, and what ended, in the period.
            ("idx_appeal_stints_received", false, vec![AppealStints::ReceivedOn, AppealStints::AgencyId]),
            ("idx_appeal_stints_ended", false, vec![AppealStints::EndedOn, AppealStints::AgencyId]),
            ("idx_appeal_stints_due", false, vec![AppealStints::DueOn, AppealStints::AgencyId]),
        ] {
            let mut index = Index::create();
            index.name(name).table(AppealStints::Table);
            if unique {
                index.unique();
            }
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AppealStints::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub(crate) enum AppealStints {
    Table,
    Id,
    AppealId,
    Seq,
    AgencyId,
    OfficialId,
    CategoryCode,
    TerritoryCode,
    Kind,
    ReceivedAt,
    ReceivedOn,
    DueAt,
    DueOn,
    PausedAt,
    EndedAt,
    EndedOn,
    Outcome,
    OnTime,
    AnswerDays,
    Extensions,
}
