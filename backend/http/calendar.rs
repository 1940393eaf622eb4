//! The business calendar per year: `/api/v1/admin/calendar/{year}`.

use axum::Json;
use axum::extract::{Path, State};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Authenticated, Valid};
use super::problem::ApiError;
use crate::app::App;
use crate::domain::calendar::{CalendarEntry, EntryKind, Names};
use crate::domain::field::FieldError;
use crate::services::calendar::{self, YearView};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(get_year, put_year))
}

/// One dated entry of the calendar.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarEntryBody {
    pub date: NaiveDate,
    /// `holiday` (a day off by law), `working_day` (a weekend day worked by decree) or
    /// `day_off` (a weekday off by decree, or a holiday's transfer).
    pub kind: String,
    pub name_tg: String,
    pub name_ru: String,
    pub name_en: String,
    /// The date is expected but not yet announced.
    #[serde(default)]
    pub provisional: bool,
    /// For a day off that replaces another day: the day it moved from.
    #[serde(default)]
    pub moved_from: Option<NaiveDate>,
    /// In responses: true for a transfer the program derived (a holiday on a weekend moves
    /// its day off to the next working day). Derived entries sent back are ignored.
    #[serde(default)]
    pub derived: bool,
}

/// A year of the calendar.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CalendarYearView {
    pub year: i32,
    /// IANA time zone; deadlines end at 23:59:59 there.
    pub time_zone: String,
    /// Weekend days, lower-case English names.
    pub weekend: Vec<String>,
    /// Every entry in date order, declared and derived.
    pub entries: Vec<CalendarEntryBody>,
    /// After an edit (absent on a read): what it did to the deadlines of open appeals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadlines: Option<DeadlinesRecomputed>,
}

/// The deadlines of open appeals an edit of the calendar moved (docs/deadlines.md).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeadlinesRecomputed {
    /// Open appeals due on or after the first changed day, their deadlines not yet passed,
    /// whose timelines were replayed.
    pub replayed: u64,
    /// Deadlines moved, each with a public `recompute_deadline` event.
    pub moved: u64,
    /// The citizen's open windows moved (to answer a request for information, to contest
    /// an answer), each with a public `recompute_deadline` event.
    pub windows_moved: u64,
    /// Agencies' open windows to forward an appeal they are not competent for, moved, each
    /// with an internal `recompute_deadline` event.
    pub forwarding_windows_moved: u64,
    /// Pending reminders moved to their working day on the edited calendar, of deadlines
    /// the edit left where they were (a day between a reminder and the last day changed).
    /// Reminders of moved deadlines are planned anew and not counted here.
    pub reminders_moved: u64,
    /// Appeals whose timeline does not give their stored deadline (or window) on the
    /// calendar before the edit (their policy changed since, say): left as they were, and
    /// logged.
    pub unexplained: u64,
}

/// The declared entries of a year, replacing the year's current ones.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutCalendarYear {
    pub entries: Vec<CalendarEntryBody>,
}

/// List a year of the business calendar.
#[utoipa::path(get, path = "/api/v1/admin/calendar/{year}", tag = "admin", security(("bearer" = [])),
    params(("year" = i32, Path, description = "The calendar year")),
    responses((status = 200, description = "The year's entries", body = CalendarYearView)))]
async fn get_year(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(year): Path<String>,
) -> Result<Json<CalendarYearView>, ApiError> {
    let year = parse_year(&year)?;
    Ok(Json(view(calendar::year(&app, &caller, year).await?)))
}

/// Replace the declared entries of a year (holidays, moves by decree). The whole calendar
/// is checked before it is stored; it is in force at once, and the deadlines of open appeals
/// that crossed a changed day move with it.
#[utoipa::path(put, path = "/api/v1/admin/calendar/{year}", tag = "admin", security(("bearer" = [])),
    params(("year" = i32, Path, description = "The calendar year")),
    request_body = PutCalendarYear,
    responses((status = 200, description = "The year as now in force", body = CalendarYearView)))]
async fn put_year(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(year): Path<String>,
    Valid(body): Valid<PutCalendarYear>,
) -> Result<Json<CalendarYearView>, ApiError> {
    let year = parse_year(&year)?;
    let mut errors = Vec::new();
    let mut entries = Vec::new();
    for (index, entry) in body.entries.into_iter().enumerate().filter(|(_, e)| !e.derived) {
        let kind = match entry.kind.as_str() {
            "holiday" => Some(EntryKind::Holiday),
            "working_day" => Some(EntryKind::WorkingDay),
            "day_off" => Some(EntryKind::DayOff),
            _ => None,
        };
        for (field, name) in
            [("name_tg", &entry.name_tg), ("name_ru", &entry.name_ru), ("name_en", &entry.name_en)]
        {
            let length = name.trim().chars().count();
            if length == 0 || length > 300 {
                errors.push(FieldError::invalid(
                    format!("entries[{index}].{field}"),
                    "must be 1 to 300 characters",
                ));
            }
        }
        let Some(kind) = kind else {
            errors.push(FieldError::invalid(
                format!("entries[{index}].kind"),
                "must be holiday, working_day or day_off",
            ));
            continue;
        };
        entries.push(CalendarEntry {
            date: entry.date,
            kind,
            names: Names {
                tg: entry.name_tg.trim().to_owned(),
                ru: entry.name_ru.trim().to_owned(),
                en: entry.name_en.trim().to_owned(),
            },
            provisional: entry.provisional,
            moved_from: entry.moved_from,
        });
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(Json(view(calendar::set_year(&app, &caller, year, entries).await?)))
}

fn parse_year(raw: &str) -> Result<i32, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found())
}

fn view(year: YearView) -> CalendarYearView {
    let entries = year
        .listing
        .entries
        .into_iter()
        .map(|e| CalendarEntryBody {
            derived: !year.declared.contains(&e),
            date: e.date,
            kind: e.kind.as_str().to_owned(),
            name_tg: e.names.tg,
            name_ru: e.names.ru,
            name_en: e.names.en,
            provisional: e.provisional,
            moved_from: e.moved_from,
        })
        .collect();
    CalendarYearView {
        year: year.listing.year,
        time_zone: year.listing.time_zone,
        weekend: year.listing.weekend,
        entries,
        deadlines: year.recomputed.map(|r| DeadlinesRecomputed {
            replayed: r.replayed,
            moved: r.moved,
            windows_moved: r.windows_moved,
            forwarding_windows_moved: r.forwarding_windows_moved,
            reminders_moved: r.reminders_moved,
            unexplained: r.unexplained,
        }),
    }
}
