//! The scheduler's jobs table, the escalations it records when a deadline passes, and the
//! business calendar's declared entries (holidays and moves by decree) per year.
//!
//! A job is work due at a time (`run_at`) about one appeal. `dedupe_key` is unique, so
//! scheduling the same work twice keeps one row. A worker claims a pending job by taking a
//! lease (`lease_owner`, `lease_expires_at`); a lease that expires makes the job claimable
//! again. `status` is `pending`, `done`, `failed` (gave up after retries) or `superseded`
//! (a moved deadline replaced it).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::m20261130_000001_accounts::Agencies;
use super::m20261130_000002_appeals::Appeals;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000005_jobs"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Jobs::Table)
                    .col(pk_uuid(Jobs::Id))
                    .col(string_len(Jobs::Kind, 32))
                    .col(uuid_null(Jobs::AppealId))
                    .col(timestamp_with_time_zone(Jobs::RunAt))
                    .col(string_len_uniq(Jobs::DedupeKey, 200))
                    .col(text(Jobs::Payload))
                    .col(string_len(Jobs::Status, 16))
                    .col(integer(Jobs::Attempts))
                    .col(string_len_null(Jobs::LeaseOwner, 100))
                    .col(timestamp_with_time_zone_null(Jobs::LeaseExpiresAt))
                    .col(text_null(Jobs::LastError))
                    .col(timestamp_with_time_zone_null(Jobs::DoneAt))
                    .col(timestamp_with_time_zone(Jobs::CreatedAt))
                    .col(timestamp_with_time_zone(Jobs::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Jobs::Table, Jobs::AppealId)
                            .to(Appeals::Table, Appeals::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // Claiming scans pending jobs in due order; superseding finds an appeal's jobs.
        manager
            .create_index(
                Index::create()
                    .name("idx_jobs_due")
                    .table(Jobs::Table)
                    .col(Jobs::Status)
                    .col(Jobs::RunAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_jobs_appeal")
                    .table(Jobs::Table)
                    .col(Jobs::AppealId)
                    .col(Jobs::Status)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Escalations::Table)
                    .col(pk_uuid(Escalations::Id))
                    .col(uuid(Escalations::AppealId))
                    .col(uuid(Escalations::AgencyId))
                    .col(timestamp_with_time_zone(Escalations::DueAt))
                    .col(timestamp_with_time_zone(Escalations::EscalatedAt))
                    .col(timestamp_with_time_zone_null(Escalations::NotifiedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Escalations::Table, Escalations::AppealId)
                            .to(Appeals::Table, Appeals::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Escalations::Table, Escalations::AgencyId)
                            .to(Agencies::Table, Agencies::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // One escalation per missed deadline: a second run cannot escalate twice.
        manager
            .create_index(
                Index::create()
                    .name("idx_escalations_once")
                    .table(Escalations::Table)
                    .col(Escalations::AppealId)
                    .col(Escalations::DueAt)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_escalations_agency")
                    .table(Escalations::Table)
                    .col(Escalations::AgencyId)
                    .col(Escalations::EscalatedAt)
                    .to_owned(),
            )
            .await?;

        // Declared entries only: transfers of weekend holidays are derived when loading.
        manager
            .create_table(
                Table::create()
                    .table(CalendarEntries::Table)
                    .col(date(CalendarEntries::Date).primary_key())
                    .col(integer(CalendarEntries::Year))
                    .col(string_len(CalendarEntries::Kind, 16))
                    .col(string_len(CalendarEntries::NameTg, 300))
                    .col(string_len(CalendarEntries::NameRu, 300))
                    .col(string_len(CalendarEntries::NameEn, 300))
                    .col(boolean(CalendarEntries::Provisional))
                    .col(date_null(CalendarEntries::MovedFrom))
                    .col(timestamp_with_time_zone(CalendarEntries::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_calendar_entries_year")
                    .table(CalendarEntries::Table)
                    .col(CalendarEntries::Year)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(CalendarEntries::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Escalations::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Jobs::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum Jobs {
    Table,
    Id,
    Kind,
    AppealId,
    RunAt,
    DedupeKey,
    Payload,
    Status,
    Attempts,
    LeaseOwner,
    LeaseExpiresAt,
    LastError,
    DoneAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Escalations {
    Table,
    Id,
    AppealId,
    AgencyId,
    DueAt,
    EscalatedAt,
    NotifiedAt,
}

#[derive(DeriveIden)]
pub enum CalendarEntries {
    Table,
    Date,
    Year,
    Kind,
    NameTg,
    NameRu,
    NameEn,
    Provisional,
    MovedFrom,
    UpdatedAt,
}
