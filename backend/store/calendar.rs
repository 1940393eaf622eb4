//! The business calendar's declared entries (holidays, working days and days off moved by
//! decree), one row per date. Transfers of weekend holidays are derived, never stored.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};

use super::StoreError;
use super::entity::calendar_entry;
use crate::domain::calendar::{CalendarEntry, EntryKind, Names, YearTable};

/// Every stored year, as tables, in year order.
pub async fn tables(db: &impl ConnectionTrait) -> Result<Vec<YearTable>, StoreError> {
    let rows = calendar_entry::Entity::find().order_by_asc(calendar_entry::Column::Date).all(db).await?;
    let mut tables: Vec<YearTable> = Vec::new();
    for row in rows {
        let entry = CalendarEntry {
            date: row.date,
            kind: parse_kind(&row.kind),
            names: Names { tg: row.name_tg, ru: row.name_ru, en: row.name_en },
            provisional: row.provisional,
            moved_from: row.moved_from,
        };
        match tables.last_mut() {
            Some(table) if table.year == row.year => table.entries.push(entry),
            _ => tables.push(YearTable { year: row.year, entries: vec![entry] }),
        }
    }
    Ok(tables)
}

fn parse_kind(name: &str) -> EntryKind {
    match name {
        "working_day" => EntryKind::WorkingDay,
        "day_off" => EntryKind::DayOff,
        _ => EntryKind::Holiday,
    }
}

/// How many entries are stored (zero before the first seed).
pub async fn count(db: &impl ConnectionTrait) -> Result<u64, StoreError> {
    Ok(calendar_entry::Entity::find().count(db).await?)
}

/// Replaces every entry of `table.year` with the table's entries.
pub async fn replace_year(
    db: &impl ConnectionTrait,
    table: &YearTable,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    calendar_entry::Entity::delete_many()
        .filter(calendar_entry::Column::Year.eq(table.year))
        .exec(db)
        .await?;
    if table.entries.is_empty() {
        return Ok(());
    }
    let rows = table.entries.iter().map(|e| calendar_entry::ActiveModel {
        date: Set(e.date),
        year: Set(table.year),
        kind: Set(e.kind.as_str().to_owned()),
        name_tg: Set(e.names.tg.clone()),
        name_ru: Set(e.names.ru.clone()),
        name_en: Set(e.names.en.clone()),
        provisional: Set(e.provisional),
        moved_from: Set(e.moved_from),
        updated_at: Set(now),
    });
    calendar_entry::Entity::insert_many(rows).exec_without_returning(db).await?;
    Ok(())
}
