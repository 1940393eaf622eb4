//! An index for the query that runs all day: an agency's open queue by due date. The queue
//! asks for several open statuses at once, which `idx_appeals_queue` (agency, status, due)
//! can only answer by reading every open appeal of the agency and sorting them; this partial
//! index holds only open appeals in due-date order, so the first page (and each keyset page)
//! reads just the rows it returns. Partial indexes are the same SQL on SQLite and PostgreSQL.
//! The status list must stay equal to `Status::is_open` for the planner to use the index.

sql_migration!(
    "m20261201_000007_open_queue_index",
    up: [
        "CREATE INDEX idx_appeals_open_queue ON appeals (agency_id, due_at, id) \
         WHERE status IN ('registered', 'in_progress', 'awaiting_citizen', 'contested')",
    ],
    down: [
        "DROP INDEX IF EXISTS idx_appeals_open_queue",
    ],
);
