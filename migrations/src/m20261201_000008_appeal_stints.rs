//! The facts the deadline reports are computed from: one row per stay ("stint") of an appeal
//! at one agency. Filing opens the first stint; forwarding or a reroute ends the current one
//! as `forwarded` and opens the next at the receiving agency, so each agency is counted for
//! what it received and did. The row is written in the same transaction as the appeal's
//! change and can be rebuilt from the timeline (`murojiat reports rebuild`).
//!
//! Local dates (`received_day`, `ended_day`, `due_day`) are day numbers (days since
//! 1970-01-01) in the agency's time zone: a period filter is an integer range, the cheapest
//! comparison on both backends, and the rows stay narrow. A stint is identified by its appeal
//! and its place in the appeal's sequence.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

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
                    .col(uuid(AppealStints::AppealId))
                    .col(integer(AppealStints::Seq))
                    .primary_key(Index::create().col(AppealStints::AppealId).col(AppealStints::Seq))
                    .col(uuid(AppealStints::AgencyId))
                    .col(uuid_null(AppealStints::OfficialId))
                    .col(string_len(AppealStints::CategoryCode, 64))
                    .col(string_len(AppealStints::TerritoryCode, 64))
                    .col(string_len(AppealStints::Kind, 16))
                    .col(timestamp_with_time_zone(AppealStints::ReceivedAt))
                    .col(integer(AppealStints::ReceivedDay))
                    .col(timestamp_with_time_zone(AppealStints::DueAt))
                    .col(integer(AppealStints::DueDay))
                    .col(timestamp_with_time_zone_null(AppealStints::PausedAt))
                    .col(timestamp_with_time_zone_null(AppealStints::EndedAt))
                    .col(integer_null(AppealStints::EndedDay))
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
        // The report's period filters: what was received, ended, or fell due in the period.
        for (name, cols) in [
            ("idx_appeal_stints_received", [AppealStints::ReceivedDay, AppealStints::AgencyId]),
            ("idx_appeal_stints_ended", [AppealStints::EndedDay, AppealStints::AgencyId]),
            ("idx_appeal_stints_due", [AppealStints::DueDay, AppealStints::AgencyId]),
        ] {
            let mut index = Index::create();
            index.name(name).table(AppealStints::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        // The stays still open, for the report's deadline state: few beside the answered.
        // Partial indexes are the same SQL on SQLite and PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_appeal_stints_open ON appeal_stints (agency_id, received_day) \
                 WHERE ended_at IS NULL",
            )
            .await?;
        // The overdue report over many agencies: open appeals in due order, whatever the
        // agency (`idx_appeals_open_queue` serves one agency's queue). The status list must
        // stay equal to `Status::is_open`.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_appeals_open_due ON appeals (due_at, id) \
                 WHERE status IN ('registered', 'in_progress', 'awaiting_citizen', 'contested')",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP INDEX IF EXISTS idx_appeals_open_due").await?;
        manager.drop_table(Table::drop().table(AppealStints::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub(crate) enum AppealStints {
    Table,
    AppealId,
    Seq,
    AgencyId,
    OfficialId,
    CategoryCode,
    TerritoryCode,
    Kind,
    ReceivedAt,
    ReceivedDay,
    DueAt,
    DueDay,
    PausedAt,
    EndedAt,
    EndedDay,
    Outcome,
    OnTime,
    AnswerDays,
    Extensions,
}
