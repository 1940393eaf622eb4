//! The escalations nobody was alerted to (`notified_at` empty: the agency had no active
//! supervisor, the appeal no assignee, the agency no address), for `/metrics`. Few beside
//! the others, so a partial index of them keeps the count as short as what it counts. The
//! same SQL on SQLite and PostgreSQL.

sql_migration!(
    "m20261202_000016_unalerted_escalations",
    up: [
        "CREATE INDEX idx_escalations_unalerted ON escalations (id) WHERE notified_at IS NULL",
    ],
    down: [
        "DROP INDEX IF EXISTS idx_escalations_unalerted",
    ],
);
