//! The jobs table's due index holds only the pending jobs. Done, superseded and failed jobs
//! stay in the table (the record of what ran, and what keeps scheduling idempotent by key),
//! and they soon outnumber the pending ones many times over; indexed by status, every one of
//! them kept an entry in the due index for good, and every completion wrote one more. As a
//! partial index on `status = 'pending'`, a job leaves it when it finishes, and the index
//! stays as large as the work still to do. A second, small partial index counts the jobs
//! that gave up, for `/metrics`. The index of an appeal's jobs stays whole: it also serves
//! the foreign key to appeals. The queries that use the partial indexes write the status
//! into their SQL (see `store::jobs`), as a planner needs to match an index's condition. The
//! same SQL on SQLite and PostgreSQL.

sql_migration!(
    "m20261202_000015_pending_jobs_indexes",
    up: [
        "CREATE INDEX idx_jobs_pending ON jobs (run_at, id) WHERE status = 'pending'",
        "CREATE INDEX idx_jobs_failed ON jobs (id) WHERE status = 'failed'",
        "DROP INDEX idx_jobs_due",
    ],
    down: [
        "CREATE INDEX idx_jobs_due ON jobs (status, run_at)",
        "DROP INDEX IF EXISTS idx_jobs_failed",
        "DROP INDEX IF EXISTS idx_jobs_pending",
    ],
);
