//! Writes whose outcome nothing reads before the transaction commits (the jobs, the event,
//! the report's stays and tallies, the emails a change makes due), collected while a service
//! works and sent together just before it commits.
//!
//! Each statement sent is a round trip, and most of what a statement costs the server and
//! PostgreSQL is the exchange itself, not the row: a filing's five follow-up writes took as
//! much CPU as the rest of it together. On PostgreSQL, [`Deferred::flush`] therefore sends them
//! as one statement, each write a data-modifying `WITH` part. SQLite runs in this process (no
//! round trip to save) and has no data-modifying `WITH`, so there they run one after another.
//!
//! Two rules follow from PostgreSQL running every part of one statement against the same
//! snapshot, in an order it chooses:
//! - no two writes of one flush may touch the same row;
//! - nothing that reads the database before the flush may depend on them.
//!
//! A write that fails fails the flush (the whole statement, on PostgreSQL), and the caller's
//! transaction rolls back as it would for any failed write.

use std::fmt::Write as _;

use sea_orm::sea_query::{InsertStatement, PostgresQueryBuilder, SqlWriterValues, UpdateStatement};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use super::StoreError;

/// PostgreSQL accepts at most 65,535 bound values in one statement; a flush with more is sent
/// as several statements of at most this many.
const VALUES_PER_STATEMENT: usize = 30_000;

/// One write of a [`Deferred`] batch.
#[derive(Debug, Clone)]
pub enum Write {
    Insert(InsertStatement),
    Update(UpdateStatement),
}

impl From<InsertStatement> for Write {
    fn from(statement: InsertStatement) -> Self {
        Write::Insert(statement)
    }
}

impl From<UpdateStatement> for Write {
    fn from(statement: UpdateStatement) -> Self {
        Write::Update(statement)
    }
}

impl Write {
    fn build_into(&self, sql: &mut SqlWriterValues) {
        match self {
            Write::Insert(statement) => statement.build_collect_any_into(&PostgresQueryBuilder, sql),
            Write::Update(statement) => statement.build_collect_any_into(&PostgresQueryBuilder, sql),
        }
    }

    fn build(&self, backend: DbBackend) -> Statement {
        match self {
            Write::Insert(statement) => backend.build(statement),
            Write::Update(statement) => backend.build(statement),
        }
    }

    /// How many values the write binds.
    fn values(&self) -> usize {
        let mut sql = SqlWriterValues::new("$", true);
        self.build_into(&mut sql);
        sql.into_parts().1.0.len()
    }
}

/// Writes collected in one transaction, to be sent by [`Deferred::flush`] before it commits
/// (see the module's documentation for the rules they must keep).
#[derive(Debug, Default)]
#[must_use = "deferred writes are only made by `flush`"]
pub struct Deferred {
    writes: Vec<Write>,
}

impl Deferred {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a write, to be made at the flush.
    pub fn push(&mut self, write: impl Into<Write>) {
        self.writes.push(write.into());
    }

    /// Adds several writes.
    pub fn extend<W: Into<Write>>(&mut self, writes: impl IntoIterator<Item = W>) {
        self.writes.extend(writes.into_iter().map(Into::into));
    }

    /// How many writes are waiting.
    pub fn len(&self) -> usize {
        self.writes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// Makes every write, in `db` (the transaction that collected them).
    pub async fn flush(self, db: &impl ConnectionTrait) -> Result<(), StoreError> {
        let backend = db.get_database_backend();
        let statements = match backend {
            DbBackend::Postgres => combined(&self.writes),
            _ => self.writes.iter().map(|write| write.build(backend)).collect(),
        };
        for statement in statements {
            db.execute_raw(statement).await?;
        }
        Ok(())
    }
}

/// The writes as few PostgreSQL statements: `WITH w1 AS (…), w2 AS (…) <last write>`, each
/// binding at most [`VALUES_PER_STATEMENT`] values (a single write with more is sent alone).
/// Rendering clones every value, so the usual case, one statement, is rendered once.
fn combined(writes: &[Write]) -> Vec<Statement> {
    let Some(all) = one_statement(writes) else { return Vec::new() };
    if all.values.as_ref().map_or(0, |values| values.0.len()) <= VALUES_PER_STATEMENT {
        return vec![all];
    }
    let mut statements = Vec::new();
    let mut start = 0;
    let mut bound = 0;
    for (at, write) in writes.iter().enumerate() {
        let values = write.values();
        if at > start && bound + values > VALUES_PER_STATEMENT {
            statements.extend(one_statement(&writes[start..at]));
            start = at;
            bound = 0;
        }
        bound += values;
    }
    statements.extend(one_statement(&writes[start..]));
    statements
}

fn one_statement(group: &[Write]) -> Option<Statement> {
    let (last, parts) = group.split_last()?;
    Some(with_parts(parts.iter().enumerate().map(|(n, part)| (format!("w{n}"), part)), last))
}

/// `WITH name AS (part), … last` as one PostgreSQL statement, the values numbered through
/// from `$1`: how every combined statement is rendered (the parts may be read by name in the
/// ones after them, as a `RETURNING` feeds the next write).
pub fn with_parts<'a, N: std::fmt::Display>(
    parts: impl IntoIterator<Item = (N, &'a Write)>,
    last: &Write,
) -> Statement {
    let mut sql = SqlWriterValues::new("$", true);
    let mut named = false;
    for (name, part) in parts {
        let _ = write!(sql, "{} {name} AS (", if named { "," } else { "WITH" });
        part.build_into(&mut sql);
        let _ = write!(sql, ")");
        named = true;
    }
    if named {
        let _ = write!(sql, " ");
    }
    last.build_into(&mut sql);
    let (sql, values) = sql.into_parts();
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};

    use super::*;

    fn insert(table: &str, values: usize) -> Write {
        let columns: Vec<Alias> = (0..values).map(|n| Alias::new(format!("c{n}"))).collect();
        let row: Vec<Expr> = (0..values).map(|n| Expr::val(n as i64)).collect();
        Query::insert().into_table(Alias::new(table)).columns(columns).values_panic(row).to_owned().into()
    }

    fn update(table: &str) -> Write {
        Query::update()
            .table(Alias::new(table))
            .value(Alias::new("status"), "superseded")
            .and_where(Expr::col(Alias::new("id")).eq(7))
            .to_owned()
            .into()
    }

    #[test]
    fn writes_become_one_statement_with_the_values_numbered_through() {
        let statements = combined(&[insert("a", 2), update("b"), insert("c", 1)]);
        assert_eq!(statements.len(), 1);
        let statement = &statements[0];
        assert_eq!(
            statement.sql,
            r#"WITH w0 AS (INSERT INTO "a" ("c0", "c1") VALUES ($1, $2)), w1 AS (UPDATE "b" SET "status" = $3 WHERE "id" = $4) INSERT INTO "c" ("c0") VALUES ($5)"#
        );
        assert_eq!(statement.values.as_ref().map(|v| v.0.len()), Some(5));
    }

    #[test]
    fn a_single_write_is_sent_as_it_is() {
        let statements = combined(&[update("b")]);
        assert_eq!(statements.len(), 1);
        assert_eq!(statements[0].sql, r#"UPDATE "b" SET "status" = $1 WHERE "id" = $2"#);
    }

    #[test]
    fn writes_binding_too_many_values_are_split_between_statements() {
        let wide = VALUES_PER_STATEMENT / 2 + 1;
        let statements = combined(&[insert("a", wide), insert("b", wide), insert("c", 3)]);
        assert_eq!(statements.len(), 2);
        assert!(statements[0].sql.starts_with(r#"INSERT INTO "a""#), "the first goes alone");
        assert!(statements[1].sql.starts_with(r#"WITH w0 AS (INSERT INTO "b""#));
        assert_eq!(statements[1].values.as_ref().map(|v| v.0.len()), Some(wide + 3));
        assert!(combined(&[]).is_empty());
    }
}
