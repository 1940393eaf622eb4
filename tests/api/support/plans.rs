//! How the database under test plans a statement, for the tests that promise an index.

use murojiat::store::Backend;
use sea_orm::sea_query::{PostgresQueryBuilder, QueryBuilder};
use sea_orm::{ConnectionTrait, DbBackend, Statement, StatementBuilder, TransactionTrait};

use super::TestApp;

/// How the database under test plans `statement` as it is sent, with its values bound:
/// PostgreSQL with the generic plan it settles on after a few runs (scans that read
/// everything and sorts are priced out, so only an index that can serve the statement is
/// chosen), SQLite as it prepares it. `tables` are read first on SQLite (see below). Nothing
/// the statement would write is written.
pub async fn plan_of(app: &TestApp, statement: &Statement, tables: &[&str]) -> String {
    let values = statement.values.as_ref().map(|v| v.0.clone()).unwrap_or_default();
    let txn = app.db.conn().begin().await.unwrap();
    let lines: Vec<String> = match app.db.backend() {
        Backend::Postgres => {
            let arguments: Vec<String> =
                values.iter().map(|v| PostgresQueryBuilder.value_to_string(v)).collect();
            for setting in
                ["plan_cache_mode = force_generic_plan", "enable_seqscan = off", "enable_sort = off"]
            {
                txn.execute_unprepared(&format!("SET LOCAL {setting}")).await.unwrap();
            }
            txn.execute_unprepared(&format!("PREPARE plan_probe AS {}", statement.sql)).await.unwrap();
            let explain = match arguments.is_empty() {
                true => "EXPLAIN EXECUTE plan_probe".to_owned(),
                false => format!("EXPLAIN EXECUTE plan_probe({})", arguments.join(", ")),
            };
            let rows = txn.query_all_raw(Statement::from_string(DbBackend::Postgres, explain)).await.unwrap();
            txn.execute_unprepared("DEALLOCATE plan_probe").await.unwrap();
            rows.iter().map(|row| row.try_get::<String>("", "QUERY PLAN").unwrap()).collect()
        }
        Backend::Sqlite => {
            // Planning reads no table, so a pooled connection could plan with the schema it
            // loaded before the migrations; a read on the same connection brings it up to date.
            for table in tables {
                txn.execute_unprepared(&format!("SELECT count(*) FROM {table}")).await.unwrap();
            }
            let explain = Statement::from_sql_and_values(
                DbBackend::Sqlite,
                format!("EXPLAIN QUERY PLAN {}", statement.sql),
                values,
            );
            let rows = txn.query_all_raw(explain).await.unwrap();
            rows.iter().map(|row| row.try_get::<String>("", "detail").unwrap()).collect()
        }
    };
    txn.rollback().await.unwrap();
    lines.join("\n")
}

/// [`plan_of`] for a statement built for the database under test.
pub async fn plan_of_query(app: &TestApp, query: &impl StatementBuilder, tables: &[&str]) -> String {
    plan_of(app, &app.db.conn().get_database_backend().build(query), tables).await
}
