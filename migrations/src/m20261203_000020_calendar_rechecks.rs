//! A calendar edit's second look at the deadlines. Another process puts an edit in force
//! only when it next reads the calendar (every `appeals.reference_cache_secs`); a deadline
//! it computes in between is on the calendar before the edit, after the edit's own
//! recompute has run. The edit therefore records here, in its transaction, the year's
//! entries before it and when to look again (`appeals.calendar_recheck_secs` later); the
//! scheduler's housekeeping then replays what was set on the old calendar meanwhile (see
//! `services::calendar::run_due_rechecks`). `status` is `pending`, `done` or `failed` (gave
//! up after the scheduler's retries, `last_error` saying why). Few rows (one per edit), so
//! no index beyond the key: the pending ones are found by a scan of a handful.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000020_calendar_rechecks"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CalendarRechecks::Table)
                    .col(pk_uuid(CalendarRechecks::Id))
                    .col(integer(CalendarRechecks::Year))
                    .col(text(CalendarRechecks::EntriesBefore))
                    .col(uuid(CalendarRechecks::EditedBy))
                    .col(timestamp_with_time_zone(CalendarRechecks::DueAt))
                    .col(string_len(CalendarRechecks::Status, 16))
                    .col(integer(CalendarRechecks::Attempts))
                    .col(text_null(CalendarRechecks::LastError))
                    .col(text_null(CalendarRechecks::Outcome))
                    .col(timestamp_with_time_zone_null(CalendarRechecks::DoneAt))
                    .col(timestamp_with_time_zone(CalendarRechecks::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(CalendarRechecks::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum CalendarRechecks {
    Table,
    Id,
    Year,
    EntriesBefore,
    EditedBy,
    DueAt,
    Status,
    Attempts,
    LastError,
    Outcome,
    DoneAt,
    CreatedAt,
}
