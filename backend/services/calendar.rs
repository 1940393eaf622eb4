//! The business calendar as data in the database: seeded from config/calendar on first
//! start, listed and edited per year by administrators, and put in force at once in this
//! process. Every process also reads the stored calendar again every
//! `appeals.reference_cache_secs` ([`watch`], [`refresh`]), so an edit made through another
//! process is in force here within that time.

use chrono::Datelike;

use super::accounts::require_admin;
use super::appeals::recompute::{self, Recomputed};
use super::{Caller, ServiceError};
use crate::app::App;
use crate::domain::calendar::{BusinessCalendar, CalendarEntry, YEARS, YearListing, YearTable};
use crate::domain::field::FieldError;
use crate::store::{StoreError, calendar};

/// Loads the calendar from the database into the process's cache, first seeding an empty
/// database with the years of the configuration files.
pub async fn load(app: &App) -> Result<(), ServiceError> {
    let txn = app.db.write().await?;
    let tables = tables_seeded(app, &txn).await?;
    txn.commit().await?;
    put_in_force(app, tables)
}

/// Reads the stored calendar and puts it in force if it differs from the one in force here
/// (an administrator edited it through another process); true when it did. A database whose
/// calendar was emptied is left to the next start, which seeds it again from the files.
pub async fn refresh(app: &App) -> Result<bool, ServiceError> {
    let tables = calendar::tables(app.db.conn()).await?;
    if tables.is_empty() || app.jurisdiction.calendar.holds(&tables) {
        return Ok(false);
    }
    put_in_force(app, tables)?;
    tracing::info!("the business calendar changed in the database; the new one is in force");
    Ok(true)
}

/// Runs [`refresh`] every `appeals.reference_cache_secs` (at least every second) until `stop`
/// turns true; `serve` and `worker` run it beside their other work.
pub async fn watch(app: App, mut stop: tokio::sync::watch::Receiver<bool>) {
    let every = std::time::Duration::from_secs(app.settings.appeals.reference_cache_secs.max(1));
    while !super::paused_until_stopped(every, &mut stop).await {
        if let Err(error) = refresh(&app).await {
            tracing::warn!(%error, "reading the business calendar failed; the one in force stays");
        }
    }
}

fn put_in_force(app: &App, tables: Vec<YearTable>) -> Result<(), ServiceError> {
    let built = BusinessCalendar::new(app.jurisdiction.calendar.rules(), tables.clone())
        .map_err(|e| ServiceError::Internal(format!("the stored calendar is inconsistent: {e}")))?;
    app.jurisdiction.calendar.replace_stored(built, tables);
    Ok(())
}

async fn tables_seeded(app: &App, txn: &sea_orm::DatabaseTransaction) -> Result<Vec<YearTable>, StoreError> {
    if calendar::count(txn).await? == 0 {
        let now = app.clock.now();
        for table in app.jurisdiction.calendar.file_tables() {
            calendar::replace_year(txn, table, now).await?;
        }
    }
    calendar::tables(txn).await
}

/// One year as an administrator sees it: every entry, declared and derived, and which of
/// them were declared. Empty when the year has no entry.
#[derive(Debug, Clone)]
pub struct YearView {
    pub listing: YearListing,
    pub declared: Vec<CalendarEntry>,
    /// What an edit did to the stored deadlines; `None` on a read.
    pub recomputed: Option<Recomputed>,
}

/// Lists `year` (reloading the calendar from the database first).
pub async fn year(app: &App, caller: &Caller, year: i32) -> Result<YearView, ServiceError> {
    require_admin(caller)?;
    check_year(year)?;
    load(app).await?;
    Ok(view(app, year, None).await?)
}

/// Replaces the declared entries of `year` (holidays, working days and days off by decree),
/// checks the whole calendar still holds together, stores it and puts it in force.
pub async fn set_year(
    app: &App,
    caller: &Caller,
    year: i32,
    entries: Vec<CalendarEntry>,
) -> Result<YearView, ServiceError> {
    require_admin(caller)?;
    check_year(year)?;
    if let Some((index, entry)) = entries.iter().enumerate().find(|(_, e)| e.date.year() != year) {
        return Err(FieldError::new(
            format!("entries[{index}].date"),
            "outside_year",
            format!("{} is not in {year}", entry.date),
        )
        .into());
    }
    let txn = app.db.write().await?;
    let mut tables = tables_seeded(app, &txn).await?;
    // The calendar as stored before the edit (another process may have edited it since this
    // one last read it), which the stored deadlines were computed on.
    let before = BusinessCalendar::new(app.jurisdiction.calendar.rules(), tables.clone())
        .map_err(|e| ServiceError::Internal(format!("the stored calendar is inconsistent: {e}")))?;
    tables.retain(|t| t.year != year);
    let table = YearTable { year, entries };
    let mut stored = table.clone();
    stored.entries.sort_by_key(|e| e.date);
    tables.push(stored);
    // As the database lists them: years in order, each year's entries by date.
    tables.sort_by_key(|t| t.year);
    let built = BusinessCalendar::new(app.jurisdiction.calendar.rules(), tables.clone())
        .map_err(|e| FieldError::new("entries", "inconsistent", e.to_string()))?;
    let now = app.clock.now();
    calendar::replace_year(&txn, &table, now).await?;
    let recomputed = match recompute::first_changed_day(&before, &built, year) {
        Some(from) => {
            recompute::after_calendar_edit(app, &txn, &before, &built, from, caller.id, now).await?
        }
        None => Recomputed::default(),
    };
    txn.commit().await?;
    app.jurisdiction.calendar.replace_stored(built, tables);
    if recomputed != Recomputed::default() {
        tracing::info!(
            year,
            replayed = recomputed.replayed,
            moved = recomputed.moved,
            windows_moved = recomputed.windows_moved,
            forwarding_windows_moved = recomputed.forwarding_windows_moved,
            reminders_moved = recomputed.reminders_moved,
            unexplained = recomputed.unexplained,
            "the calendar edit moved deadlines"
        );
    }
    Ok(YearView { recomputed: Some(recomputed), ..view(app, year, Some(table.entries)).await? })
}

async fn view(app: &App, year: i32, declared: Option<Vec<CalendarEntry>>) -> Result<YearView, StoreError> {
    let current = app.jurisdiction.calendar.current();
    let rules = current.rules();
    let listing = current.year(year).unwrap_or_else(|| YearListing {
        year,
        time_zone: rules.time_zone.name().to_owned(),
        weekend: rules.weekend.days().map(|d| crate::domain::calendar::weekday_name(d).to_owned()).collect(),
        entries: Vec::new(),
    });
    let declared = match declared {
        Some(d) => d,
        None => calendar::tables(app.db.conn())
            .await?
            .into_iter()
            .find(|t| t.year == year)
            .map(|t| t.entries)
            .unwrap_or_default(),
    };
    Ok(YearView { listing, declared, recomputed: None })
}

fn check_year(year: i32) -> Result<(), ServiceError> {
    if YEARS.contains(&year) {
        Ok(())
    } else {
        let (first, last) = (YEARS.start(), YEARS.end());
        Err(FieldError::new("year", "out_of_range", format!("must be between {first} and {last}")).into())
    }
}
