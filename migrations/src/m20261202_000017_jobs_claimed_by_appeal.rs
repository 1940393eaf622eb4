//! Jobs are claimed by holding their appeals for the transaction that runs them, no longer
//! under a lease written first: the lease's expiry goes, and its owner becomes the
//! scheduler that last ran the job (`ran_by`). The same SQL on SQLite (3.35 and later) and
//! PostgreSQL; the column is in no index.

sql_migration!(
    "m20261202_000017_jobs_claimed_by_appeal",
    up: [
        "ALTER TABLE jobs DROP COLUMN lease_expires_at",
        "ALTER TABLE jobs RENAME COLUMN lease_owner TO ran_by",
    ],
    down: [
        "ALTER TABLE jobs RENAME COLUMN ran_by TO lease_owner",
        "ALTER TABLE jobs ADD COLUMN lease_expires_at TIMESTAMP WITH TIME ZONE NULL",
    ],
);
