//! An index for the query that runs all day: an agency's open queue by due date. The queue
//! asks for several open statuses at once, which `idx_appeals_queue` (agency, status, due)
//! can only answer by reading every open appeal of the agency and sorting them; this partial
//! index holds only open appeals in due-date order, so the first page (and each keyset page)
//! reads just the rows it returns. Partial indexes are the same SQL on SQLite and PostgreSQL.
//! The status list must stay equal to `Status::is_open` for the planner to use the index.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000007_open_queue_index"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_appeals_open_queue ON appeals (agency_id, due_at, id) \
                 WHERE status IN ('registered', 'in_progress', 'awaiting_citizen', 'contested')",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP INDEX IF EXISTS idx_appeals_open_queue").await?;
        Ok(())
    }
}
