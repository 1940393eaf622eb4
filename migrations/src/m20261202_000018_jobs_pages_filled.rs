//! The jobs table's pages are filled again (PostgreSQL's default `fillfactor`, 100). Migration
//! 12 kept half of each page free so that the scheduler's lease, an update of no indexed
//! column, could be written as a HOT update. There are no leases since migration 17: a job
//! is updated once, when it completes, and that update changes its status, which the
//! partial due index names, so it is never HOT whatever room a page has. The free half only
//! doubled the pages that filing and the scheduler read, write and log. Pages written before
//! keep their room until they are rewritten; `VACUUM FULL jobs` packs them at once, but locks
//! the table (and so filing and the scheduler) while it runs. SQLite has no such setting;
//! nothing changes there.

sql_migration!(
    "m20261202_000018_jobs_pages_filled",
    postgres only,
    up: ["ALTER TABLE jobs RESET (fillfactor)"],
    down: ["ALTER TABLE jobs SET (fillfactor = 50)"],
);
