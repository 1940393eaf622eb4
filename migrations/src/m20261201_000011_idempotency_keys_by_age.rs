//! Idempotency keys are kept for `appeals.idempotency_retention_hours` and then deleted by
//! the scheduler's housekeeping; this index lets it find the old ones without reading the
//! table. The same SQL on SQLite and PostgreSQL.

sql_migration!(
    "m20261201_000011_idempotency_keys_by_age",
    up: [
        "CREATE INDEX idx_idempotency_keys_created_at ON idempotency_keys (created_at)",
    ],
    down: [
        "DROP INDEX IF EXISTS idx_idempotency_keys_created_at",
    ],
);
