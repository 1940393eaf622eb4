//! The jobs table's two working indexes hold only the pending jobs. Done, superseded and
//! failed jobs stay in the table (the record of what ran, and what keeps scheduling
//! idempotent by key), and they soon outnumber the pending ones many times over; indexed by
//! status, every one of them kept an entry in both indexes for good, and every completion
//! wrote two more. As partial indexes on `status = 'pending'`, a job leaves them when it
//! finishes: completing or superseding a job adds entries only to the primary key and the
//! key's unique index, and the indexes stay as large as the work still to do. A third,
//! small partial index counts the jobs that gave up, for `/metrics`. The queries that use
//! them write the status into the SQL (see `store::jobs`), as a planner needs to match an
//! index's condition. The same SQL on SQLite and PostgreSQL.

sql_migration!(
    "m20261202_000015_pending_jobs_indexes",
    up: [
        "CREATE INDEX idx_jobs_pending ON jobs (run_at, id) WHERE status = 'pending'",
        "CREATE INDEX idx_jobs_pending_of_appeal ON jobs (appeal_id) WHERE status = 'pending'",
        "CREATE INDEX idx_jobs_failed ON jobs (id) WHERE status = 'failed'",
        "DROP INDEX idx_jobs_due",
        "DROP INDEX idx_jobs_appeal",
    ],
    down: [
        "CREATE INDEX idx_jobs_due ON jobs (status, run_at)",
        "CREATE INDEX idx_jobs_appeal ON jobs (appeal_id, status)",
        "DROP INDEX IF EXISTS idx_jobs_failed",
        "DROP INDEX IF EXISTS idx_jobs_pending_of_appeal",
        "DROP INDEX IF EXISTS idx_jobs_pending",
    ],
);
