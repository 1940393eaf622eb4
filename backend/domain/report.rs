//! The deadline reports' arithmetic: an appeal's stays ("stints") at agencies, folded from
//! its timeline, and the figures a supervisor reads.
//!
//! A stint begins when an agency receives the appeal (filing, or forwarding/rerouting to
//! it) and ends when that agency answers it, forwards it away, leaves it without
//! consideration, or the citizen withdraws or abandons it. Each agency is thereby counted for
//! exactly what it received and did: an appeal forwarded from A to B counts as received and
//! forwarded out at A, and as received (and perhaps answered) at B.
//!
//! [`apply`] folds one timeline event into an appeal's stints; the same fold runs when an
//! event is recorded and when `murojiat reports rebuild` replays every timeline, so the two
//! can never disagree. [`settle`] copies the appeal row's current deadline state into the
//! last stint, since pausing and resuming are not spelled out in the events.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use super::appeal::vocabulary;
use super::locale::Locale;

pub mod tally;

vocabulary! {
    /// How an agency's stint with an appeal ended.
    StintOutcome {
        /// The agency gave its final answer.
        Answered = "answered",
        /// The agency forwarded it (or a supervisor rerouted it) to another agency.
        Forwarded = "forwarded",
        /// Left without consideration, with a lawful reason.
        Dismissed = "dismissed",
        /// The citizen withdrew it.
        Withdrawn = "withdrawn",
        /// The citizen did not answer a request for information in time.
        Abandoned = "abandoned",
    }
}

vocabulary! {
    /// What the rows of the deadline report are.
    Grouping {
        Agency = "agency",
        Official = "official",
        Category = "category",
        Territory = "territory",
        Kind = "kind",
    }
}

vocabulary! {
    /// The width of one point of the trend report.
    Interval {
        Week = "week",
        Month = "month",
    }
}

/// One agency's stay with an appeal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stint {
    /// 1 for the agency that received the filing, then 2, 3, … for each forwarding.
    pub seq: i32,
    pub agency_id: Uuid,
    /// Who works (or worked) it at this agency.
    pub official_id: Option<Uuid>,
    pub received_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// Set while the deadline clock is paused (awaiting the citizen).
    pub paused_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub outcome: Option<StintOutcome>,
    /// Extensions granted during this stint.
    pub extensions: i32,
}

impl Stint {
    fn received(seq: i32, agency_id: Uuid, at: DateTime<Utc>, due_at: DateTime<Utc>) -> Self {
        Self {
            seq,
            agency_id,
            official_id: None,
            received_at: at,
            due_at,
            paused_at: None,
            ended_at: None,
            outcome: None,
            extensions: 0,
        }
    }

    fn end(&mut self, outcome: StintOutcome, at: DateTime<Utc>) {
        self.outcome = Some(outcome);
        self.ended_at = Some(at);
    }

    /// Whether an answer came by the deadline (the whole last second included).
    pub fn answered_on_time(&self) -> Option<bool> {
        match (self.outcome, self.ended_at) {
            (Some(StintOutcome::Answered), Some(at)) => Some(at <= self.due_at),
            _ => None,
        }
    }

    /// Calendar days from the local day it was received to the local day it was answered.
    pub fn days_to_answer(&self, tz: Tz) -> Option<i32> {
        match (self.outcome, self.ended_at) {
            (Some(StintOutcome::Answered), Some(at)) => {
                let days = (local_day(at, tz) - local_day(self.received_at, tz)).num_days();
                Some(i32::try_from(days).unwrap_or(i32::MAX))
            }
            _ => None,
        }
    }
}

/// What the fold needs of one timeline event, read from its stored data by the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StintEvent {
    pub action: String,
    pub status_after: String,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    /// The receiving agency of a filing, forwarding or reroute.
    pub agency_id: Option<Uuid>,
    /// The new assignee of an assignment.
    pub assignee_id: Option<Uuid>,
    /// The new deadline, where the event states one.
    pub due_at: Option<DateTime<Utc>>,
}

/// Folds one event into an appeal's stints (oldest first). Events that do not concern the
/// agencies' figures change nothing; an event that cannot apply (no stint yet, no agency
/// named) is skipped rather than invented.
pub fn apply(stints: &mut Vec<Stint>, event: &StintEvent) {
    let next_seq = stints.last().map_or(1, |s| s.seq + 1);
    match event.action.as_str() {
        "file" => {
            if let (true, Some(agency), Some(due)) = (stints.is_empty(), event.agency_id, event.due_at) {
                stints.push(Stint::received(1, agency, event.at, due));
            }
        }
        "forward" | "reroute" => {
            let Some(agency) = event.agency_id else { return };
            let Some(last) = stints.last_mut() else { return };
            last.end(StintOutcome::Forwarded, event.at);
            let due = event.due_at.unwrap_or(last.due_at);
            stints.push(Stint::received(next_seq, agency, event.at, due));
        }
        action => {
            let Some(last) = stints.last_mut() else { return };
            match action {
                "take" => last.official_id = event.actor_id,
                "assign" => last.official_id = event.assignee_id.or(last.official_id),
                "grant_extension" => {
                    last.extensions += 1;
                    if let Some(due) = event.due_at {
                        last.due_at = due;
                    }
                }
                "answer" => last.end(StintOutcome::Answered, event.at),
                "dismiss" => last.end(StintOutcome::Dismissed, event.at),
                // Withdrawing a contest closes an answered appeal: the answer stands.
                "withdraw" if event.status_after == "withdrawn" => {
                    last.end(StintOutcome::Withdrawn, event.at)
                }
                "abandon" => last.end(StintOutcome::Abandoned, event.at),
                // The agency answers again, by the deadline the reopening set (events from
                // before reopening restarted it name none: the stint's own stands).
                "reopen" => {
                    last.outcome = None;
                    last.ended_at = None;
                    if let Some(due) = event.due_at {
                        last.due_at = due;
                    }
                }
                _ => {}
            }
        }
    }
}

/// The appeal row's current state, which the last stint mirrors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Current {
    pub agency_id: Uuid,
    pub assignee_id: Option<Uuid>,
    pub due_at: DateTime<Utc>,
    pub paused_at: Option<DateTime<Utc>>,
}

/// Copies the appeal's current deadline, pause and assignee into its last stint, when that
/// stint is at the appeal's current agency. An ended stint keeps the deadline it ended
/// against (a contest's new period does not make an answer on time or late after the fact).
pub fn settle(stints: &mut [Stint], current: Current) {
    if let Some(last) = stints.last_mut().filter(|s| s.agency_id == current.agency_id) {
        if last.ended_at.is_none() {
            last.due_at = current.due_at;
        }
        last.paused_at = if last.ended_at.is_none() { current.paused_at } else { None };
        if current.assignee_id.is_some() {
            last.official_id = current.assignee_id;
        }
    }
}

/// The local calendar day of `at` in `tz`.
pub fn local_day(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// A local date as a day number (days since 1970-01-01), as stored and compared.
pub fn day_number(date: NaiveDate) -> i32 {
    i32::try_from((date - NaiveDate::default()).num_days()).unwrap_or(i32::MAX)
}

/// The local date of a day number.
pub fn date_of_day(day: i32) -> NaiveDate {
    NaiveDate::default() + chrono::TimeDelta::days(i64::from(day))
}

/// The first day of the trend point holding `day`: its ISO week's Monday, or the first of
/// its month.
pub fn bucket_of(day: NaiveDate, interval: Interval) -> NaiveDate {
    match interval {
        Interval::Week => {
            day.checked_sub_days(Days::new(u64::from(day.weekday().num_days_from_monday()))).unwrap_or(day)
        }
        Interval::Month => day.with_day(1).unwrap_or(day),
    }
}

/// The first days of every trend point from the one holding `from` to the one holding `to`
/// (up to the last that dates can name).
pub fn buckets(from: NaiveDate, to: NaiveDate, interval: Interval) -> Vec<NaiveDate> {
    let mut found = Vec::new();
    let mut next = Some(bucket_of(from, interval));
    while let Some(day) = next.filter(|day| *day <= to) {
        found.push(day);
        next = match interval {
            Interval::Week => day.checked_add_days(Days::new(7)),
            Interval::Month => day.checked_add_months(chrono::Months::new(1)),
        };
    }
    found
}

/// How many answers took how many days: the distribution behind the median and the 90th
/// percentile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DaysHistogram {
    counts: std::collections::BTreeMap<i32, u64>,
}

impl DaysHistogram {
    pub fn add(&mut self, days: i32, count: u64) {
        if count > 0 {
            *self.counts.entry(days).or_default() += count;
        }
    }

    pub fn merge(&mut self, other: &DaysHistogram) {
        for (days, count) in &other.counts {
            self.add(*days, *count);
        }
    }

    /// The nearest-rank percentile: the smallest number of days such that at least
    /// `percent`% of the answers took no longer. `None` without answers.
    pub fn percentile(&self, percent: u32) -> Option<i32> {
        let total: u64 = self.counts.values().sum();
        if total == 0 {
            return None;
        }
        let rank = (u64::from(percent) * total).div_ceil(100).max(1);
        let mut seen = 0;
        for (days, count) in &self.counts {
            seen += count;
            if seen >= rank {
                return Some(*days);
            }
        }
        self.counts.keys().next_back().copied()
    }
}

/// Counted figures of one row of the deadline report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub received: u64,
    pub answered: u64,
    pub answered_on_time: u64,
    pub forwarded_out: u64,
    pub dismissed: u64,
    pub open: u64,
    pub open_overdue: u64,
    pub due_soon: u64,
    pub extensions_granted: u64,
}

impl Counts {
    pub fn add(&mut self, other: &Counts) {
        self.received += other.received;
        self.answered += other.answered;
        self.answered_on_time += other.answered_on_time;
        self.forwarded_out += other.forwarded_out;
        self.dismissed += other.dismissed;
        self.open += other.open;
        self.open_overdue += other.open_overdue;
        self.due_soon += other.due_soon;
        self.extensions_granted += other.extensions_granted;
    }

    pub fn answered_late(&self) -> u64 {
        self.answered.saturating_sub(self.answered_on_time)
    }

    /// Answered on time as a share of everything answered, rounded to 0.1%; `None` when
    /// nothing was answered.
    pub fn on_time_rate(&self) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)] // counts far below 2^52
        (self.answered > 0)
            .then(|| (self.answered_on_time as f64 * 1000.0 / self.answered as f64).round() / 10.0)
    }
}

/// A column of a CSV export: its key (the JSON field) and its header in each language.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub key: &'static str,
    pub tg: &'static str,
    pub ru: &'static str,
    pub en: &'static str,
}

impl Column {
    pub fn header(&self, locale: Locale) -> &'static str {
        locale.pick(self.tg, self.ru, self.en)
    }
}

const fn col(key: &'static str, tg: &'static str, ru: &'static str, en: &'static str) -> Column {
    Column { key, tg, ru, en }
}

/// The deadline report's columns, in order.
pub const DEADLINE_COLUMNS: &[Column] = &[
    col("key", "Рамз", "Код", "Code"),
    col("name", "Номгӯй", "Наименование", "Name"),
    col("received", "Қабул шуд", "Поступило", "Received"),
    col("answered", "Ҷавоб дода шуд", "Дан ответ", "Answered"),
    col("answered_on_time", "Сари вақт ҷавоб дода шуд", "Отвечено в срок", "Answered on time"),
    col("answered_late", "Бо таъхир ҷавоб дода шуд", "Отвечено с опозданием", "Answered late"),
    col("forwarded_out", "Ба дигар мақом фиристода шуд", "Перенаправлено", "Forwarded out"),
    col(
        "left_without_consideration",
        "Бе баррасӣ монд",
        "Оставлено без рассмотрения",
        "Left without consideration",
    ),
    col("open", "Кушода", "Открыто", "Open"),
    col("open_overdue", "Кушода ва мӯҳлаташ гузашта", "Открыто с нарушением срока", "Open and overdue"),
    col(
        "due_soon",
        "Мӯҳлат дар 3 рӯзи корӣ",
        "Срок в ближайшие 3 рабочих дня",
        "Due in the next 3 working days",
    ),
    col("on_time_rate", "Ҳиссаи сари вақт, %", "Доля в срок, %", "On-time rate, %"),
    col("median_days_to_answer", "Миёнаи рӯзҳо то ҷавоб", "Медиана дней до ответа", "Median days to answer"),
    col(
        "p90_days_to_answer",
        "90% рӯзҳо то ҷавоб",
        "90-й процентиль дней до ответа",
        "90th percentile days to answer",
    ),
    col("extensions_granted", "Мӯҳлат дароз карда шуд", "Продлений срока", "Extensions granted"),
];

/// The overdue report's columns, in order.
pub const OVERDUE_COLUMNS: &[Column] = &[
    col("tracking_number", "Рақами пайгирӣ", "Номер отслеживания", "Tracking number"),
    col("registration_number", "Рақами қайд", "Регистрационный номер", "Registration number"),
    col("agency", "Рамзи мақом", "Код органа", "Agency code"),
    col("agency_name", "Мақом", "Орган", "Agency"),
    col("assignee", "Иҷрокунанда", "Исполнитель", "Assignee"),
    col("category", "Категория", "Категория", "Category"),
    col("kind", "Намуд", "Вид", "Kind"),
    col("status", "Ҳолат", "Статус", "Status"),
    col("due_at", "Мӯҳлат", "Срок", "Due"),
    col("days_overdue", "Рӯзҳои таъхир", "Дней просрочки", "Days overdue"),
];

/// The trend report's columns, in order.
pub const TREND_COLUMNS: &[Column] = &[
    col("period_start", "Оғози давра", "Начало периода", "Period start"),
    col("received", "Қабул шуд", "Поступило", "Received"),
    col("answered", "Ҷавоб дода шуд", "Дан ответ", "Answered"),
    col("overdue", "Мӯҳлаташ гузашт", "Просрочено", "Overdue"),
];

/// One CSV field quoted as RFC 4180 requires: in double quotes, with quotes doubled, when
/// it holds a comma, a quote or a line break. A text a spreadsheet would run as a formula
/// (starting with `=`, `+`, `-`, `@`, a tab or a carriage return, and not a number) gets a
/// leading `'`, which keeps it text: a name someone typed cannot become a formula in the
/// spreadsheet of the supervisor who opens the report.
pub fn csv_field(value: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    let formula = value.starts_with(['=', '+', '-', '@', '\t', '\r']) && value.parse::<f64>().is_err();
    let value: Cow<'_, str> = if formula { Cow::Owned(format!("'{value}")) } else { Cow::Borrowed(value) };
    if value.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", value.replace('"', "\"\"")))
    } else {
        value
    }
}

/// A whole CSV document: UTF-8 with a byte-order mark (so spreadsheet programs read
/// Cyrillic and Tajik letters correctly), a header row, CRLF line ends.
pub fn csv_document(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::from('\u{feff}');
    let mut line = |fields: &mut dyn Iterator<Item = &str>| {
        let quoted: Vec<_> = fields.map(csv_field).collect();
        out.push_str(&quoted.join(","));
        out.push_str("\r\n");
    };
    line(&mut headers.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

#[cfg(test)]
mod tests;
