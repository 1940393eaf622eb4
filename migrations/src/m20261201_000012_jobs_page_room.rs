//! Room on the jobs table's pages for the scheduler's lease update. Claiming a job sets its
//! lease (owner, expiry, attempts), none of them indexed, so PostgreSQL can write the new row
//! version on the same page without touching the table's four indexes (a "HOT" update),
//! but only if the page has room. Filled to 100% (the default), it has none, and every lease
//! cost a new entry in each index. SQLite has no such setting; nothing changes there.

sql_migration!(
    "m20261201_000012_jobs_page_room",
    postgres only,
    up: ["ALTER TABLE jobs SET (fillfactor = 50)"],
    down: ["ALTER TABLE jobs RESET (fillfactor)"],
);
