//! Full-text search over an appeal's subject and text. The two backends differ here, so
//! this migration is the one place that asks which backend it runs on:
//! - PostgreSQL: a GIN index on `to_tsvector('simple', subject || ' ' || body)`;
//! - SQLite: an FTS5 index (unicode61 tokenizer: Unicode case folding, so Cyrillic and the
//!   Tajik letters match case-insensitively) kept current by triggers.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000003_appeal_search"
    }
}

// The index keeps its own copy of the text keyed by the appeal id: an external-content
// index would key on SQLite's rowid, which VACUUM may renumber for a table whose primary
// key is not an integer.
const SQLITE_UP: &[&str] = &[
    "CREATE VIRTUAL TABLE appeals_fts USING fts5(appeal_id UNINDEXED, subject, body, tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER appeals_fts_insert AFTER INSERT ON appeals BEGIN \
       INSERT INTO appeals_fts(appeal_id, subject, body) VALUES (new.id, new.subject, new.body); END",
    "CREATE TRIGGER appeals_fts_delete AFTER DELETE ON appeals BEGIN \
       DELETE FROM appeals_fts WHERE appeal_id = old.id; END",
    "CREATE TRIGGER appeals_fts_update AFTER UPDATE OF subject, body ON appeals BEGIN \
       DELETE FROM appeals_fts WHERE appeal_id = old.id; \
       INSERT INTO appeals_fts(appeal_id, subject, body) VALUES (new.id, new.subject, new.body); END",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS appeals_fts_update",
    "DROP TRIGGER IF EXISTS appeals_fts_delete",
    "DROP TRIGGER IF EXISTS appeals_fts_insert",
    "DROP TABLE IF EXISTS appeals_fts",
];

const POSTGRES_UP: &[&str] =
    &["CREATE INDEX idx_appeals_search ON appeals USING GIN (to_tsvector('simple', subject || ' ' || body))"];

const POSTGRES_DOWN: &[&str] = &["DROP INDEX IF EXISTS idx_appeals_search"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements = match manager.get_database_backend() {
            DbBackend::Sqlite => SQLITE_UP,
            _ => POSTGRES_UP,
        };
        for sql in statements {
            manager.get_connection().execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements = match manager.get_database_backend() {
            DbBackend::Sqlite => SQLITE_DOWN,
            _ => POSTGRES_DOWN,
        };
        for sql in statements {
            manager.get_connection().execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
