//! Many rows into one table at once: where SQLite and PostgreSQL differ.
//!
//! A multi-row INSERT binds every value as its own parameter. PostgreSQL parses and binds
//! those slowly: the scheduler's batch of 1,000 events (13,000 parameters) spent 25 ms
//! parsing and 32 ms binding against 24 ms executing. On PostgreSQL the rows therefore go
//! as one JSON parameter, which `jsonb_populate_recordset` turns back into rows of the
//! table's own type, so each value is converted by the column's type as an INSERT would.
//! SQLite binds cheaply and keeps the multi-row INSERT.

use sea_orm::sea_query::{OnConflict, Value};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, EntityName, EntityTrait, IdenStatic, Iterable, Statement,
};

use super::StoreError;

/// Rows per statement on SQLite, under its limit of 32,766 bound parameters.
const SQLITE_CHUNK: usize = 1_000;

/// Whether a row that would repeat a unique key is skipped or an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDuplicate {
    Fail,
    Skip,
}

/// Inserts `rows` (each setting the same columns) and returns how many were written: fewer
/// than given only when `on_duplicate` skipped some.
pub async fn insert<A>(
    db: &impl ConnectionTrait,
    rows: Vec<A>,
    on_duplicate: OnDuplicate,
) -> Result<u64, StoreError>
where
    A: ActiveModelTrait + Send,
{
    if rows.is_empty() {
        return Ok(0);
    }
    if db.get_database_backend() == DbBackend::Postgres
        && let Some(statement) = as_json_recordset(&rows, on_duplicate)
    {
        return Ok(db.execute_raw(statement).await?.rows_affected());
    }
    // The portable form: one multi-row INSERT per SQLITE_CHUNK rows.
    let mut written = 0;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(SQLITE_CHUNK).collect();
        let mut insert = A::Entity::insert_many(chunk);
        if on_duplicate == OnDuplicate::Skip {
            insert = insert.on_conflict(OnConflict::new().do_nothing().to_owned());
        }
        written += insert.exec_without_returning(db).await?;
    }
    Ok(written)
}

/// `INSERT INTO t (cols) SELECT cols FROM jsonb_populate_recordset(NULL::t, $1)`, or `None`
/// when a row sets other columns than the first or holds a value JSON cannot carry
/// faithfully (the caller then uses the portable form).
fn as_json_recordset<A: ActiveModelTrait>(rows: &[A], on_duplicate: OnDuplicate) -> Option<Statement> {
    let set = |row: &A| -> Vec<_> {
        <A::Entity as EntityTrait>::Column::iter().filter(|c| row.get(*c).into_value().is_some()).collect()
    };
    let columns = set(&rows[0]);
    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        if names(&set(row)) != names(&columns) {
            return None;
        }
        let mut record = serde_json::Map::with_capacity(columns.len());
        for column in &columns {
            record.insert(column.as_str().to_owned(), json_of(&row.get(*column).into_value()?)?);
        }
        records.push(serde_json::Value::Object(record));
    }
    let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
    let table = quote(A::Entity::default().table_name());
    let list = columns.iter().map(|c| quote(c.as_str())).collect::<Vec<_>>().join(", ");
    let skip = if on_duplicate == OnDuplicate::Skip { " ON CONFLICT DO NOTHING" } else { "" };
    let sql = format!(
        "INSERT INTO {table} ({list}) SELECT {list} FROM jsonb_populate_recordset(NULL::{table}, $1){skip}"
    );
    Some(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        [Value::Json(Some(Box::new(serde_json::Value::Array(records))))],
    ))
}

fn names<C: IdenStatic>(columns: &[C]) -> Vec<&'static str> {
    columns.iter().map(IdenStatic::as_str).collect()
}

/// A column value as JSON that PostgreSQL reads back as the same value, for the types the
/// tables use; `None` for any other.
fn json_of(value: &Value) -> Option<serde_json::Value> {
    use serde_json::Value as Json;
    Some(match value {
        Value::Bool(v) => v.map_or(Json::Null, Json::Bool),
        Value::SmallInt(v) => v.map_or(Json::Null, Json::from),
        Value::Int(v) => v.map_or(Json::Null, Json::from),
        Value::BigInt(v) => v.map_or(Json::Null, Json::from),
        Value::String(v) => v.as_ref().map_or(Json::Null, |s| Json::String(s.clone())),
        Value::Uuid(v) => v.map_or(Json::Null, |u| Json::String(u.to_string())),
        Value::ChronoDateTimeUtc(v) => {
            v.map_or(Json::Null, |t| Json::String(t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)))
        }
        Value::ChronoDate(v) => v.map_or(Json::Null, |d| Json::String(d.to_string())),
        // JSON's null would arrive as SQL NULL, not as the JSON value null.
        Value::Json(Some(v)) if v.is_null() => return None,
        Value::Json(v) => v.as_deref().cloned().unwrap_or(Json::Null),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use sea_orm::{ActiveValue::NotSet, Set};
    use uuid::Uuid;

    use super::*;
    use crate::store::entity::job;

    fn row() -> job::ActiveModel {
        let at = DateTime::from_timestamp(1_780_000_000, 123_456_000).unwrap();
        job::ActiveModel {
            id: Set(Uuid::nil()),
            kind: Set("deadline".to_owned()),
            appeal_id: Set(None),
            run_at: Set(at),
            dedupe_key: Set("deadline:x".to_owned()),
            payload: Set("{}".to_owned()),
            status: Set("done".to_owned()),
            attempts: Set(1),
            ran_by: Set(None),
            last_error: Set(None),
            done_at: Set(None),
            outcome: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
        }
    }

    #[test]
    fn rows_go_to_postgresql_as_one_json_parameter() {
        let statement = as_json_recordset(&[row(), row()], OnDuplicate::Skip).expect("JSON can carry them");
        assert_eq!(
            statement.sql,
            "INSERT INTO \"jobs\" (\"id\", \"kind\", \"appeal_id\", \"run_at\", \"dedupe_key\", \"payload\", \
             \"status\", \"attempts\", \"ran_by\", \"last_error\", \"done_at\", \"outcome\", \"created_at\", \
             \"updated_at\") SELECT \"id\", \"kind\", \"appeal_id\", \"run_at\", \"dedupe_key\", \"payload\", \
             \"status\", \"attempts\", \"ran_by\", \"last_error\", \"done_at\", \"outcome\", \"created_at\", \
             \"updated_at\" FROM jsonb_populate_recordset(NULL::\"jobs\", $1) ON CONFLICT DO NOTHING"
        );
        let Some(values) = statement.values else { panic!("one parameter") };
        let [Value::Json(Some(rows))] = values.0.as_slice() else { panic!("one JSON parameter") };
        assert_eq!(rows[0]["run_at"], "2026-05-28T20:26:40.123456Z", "to the microsecond, in UTC");
        assert_eq!(rows[1]["done_at"], serde_json::Value::Null);
    }

    #[test]
    fn rows_of_different_shapes_or_with_a_json_null_take_the_portable_form() {
        let mut partial = row();
        partial.done_at = NotSet;
        assert!(as_json_recordset(&[row(), partial], OnDuplicate::Fail).is_none());
        assert!(json_of(&Value::Json(Some(Box::new(serde_json::Value::Null)))).is_none());
        assert_eq!(json_of(&Value::Json(None)), Some(serde_json::Value::Null), "SQL NULL");
    }
}
