//! The deadline report's figures of the moment (open, overdue, due soon) and the trend's
//! open missed deadlines read only the open stays. The first index of them
//! (`idx_appeal_stints_open`: agency, day received) still sent every row it found to the
//! table for the deadline and the group; over 1,000,000 appeals that was 180 ms of the
//! report's time. This one holds every column those queries read, so they are answered from
//! the index alone (an index-only scan on PostgreSQL, a covering index on SQLite), and
//! replaces the first. It leads with the day received, which every report restricts.

sql_migration!(
    "m20261201_000010_open_stints_cover",
    up: [
        "CREATE INDEX idx_appeal_stints_open_cover ON appeal_stints \
         (received_day, agency_id, due_day, due_at, paused_at, official_id, category_code, territory_code, kind) \
         WHERE ended_at IS NULL",
        "DROP INDEX IF EXISTS idx_appeal_stints_open",
    ],
    down: [
        "CREATE INDEX idx_appeal_stints_open ON appeal_stints (agency_id, received_day) WHERE ended_at IS NULL",
        "DROP INDEX IF EXISTS idx_appeal_stints_open_cover",
    ],
);
