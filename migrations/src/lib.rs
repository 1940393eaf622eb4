//! Schema migrations for Murojiat. Every migration runs on SQLite and PostgreSQL alike:
//! string-backed enums instead of native ones, one column change per ALTER TABLE. Storage
//! settings SQLite does not have (`sql_migration!` with `postgres only`) change nothing there.

pub use sea_orm_migration::prelude::*;

/// A migration made of plain SQL statements that are the same on SQLite and PostgreSQL:
/// `up` runs them in order to apply it, `down` to undo it. With `postgres only`, the
/// statements run on PostgreSQL and nothing changes on SQLite (storage settings it lacks).
macro_rules! sql_migration {
    ($name:literal, up: [$($up:expr),+ $(,)?], down: [$($down:expr),+ $(,)?] $(,)?) => {
        sql_migration!(@run run_all, $name, [$($up),+], [$($down),+]);
    };
    ($name:literal, postgres only, up: [$($up:expr),+ $(,)?], down: [$($down:expr),+ $(,)?] $(,)?) => {
        sql_migration!(@run run_on_postgres, $name, [$($up),+], [$($down),+]);
    };
    (@run $run:ident, $name:literal, [$($up:expr),+], [$($down:expr),+]) => {
        pub struct Migration;

        impl $crate::MigrationName for Migration {
            fn name(&self) -> &str {
                $name
            }
        }

        #[$crate::async_trait::async_trait]
        impl $crate::MigrationTrait for Migration {
            async fn up(&self, manager: &$crate::SchemaManager) -> Result<(), $crate::DbErr> {
                $crate::$run(manager, &[$($up),+]).await
            }

            async fn down(&self, manager: &$crate::SchemaManager) -> Result<(), $crate::DbErr> {
                $crate::$run(manager, &[$($down),+]).await
            }
        }
    };
}

/// Runs `statements` on PostgreSQL, nothing on SQLite (see `sql_migration!`).
async fn run_on_postgres(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    if manager.get_database_backend() == sea_orm_migration::sea_orm::DbBackend::Postgres {
        run_all(manager, statements).await?;
    }
    Ok(())
}

/// Runs `statements` one after the other (see `sql_migration!`).
async fn run_all(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for statement in statements {
        db.execute_unprepared(statement).await?;
    }
    Ok(())
}

mod m20261130_000001_accounts;
mod m20261130_000002_appeals;
mod m20261130_000003_appeal_search;
mod m20261201_000004_rulesets;
mod m20261201_000005_jobs;
mod m20261201_000006_outbox;
mod m20261201_000007_open_queue_index;
mod m20261201_000008_appeal_stints;
mod m20261201_000009_report_tallies;
mod m20261201_000010_open_stints_cover;
mod m20261201_000011_idempotency_keys_by_age;
mod m20261201_000012_jobs_page_room;
mod m20261201_000013_outbox_claimable;
mod m20261202_000014_outbox_unsent;
mod m20261202_000015_pending_jobs_indexes;
mod m20261202_000016_unalerted_escalations;
mod m20261202_000017_jobs_claimed_by_appeal;
mod m20261202_000018_jobs_pages_filled;
mod m20261203_000019_escalation_per_agency;
mod m20261203_000020_calendar_rechecks;
mod m20261203_000021_escalations_on_jobs;
mod m20261203_000022_public_version;

/// Applies the migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261130_000001_accounts::Migration),
            Box::new(m20261130_000002_appeals::Migration),
            Box::new(m20261130_000003_appeal_search::Migration),
            Box::new(m20261201_000004_rulesets::Migration),
            Box::new(m20261201_000005_jobs::Migration),
            Box::new(m20261201_000006_outbox::Migration),
            Box::new(m20261201_000007_open_queue_index::Migration),
            Box::new(m20261201_000008_appeal_stints::Migration),
            Box::new(m20261201_000009_report_tallies::Migration),
            Box::new(m20261201_000010_open_stints_cover::Migration),
            Box::new(m20261201_000011_idempotency_keys_by_age::Migration),
            Box::new(m20261201_000012_jobs_page_room::Migration),
            Box::new(m20261201_000013_outbox_claimable::Migration),
            Box::new(m20261202_000014_outbox_unsent::Migration),
            Box::new(m20261202_000015_pending_jobs_indexes::Migration),
            Box::new(m20261202_000016_unalerted_escalations::Migration),
            Box::new(m20261202_000017_jobs_claimed_by_appeal::Migration),
            Box::new(m20261202_000018_jobs_pages_filled::Migration),
            Box::new(m20261203_000019_escalation_per_agency::Migration),
            Box::new(m20261203_000020_calendar_rechecks::Migration),
            Box::new(m20261203_000021_escalations_on_jobs::Migration),
            Box::new(m20261203_000022_public_version::Migration),
        ]
    }
}
