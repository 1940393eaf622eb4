//! The sender claims the earliest due messages among those pending, failed or being sent.
//! With only the `(status, next_attempt_at)` index, three statuses give three ranges that
//! the database must read in full and sort before it can take the first few, so each claim
//! cost time in proportion to the backlog (27 ms for 30,000 waiting messages), just when a
//! backlog most needs draining. This partial index holds only those messages, in due order,
//! so a claim reads as many entries as it takes. It replaces the old index: with both
//! present, SQLite (without statistics) still chose the old one and sorted. Counting messages
//! by status, for the metrics, read the table instead, every sent message included, until
//! migration 14 gave it an index. The same SQL on SQLite and PostgreSQL.

sql_migration!(
    "m20261201_000013_outbox_claimable",
    up: [
        "CREATE INDEX idx_outbox_claimable ON outbox (next_attempt_at) \
         WHERE status IN ('pending', 'failed', 'sending')",
        "DROP INDEX idx_outbox_due",
    ],
    down: [
        "CREATE INDEX idx_outbox_due ON outbox (status, next_attempt_at)",
        "DROP INDEX IF EXISTS idx_outbox_claimable",
    ],
);
