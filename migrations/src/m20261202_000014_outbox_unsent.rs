//! The messages not yet sent (waiting, being sent, failed, dead, dropped) are few beside the
//! sent ones, which pile up for as long as the outbox is kept. Counting the outbox by status
//! for `/metrics` read every message ever sent on each scrape; this partial index holds only
//! the others, by id with their status, so the count reads as many entries as there are unsent
//! messages, and the administrators' list of failed, dead or dropped messages reads them in
//! id order without passing over the sent ones. The same SQL on SQLite and PostgreSQL.

sql_migration!(
    "m20261202_000014_outbox_unsent",
    up: [
        "CREATE INDEX idx_outbox_unsent ON outbox (id, status) WHERE status <> 'sent'",
    ],
    down: [
        "DROP INDEX IF EXISTS idx_outbox_unsent",
    ],
);
