//! The deadline reports' maintained figures: per grouping, group, agency and local month,
//! what the stints received, answered (by days to answer), forwarded out, dismissed and
//! missed there (see `domain::report::tally`). Written in the same transaction as the stints
//! they add up, rebuilt with them by `murojiat reports rebuild`.
//!
//! `answer_days` is -1 on rows that count no answer: a key column must not be NULL (NULLs
//! are all distinct in a unique key on both backends). The key leads with what every report
//! query fixes (grouping) and then the month range it scans.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::m20261130_000001_accounts::Agencies;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000009_report_tallies"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ReportTallies::Table)
                    .col(string_len(ReportTallies::Grouping, 16))
                    .col(integer(ReportTallies::Month))
                    .col(uuid(ReportTallies::AgencyId))
                    .col(string_len(ReportTallies::GroupKey, 64))
                    .col(integer(ReportTallies::AnswerDays))
                    .primary_key(
                        Index::create()
                            .col(ReportTallies::Grouping)
                            .col(ReportTallies::Month)
                            .col(ReportTallies::AgencyId)
                            .col(ReportTallies::GroupKey)
                            .col(ReportTallies::AnswerDays),
                    )
                    .col(integer(ReportTallies::Received))
                    .col(integer(ReportTallies::Extensions))
                    .col(integer(ReportTallies::Answered))
                    .col(integer(ReportTallies::AnsweredOnTime))
                    .col(integer(ReportTallies::ForwardedOut))
                    .col(integer(ReportTallies::Dismissed))
                    .col(integer(ReportTallies::Missed))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReportTallies::Table, ReportTallies::AgencyId)
                            .to(Agencies::Table, Agencies::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ReportTallies::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum ReportTallies {
    Table,
    Grouping,
    Month,
    AgencyId,
    GroupKey,
    AnswerDays,
    Received,
    Extensions,
    Answered,
    AnsweredOnTime,
    ForwardedOut,
    Dismissed,
    Missed,
}
