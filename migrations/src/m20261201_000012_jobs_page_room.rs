//! Room on the jobs table's pages for the scheduler's lease update. Claiming a job sets its
//! lease (owner, expiry, attempts), none of them indexed, so PostgreSQL can write the new row
//! version on the same page without touching the table's four indexes (a "HOT" update),
//! but only if the page has room. Filled to 100% (the default), it has none, and every lease
//! cost a new entry in each index. SQLite has no such setting; nothing changes there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000012_jobs_page_room"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager.get_connection().execute_unprepared("ALTER TABLE jobs SET (fillfactor = 50)").await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager.get_connection().execute_unprepared("ALTER TABLE jobs RESET (fillfactor)").await?;
        }
        Ok(())
    }
}
