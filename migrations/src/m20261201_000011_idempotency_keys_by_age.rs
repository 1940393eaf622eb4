//! Idempotency keys are kept for `appeals.idempotency_retention_hours` and then deleted by
//! the scheduler's housekeeping; this index lets it find the old ones without reading the
//! table. The same SQL on SQLite and PostgreSQL.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000011_idempotency_keys_by_age"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_idempotency_keys_created_at ON idempotency_keys (created_at)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS idx_idempotency_keys_created_at")
            .await?;
        Ok(())
    }
}
