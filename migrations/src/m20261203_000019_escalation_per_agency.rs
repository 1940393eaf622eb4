//! A missed deadline is escalated once per agency that has the appeal when it is missed,
//! not once per appeal: an appeal forwarded after its deadline passed (forwarding keeps the
//! original registration date by default) is the receiving agency's to answer, late, and its
//! supervisors are told. The unique index of escalations gains the agency (under a new name:
//! on SQLite the statements may run on different pooled connections, and one that had not
//! seen the old index dropped would refuse a new one of the same name). Going down keeps
//! the first escalation of each (appeal, due instant) and deletes the others.

sql_migration!(
    "m20261203_000019_escalation_per_agency",
    up: [
        "CREATE UNIQUE INDEX idx_escalations_once_per_agency ON escalations (appeal_id, agency_id, due_at)",
        "DROP INDEX idx_escalations_once",
    ],
    down: [
        "DELETE FROM escalations WHERE EXISTS (SELECT 1 FROM escalations AS kept \
         WHERE kept.appeal_id = escalations.appeal_id AND kept.due_at = escalations.due_at \
         AND (kept.escalated_at < escalations.escalated_at \
         OR (kept.escalated_at = escalations.escalated_at AND kept.id < escalations.id)))",
        "CREATE UNIQUE INDEX idx_escalations_once ON escalations (appeal_id, due_at)",
        "DROP INDEX idx_escalations_once_per_agency",
    ],
);
