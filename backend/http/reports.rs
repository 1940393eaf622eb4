//! Deadline reports for supervisors and officials, as JSON or as CSV for spreadsheets
//! (`Accept: text/csv` or `?format=csv`).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::extract::{Authenticated, Params};
use super::pagination::{ListParams, Page};
use super::problem::ApiError;
use crate::app::App;
use crate::domain::appeal::AppealKind;
use crate::domain::lifecycle::Status;
use crate::domain::locale::Locale;
use crate::domain::report::{self, Column, Grouping, Interval};
use crate::services::reports::{self, DeadlineReport, Figures, OverdueItem, PeriodRequest, TrendPoint};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(deadline_report))
        .routes(routes!(overdue_report))
        .routes(routes!(trend_report))
}

/// How to answer: JSON (the default) or CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Json,
    Csv,
}

/// Which agencies and which days.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeadlineParams {
    /// The agency (code) whose figures to report, with its sub-agencies for supervisors and
    /// administrators; default: the caller's own agency (every agency for administrators).
    pub agency: Option<String>,
    /// First day of the period (YYYY-MM-DD, the agencies' local dates); default: 1 January
    /// of the year of `to`.
    pub from: Option<NaiveDate>,
    /// Last day of the period, included; default: today.
    pub to: Option<NaiveDate>,
    /// Rows per agency (default), official, category, territory or kind.
    pub group_by: Option<Grouping>,
    /// `csv` for a spreadsheet; the same as `Accept: text/csv`.
    pub format: Option<Format>,
}

/// The figures of one row. Received counts appeals received in the period; answered,
/// forwarded out and left without consideration count what happened in the period; open,
/// overdue and due soon count appeals received in the period that are open now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FiguresView {
    pub received: u64,
    pub answered: u64,
    pub answered_on_time: u64,
    pub answered_late: u64,
    pub forwarded_out: u64,
    pub left_without_consideration: u64,
    pub open: u64,
    pub open_overdue: u64,
    /// Open, not overdue, and due within the next working days (3 by default).
    pub due_soon: u64,
    /// Answered on time as a percentage of answered; null when none was answered.
    pub on_time_rate: Option<f64>,
    /// Calendar days from receipt to answer; null when none was answered.
    pub median_days_to_answer: Option<i32>,
    pub p90_days_to_answer: Option<i32>,
    pub extensions_granted: u64,
}

impl From<Figures> for FiguresView {
    fn from(f: Figures) -> Self {
        let c = f.counts;
        Self {
            received: c.received,
            answered: c.answered,
            answered_on_time: c.answered_on_time,
            answered_late: f.answered_late,
            forwarded_out: c.forwarded_out,
            left_without_consideration: c.dismissed,
            open: c.open,
            open_overdue: c.open_overdue,
            due_soon: c.due_soon,
            on_time_rate: f.on_time_rate,
            median_days_to_answer: f.median_days_to_answer,
            p90_days_to_answer: f.p90_days_to_answer,
            extensions_granted: c.extensions_granted,
        }
    }
}

/// One row of the deadline report.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeadlineRowView {
    /// The agency code, official id, category or territory code, or kind; empty for
    /// appeals nobody was assigned.
    pub key: String,
    /// Its name in the caller's language.
    pub name: String,
    #[serde(flatten)]
    pub figures: FiguresView,
}

/// The deadline report.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeadlineReportView {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group_by: Grouping,
    /// The agencies counted (codes).
    pub agencies: Vec<String>,
    pub rows: Vec<DeadlineRowView>,
    pub total: FiguresView,
}

impl From<DeadlineReport> for DeadlineReportView {
    fn from(r: DeadlineReport) -> Self {
        Self {
            from: r.period.from,
            to: r.period.to,
            group_by: r.grouping,
            agencies: r.agencies,
            rows: r
                .rows
                .into_iter()
                .map(|row| DeadlineRowView { key: row.key, name: row.name, figures: row.figures.into() })
                .collect(),
            total: r.total.into(),
        }
    }
}

/// Received, answered, on time and late, forwarded, open and overdue, per agency (or per
/// official, category, territory or kind), with a totals row. Dates are the agencies'
/// local dates.
#[utoipa::path(get, path = "/api/v1/reports/deadlines", tag = "reports", security(("bearer" = [])),
    params(DeadlineParams),
    responses(
        (status = 200, description = "The report (or CSV with `format=csv` / `Accept: text/csv`)",
            content((DeadlineReportView = "application/json"), (String = "text/csv"))),
    ))]
async fn deadline_report(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    headers: HeaderMap,
    Params(params): Params<DeadlineParams>,
) -> Result<Response, ApiError> {
    let period = PeriodRequest { from: params.from, to: params.to };
    let grouping = params.group_by.unwrap_or(Grouping::Agency);
    let locale = language(&headers, caller.locale);
    let found = reports::deadlines(&app, &caller, locale, params.agency.as_deref(), period, grouping).await?;
    let view = DeadlineReportView::from(found);
    if !wants_csv(params.format, &headers) {
        return Ok(Json(view).into_response());
    }
    let total_name = locale.pick("Ҳамагӣ", "Итого", "Total");
    let mut rows: Vec<serde_json::Value> = view.rows.iter().map(to_value).collect();
    let mut total = to_value(&view.total);
    total["key"] = serde_json::Value::from("");
    total["name"] = serde_json::Value::from(total_name);
    rows.push(total);
    let name = format!("deadlines-{}-{}-{}.csv", view.group_by, view.from, view.to);
    Ok(csv(report::DEADLINE_COLUMNS, locale, &rows, &name))
}

/// Which overdue appeals.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OverdueParams {
    /// As for the deadline report.
    pub agency: Option<String>,
    /// Items per page, 1 to 100 (default 20). CSV holds every overdue appeal.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// `csv` for a spreadsheet; the same as `Accept: text/csv`.
    pub format: Option<Format>,
}

/// An open appeal past its deadline.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OverdueView {
    pub appeal_id: Uuid,
    pub tracking_number: String,
    pub registration_number: Option<String>,
    /// The agency's code.
    pub agency: String,
    pub agency_name: String,
    pub assignee_id: Option<Uuid>,
    /// The assignee's name; null when nobody is assigned.
    pub assignee: Option<String>,
    pub category: String,
    pub kind: AppealKind,
    pub status: Status,
    pub due_at: DateTime<Utc>,
    /// Whole days since the due day (the agency's local dates).
    pub days_overdue: i64,
}

impl From<OverdueItem> for OverdueView {
    fn from(o: OverdueItem) -> Self {
        Self {
            appeal_id: o.appeal_id,
            tracking_number: o.tracking_number,
            registration_number: o.registration_number,
            agency: o.agency_code,
            agency_name: o.agency_name,
            assignee_id: o.assignee_id,
            assignee: o.assignee_name,
            category: o.category_code,
            kind: o.kind,
            status: o.status,
            due_at: o.due_at,
            days_overdue: o.days_overdue,
        }
    }
}

/// The open appeals past their deadline, most overdue first.
#[utoipa::path(get, path = "/api/v1/reports/overdue", tag = "reports", security(("bearer" = [])),
    params(OverdueParams),
    responses((status = 200, description = "A page of overdue appeals (or CSV of all of them)",
        content((Page<OverdueView> = "application/json"), (String = "text/csv")))))]
async fn overdue_report(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    headers: HeaderMap,
    Params(params): Params<OverdueParams>,
) -> Result<Response, ApiError> {
    let paging = ListParams { limit: params.limit, cursor: params.cursor };
    let agency = params.agency.as_deref();
    let locale = language(&headers, caller.locale);
    if !wants_csv(params.format, &headers) {
        let limit = paging.limit()?;
        let after: Option<(DateTime<Utc>, Uuid)> = paging.cursor()?;
        let found = reports::overdue(&app, &caller, locale, agency, after, limit + 1).await?;
        let page = Page::from_rows(found, limit, |o| (o.due_at, o.appeal_id), OverdueView::from);
        return Ok(Json(page).into_response());
    }
    const CSV_BATCH: u64 = 1_000;
    let mut rows = Vec::new();
    let mut after = None;
    loop {
        let found = reports::overdue(&app, &caller, locale, agency, after, CSV_BATCH).await?;
        after = found.last().map(|o| (o.due_at, o.appeal_id));
        let done = (found.len() as u64) < CSV_BATCH;
        rows.extend(found.into_iter().map(|o| to_value(&OverdueView::from(o))));
        if done {
            break;
        }
    }
    Ok(csv(report::OVERDUE_COLUMNS, locale, &rows, "overdue.csv"))
}

/// Which period, in what steps.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TrendParams {
    /// As for the deadline report.
    pub agency: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// `week` (from Mondays) or `month` (default).
    pub interval: Option<Interval>,
    /// `csv` for a spreadsheet; the same as `Accept: text/csv`.
    pub format: Option<Format>,
}

/// One point of the trend.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TrendPointView {
    pub period_start: NaiveDate,
    pub received: u64,
    pub answered: u64,
    /// Deadlines in this period that were missed: answered late or still open past due.
    pub overdue: u64,
}

impl From<TrendPoint> for TrendPointView {
    fn from(p: TrendPoint) -> Self {
        Self { period_start: p.period_start, received: p.received, answered: p.answered, overdue: p.overdue }
    }
}

/// The trend report.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TrendView {
    pub interval: Interval,
    pub points: Vec<TrendPointView>,
}

/// Received vs answered vs overdue per week or month, for a chart.
#[utoipa::path(get, path = "/api/v1/reports/trend", tag = "reports", security(("bearer" = [])),
    params(TrendParams),
    responses((status = 200, description = "The trend (or CSV)",
        content((TrendView = "application/json"), (String = "text/csv")))))]
async fn trend_report(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    headers: HeaderMap,
    Params(params): Params<TrendParams>,
) -> Result<Response, ApiError> {
    let period = PeriodRequest { from: params.from, to: params.to };
    let interval = params.interval.unwrap_or(Interval::Month);
    let points = reports::trend(&app, &caller, params.agency.as_deref(), period, interval).await?;
    let view = TrendView { interval, points: points.into_iter().map(TrendPointView::from).collect() };
    if !wants_csv(params.format, &headers) {
        return Ok(Json(view).into_response());
    }
    let rows: Vec<serde_json::Value> = view.points.iter().map(to_value).collect();
    let locale = language(&headers, caller.locale);
    Ok(csv(report::TREND_COLUMNS, locale, &rows, &format!("trend-{interval}.csv")))
}

fn wants_csv(format: Option<Format>, headers: &HeaderMap) -> bool {
    match format {
        Some(format) => format == Format::Csv,
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.split(',').any(|m| m.trim().starts_with("text/csv"))),
    }
}

/// The language of names and column headers: Accept-Language when it names one of ours, else the
/// account's language.
fn language(headers: &HeaderMap, account: Locale) -> Locale {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Locale::negotiate)
        .unwrap_or(account)
}

fn to_value(view: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(view).unwrap_or_default()
}

/// A CSV response of `rows` (JSON objects) in the order of `columns`: each cell is the
/// field's JSON value, strings unquoted, null empty, so the CSV says exactly what the JSON
/// says.
fn csv(columns: &[Column], locale: Locale, rows: &[serde_json::Value], file_name: &str) -> Response {
    let headers: Vec<&str> = columns.iter().map(|c| c.header(locale)).collect();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            columns
                .iter()
                .map(|c| match &row[c.key] {
                    serde_json::Value::Null => String::new(),
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect();
    let body = report::csv_document(&headers, &cells);
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
        .unwrap_or(HeaderValue::from_static("attachment"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}
