//! The deadline reports: a fixture of appeals with known outcomes (answered on time at
//! 23:30 local on the due day, answered late, forwarded, dismissed, extended, paused, filed
//! just after local midnight) checked figure by figure in every grouping; CSV parsed back
//! and compared with the JSON; who may see which agency's figures; a rebuild from the
//! timelines that changes nothing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use figment::providers::Serialized;
use murojiat::domain::report::DEADLINE_COLUMNS;
use murojiat::services::reports;
use murojiat::store::Backend;
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, Statement};
use serde_json::{Value, json};

use crate::support::appeals::{GOVERNMENT, OTHER_AGENCY, RECEPTION, complaint, spawn_appeals_app_with};
use crate::support::reports::{stored_stints, stored_tallies};
use crate::support::{Session, TestApp, assert_problem};

/// The fixture: seven appeals through the reception, one of them forwarded to the other
/// agency, and the clock left where each figure is known.
struct Fixture {
    app: TestApp,
    official: Session,
    second_official: Session,
    supervisor: Session,
    /// Local calendar days from filing to answer of A1 (on time), A2 (late), A4 (extended).
    days: [i64; 3],
    /// The local due days of A2 and A3, which the trend counts as missed deadlines.
    missed_due_days: Vec<NaiveDate>,
}

fn instant(value: &Value) -> DateTime<Utc> {
    value.as_str().expect("an instant").parse().expect("RFC 3339")
}

fn dushanbe_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&FixedOffset::east_opt(5 * 3600).unwrap()).date_naive()
}

impl Fixture {
    async fn build() -> Self {
        // Tokens outlive the clock's jumps, so each person signs in once.
        let app = spawn_appeals_app_with(|f| {
            f.merge(Serialized::default("auth.access_token_ttl_secs", 100_000_000))
        })
        .await;
        let citizen = app.citizen().await;
        let official = app.official_of(RECEPTION).await;
        let second_official = app.official_of(RECEPTION).await;
        let supervisor = app.supervisor_of(GOVERNMENT).await;
        let reception_supervisor = app.supervisor_of(RECEPTION).await;
        let t0 = app.clock_now();

        let body = |category: &str, district: &str, region: &str, kind: &str| {
            let mut body = complaint();
            body["category"] = json!(category);
            body["district"] = json!(district);
            body["region"] = json!(region);
            body["kind"] = json!(kind);
            body
        };
        let water = body("water-supply", "dushanbe-sino", "dushanbe", "complaint");
        let a1 = app.files(&citizen, &water).await;
        let a2 = app.files(&citizen, &body("electricity", "sughd-khujand", "sughd", "complaint")).await;
        let a3 = app.files(&citizen, &body("water-supply", "dushanbe-sino", "dushanbe", "proposal")).await;
        let a4 = app.files(&citizen, &water).await;
        let a5 = app.files(&citizen, &body("electricity", "dushanbe-sino", "dushanbe", "application")).await;
        let a6 = app.files(&citizen, &water).await;

        let a1_taken = app.acts(&official, &a1.id, "take", 1, &json!({})).await;
        let due = instant(&a1_taken["due_at"]);
        app.acts(&second_official, &a2.id, "take", 1, &json!({})).await;
        app.acts(&official, &a4.id, "take", 1, &json!({})).await;
        app.acts(&official, &a5.id, "take", 1, &json!({})).await;
        app.clock.advance(Duration::hours(1));
        let forward = json!({"agency": OTHER_AGENCY, "reason": "Health matters are the ministry's."});
        let a3_there = app.acts(&official, &a3.id, "forward", 1, &forward).await;
        let a3_due = instant(&a3_there["due_at"]);
        // The forwarder sees what they did (200), may do nothing more, and then loses sight of it.
        assert_eq!(
            (a3_there["agency"]["code"].as_str(), &a3_there["allowed_actions"]),
            (Some(OTHER_AGENCY), &json!([]))
        );
        assert_eq!(app.get(&a3.url(), official.token()).await.status(), 404);
        app.acts(&official, &a6.id, "dismiss", 1, &json!({"reason": "abusive", "comment": "Insults only."}))
            .await;
        app.acts(&official, &a5.id, "request-info", 2, &json!({"message": "Which house?"})).await;
        let extension = json!({"days": 10, "reason": "An inspection is needed."});
        app.acts(&official, &a4.id, "request-extension", 2, &extension).await;
        let extended = app.acts(&reception_supervisor, &a4.id, "grant-extension", 3, &extension).await;
        assert!(instant(&extended["due_at"]) > due + Duration::days(2), "the extension moves the deadline");

        // A1 at 23:30 Dushanbe time on its due day: on time.
        let a1_answered_at = due - Duration::minutes(29) - Duration::seconds(59);
        app.clock.set(a1_answered_at);
        let answer = json!({"outcome": "satisfied", "text": "The water is back."});
        app.acts(&official, &a1.id, "answer", 2, &answer).await;
        // A2 the next day: late. A4 two days after the first deadline, inside its extension.
        let a2_answered_at = due + Duration::days(1) - Duration::hours(1);
        app.clock.set(a2_answered_at);
        app.acts(&second_official, &a2.id, "answer", 2, &answer).await;
        let a4_answered_at = due + Duration::days(2) - Duration::hours(1);
        app.clock.set(a4_answered_at);
        app.acts(&official, &a4.id, "answer", 4, &answer).await;

        // A7 at 01:00 on 1 April in Dushanbe (still 31 March in UTC): received in April.
        app.clock.set(Utc.with_ymd_and_hms(2026, 3, 31, 20, 0, 0).unwrap());
        let a7 = app.files(&citizen, &body("electricity", "dushanbe-sino", "dushanbe", "complaint")).await;
        let a7_view: Value = app.get(&a7.url(), citizen.token()).await.json().await.unwrap();
        // Leave the clock a day before A7 is due: A7 due soon, A3 long overdue, A5 paused.
        app.clock.set(instant(&a7_view["due_at"]) - Duration::days(1));

        let filed = dushanbe_day(t0);
        let days =
            [a1_answered_at, a2_answered_at, a4_answered_at].map(|at| (dushanbe_day(at) - filed).num_days());
        Self {
            app,
            official,
            second_official,
            supervisor,
            days,
            missed_due_days: vec![dushanbe_day(due), dushanbe_day(a3_due)],
        }
    }

    async fn report(&self, who: &Session, query: &str) -> Value {
        let response = self.app.get(&format!("/api/v1/reports/deadlines?{query}"), who.token()).await;
        assert_eq!(response.status(), 200, "report: {}", response.text().await.unwrap());
        response.json().await.unwrap()
    }
}

/// Every figure of a row, in the order of the CSV columns.
#[allow(clippy::too_many_arguments)]
fn figures(
    received: u64,
    answered: u64,
    on_time: u64,
    forwarded_out: u64,
    left_without_consideration: u64,
    open: u64,
    open_overdue: u64,
    due_soon: u64,
    days: &[i64],
    extensions: u64,
) -> Value {
    let mut sorted = days.to_vec();
    sorted.sort_unstable();
    let rank = |percent: usize| {
        (!sorted.is_empty()).then(|| sorted[(percent * sorted.len()).div_ceil(100).max(1) - 1])
    };
    let rate = (answered > 0).then(|| (on_time as f64 * 1000.0 / answered as f64).round() / 10.0);
    json!({
        "received": received,
        "answered": answered,
        "answered_on_time": on_time,
        "answered_late": answered - on_time,
        "forwarded_out": forwarded_out,
        "left_without_consideration": left_without_consideration,
        "open": open,
        "open_overdue": open_overdue,
        "due_soon": due_soon,
        "on_time_rate": rate,
        "median_days_to_answer": rank(50),
        "p90_days_to_answer": rank(90),
        "extensions_granted": extensions,
    })
}

/// The report's rows as key → figures (name and key removed).
fn rows_by_key(report: &Value) -> std::collections::BTreeMap<String, Value> {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let mut figures = row.clone();
            let object = figures.as_object_mut().unwrap();
            let key = object.remove("key").unwrap().as_str().unwrap().to_owned();
            object.remove("name");
            (key, figures)
        })
        .collect()
}

const SPRING: &str = "from=2026-03-01&to=2026-04-30";

#[tokio::test]
async fn every_figure_of_every_grouping_matches_the_fixture() {
    let f = Fixture::build().await;
    let [d1, d2, d4] = f.days;
    assert!(d1 < d2 && d2 < d4, "answers on three successive days: {:?}", f.days);

    let report = f.report(&f.supervisor, &format!("{SPRING}&group_by=agency")).await;
    assert_eq!(report["agencies"], json!([GOVERNMENT, OTHER_AGENCY, RECEPTION]));
    let reception = figures(7, 3, 2, 1, 1, 2, 0, 1, &[d1, d2, d4], 1);
    let ministry = figures(1, 0, 0, 0, 0, 1, 1, 0, &[], 0);
    let nothing = figures(0, 0, 0, 0, 0, 0, 0, 0, &[], 0);
    let expected = [
        (GOVERNMENT.to_owned(), nothing),
        (OTHER_AGENCY.to_owned(), ministry),
        (RECEPTION.to_owned(), reception),
    ];
    assert_eq!(rows_by_key(&report), expected.into_iter().collect());
    assert_eq!(report["total"], figures(8, 3, 2, 1, 1, 3, 1, 1, &[d1, d2, d4], 1));

    let by_official = f.report(&f.supervisor, &format!("{SPRING}&group_by=official")).await;
    let expected = [
        (String::new(), figures(4, 0, 0, 1, 1, 2, 1, 1, &[], 0)),
        (f.official.user_id.clone(), figures(3, 2, 2, 0, 0, 1, 0, 0, &[d1, d4], 1)),
        (f.second_official.user_id.clone(), figures(1, 1, 0, 0, 0, 0, 0, 0, &[d2], 0)),
    ];
    assert_eq!(rows_by_key(&by_official), expected.into_iter().collect());
    let unassigned = by_official["rows"].as_array().unwrap().iter().find(|r| r["key"] == "").unwrap();
    assert_eq!(unassigned["name"], "Таъин нашуда", "names are in the caller's language (tg by default)");

    let by_category = f.report(&f.supervisor, &format!("{SPRING}&group_by=category")).await;
    let expected = [
        ("electricity".to_owned(), figures(3, 1, 0, 0, 0, 2, 0, 1, &[d2], 0)),
        ("water-supply".to_owned(), figures(5, 2, 2, 1, 1, 1, 1, 0, &[d1, d4], 1)),
    ];
    assert_eq!(rows_by_key(&by_category), expected.into_iter().collect());

    let by_territory = f.report(&f.supervisor, &format!("{SPRING}&group_by=territory")).await;
    let expected = [
        ("dushanbe-sino".to_owned(), figures(7, 2, 2, 1, 1, 3, 1, 1, &[d1, d4], 1)),
        ("sughd-khujand".to_owned(), figures(1, 1, 0, 0, 0, 0, 0, 0, &[d2], 0)),
    ];
    assert_eq!(rows_by_key(&by_territory), expected.into_iter().collect());

    let by_kind = f.report(&f.supervisor, &format!("{SPRING}&group_by=kind")).await;
    let expected = [
        ("application".to_owned(), figures(1, 0, 0, 0, 0, 1, 0, 0, &[], 0)),
        ("complaint".to_owned(), figures(5, 3, 2, 0, 1, 1, 0, 1, &[d1, d2, d4], 1)),
        ("proposal".to_owned(), figures(2, 0, 0, 1, 0, 1, 1, 0, &[], 0)),
    ];
    assert_eq!(rows_by_key(&by_kind), expected.into_iter().collect());

    // Whole months are read from the maintained tallies, the days around them from the
    // stays: a period that is not whole months counts exactly the same.
    for grouping in ["agency", "official", "category", "territory", "kind"] {
        let whole = f.report(&f.supervisor, &format!("{SPRING}&group_by={grouping}")).await;
        for period in [
            "from=2026-03-02&to=2026-04-30",
            "from=2026-02-20&to=2026-05-10",
            "from=2026-03-01&to=2026-04-15",
        ] {
            let mixed = f.report(&f.supervisor, &format!("{period}&group_by={grouping}")).await;
            assert_eq!(
                (&mixed["rows"], &mixed["total"]),
                (&whole["rows"], &whole["total"]),
                "{grouping} {period}"
            );
        }
    }

    // A7 was filed at 01:00 on 1 April in Dushanbe: April's, not March's.
    let march = f.report(&f.supervisor, "from=2026-03-01&to=2026-03-31").await;
    assert_eq!(march["total"]["received"], 7);
    let april = f.report(&f.supervisor, "from=2026-04-01&to=2026-04-30").await;
    assert_eq!(
        (april["total"]["received"].as_u64(), april["total"]["due_soon"].as_u64()),
        (Some(1), Some(1))
    );

    // The trend counts the same stays per month, and each missed deadline in its month,
    // whether the months are whole (tallies) or not (stays).
    let trend = |period: &'static str| {
        let f = &f;
        async move {
            let url = format!("/api/v1/reports/trend?{period}&interval=month");
            let response = f.app.get(&url, f.supervisor.token()).await;
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    let trend_of_days = trend("from=2026-03-02&to=2026-04-29").await;
    let trend: Value = trend(SPRING).await;
    assert_eq!(trend_of_days["points"], trend["points"]);
    let missed_in =
        |month: u32| f.missed_due_days.iter().filter(|d| chrono::Datelike::month(*d) == month).count();
    assert_eq!(
        trend["points"],
        json!([
            {"period_start": "2026-03-01", "received": 7, "answered": 3, "overdue": missed_in(3)},
            {"period_start": "2026-04-01", "received": 1, "answered": 0, "overdue": missed_in(4)},
        ])
    );

    // The overdue list: A3 at the ministry, the only open appeal past its deadline.
    let response = f.app.get("/api/v1/reports/overdue", f.supervisor.token()).await;
    let overdue: Value = response.json().await.unwrap();
    let items = overdue["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{overdue}");
    assert_eq!(
        (items[0]["agency"].as_str(), items[0]["status"].as_str()),
        (Some(OTHER_AGENCY), Some("registered"))
    );
    assert!(items[0]["days_overdue"].as_i64().unwrap() > 0);

    // Rebuilding from the timelines reproduces every stored stay and every figure.
    let stored = (stored_stints(&f.app).await, stored_tallies(&f.app).await);
    assert!(stored.1.len() > 10, "the changes kept tallies: {:?}", stored.1);
    let rebuilt = reports::rebuild(&f.app.app).await.expect("the rebuild runs");
    assert_eq!((rebuilt.appeals, rebuilt.stints), (7, 8));
    assert_eq!((stored_stints(&f.app).await, stored_tallies(&f.app).await), stored);
    assert_eq!(f.report(&f.supervisor, &format!("{SPRING}&group_by=agency")).await, report);
}

#[tokio::test]
async fn the_csv_says_what_the_json_says_with_headers_in_the_callers_language() {
    let f = Fixture::build().await;
    let in_russian = |accept: &str| {
        f.app
            .request(
                reqwest::Method::GET,
                &format!("/api/v1/reports/deadlines?{SPRING}&group_by=category"),
                f.supervisor.token(),
            )
            .header("Accept", accept)
            .header("Accept-Language", "ru")
            .send()
    };
    let json_report: Value = in_russian("application/json").await.unwrap().json().await.unwrap();
    let response = in_russian("text/csv").await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(response.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xef\xbb\xbf"), "UTF-8 with a byte-order mark");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    assert!(text.ends_with("\r\n"), "RFC 4180 lines end in CRLF");

    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(headers, DEADLINE_COLUMNS.iter().map(|c| c.ru.to_owned()).collect::<Vec<_>>());
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let mut expected_rows: Vec<Value> = json_report["rows"].as_array().unwrap().clone();
    let mut total = json_report["total"].clone();
    total["key"] = json!("");
    total["name"] = json!("Итого");
    expected_rows.push(total);
    assert_eq!(records.len(), expected_rows.len());
    for (record, row) in records.iter().zip(&expected_rows) {
        for (cell, column) in record.iter().zip(DEADLINE_COLUMNS) {
            let expected = match &row[column.key] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            assert_eq!(cell, expected, "column {}", column.key);
        }
    }
    // Names in the CSV are Russian too (the caller asked for ru).
    assert!(records.iter().any(|r| &r[1] == "Категория water-supply"), "{records:?}");

    // The overdue list and the trend export the same way.
    for path in ["/api/v1/reports/overdue?format=csv", "/api/v1/reports/trend?format=csv"] {
        let response = f.app.get(path, f.supervisor.token()).await;
        assert_eq!(response.status(), 200, "{path}");
        let bytes = response.bytes().await.unwrap();
        let mut reader = csv::ReaderBuilder::new().from_reader(&bytes[3..]);
        assert!(reader.headers().unwrap().len() >= 4, "{path}");
        assert!(reader.records().count() >= 1, "{path}");
    }
}

#[tokio::test]
async fn each_role_sees_its_own_agencies_and_no_one_elses() {
    let f = Fixture::build().await;
    let app = &f.app;
    let agencies = |report: &Value| report["agencies"].clone();

    // An official: their own agency only; any other agency is as if it did not exist.
    let own = f.report(&f.official, SPRING).await;
    assert_eq!(agencies(&own), json!([RECEPTION]));
    assert_eq!(own["total"]["received"], 7);
    for other in [OTHER_AGENCY, GOVERNMENT, "no-such-agency"] {
        let response =
            app.get(&format!("/api/v1/reports/deadlines?agency={other}"), f.official.token()).await;
        assert_problem(response, 404, "not-found").await;
    }
    let mine: Value = app.get("/api/v1/reports/overdue", f.official.token()).await.json().await.unwrap();
    assert_eq!(mine["items"], json!([]), "the reception has nothing overdue");

    // A supervisor of the reception: the reception, not its parent or sibling.
    let reception_supervisor = app.supervisor_of(RECEPTION).await;
    assert_eq!(agencies(&f.report(&reception_supervisor, SPRING).await), json!([RECEPTION]));
    for other in [OTHER_AGENCY, GOVERNMENT] {
        let response =
            app.get(&format!("/api/v1/reports/trend?agency={other}"), reception_supervisor.token()).await;
        assert_problem(response, 404, "not-found").await;
    }

    // A supervisor of the government: the whole subtree, or any agency in it.
    let ministry = f.report(&f.supervisor, &format!("{SPRING}&agency={OTHER_AGENCY}")).await;
    assert_eq!(
        (agencies(&ministry), ministry["total"]["open_overdue"].as_u64()),
        (json!([OTHER_AGENCY]), Some(1))
    );

    // An administrator: every agency.
    let admin = app.admin().await;
    let everything = f.report(&admin, SPRING).await;
    assert_eq!(everything["total"]["received"], 8);

    // A citizen: no reports at all; nobody signed in: 401.
    let citizen = app.citizen().await;
    for path in ["/api/v1/reports/deadlines", "/api/v1/reports/overdue", "/api/v1/reports/trend"] {
        assert_problem(app.get(path, citizen.token()).await, 403, "forbidden").await;
        assert_problem(app.get(path, None).await, 401, "unauthorized").await;
    }
}

#[tokio::test]
async fn a_bad_period_or_grouping_is_refused_and_names_the_parameter() {
    let app = spawn_appeals_app_with(|f| f).await;
    let supervisor = app.supervisor_of(GOVERNMENT).await;
    let backwards =
        app.get("/api/v1/reports/deadlines?from=2026-05-01&to=2026-04-01", supervisor.token()).await;
    assert_eq!(assert_problem(backwards, 422, "validation").await.error_fields(), ["to"]);
    let too_long = app.get("/api/v1/reports/trend?from=2020-01-01&to=2026-04-01", supervisor.token()).await;
    assert_eq!(assert_problem(too_long, 422, "validation").await.error_fields(), ["from"]);
    for query in ["group_by=planet", "from=yesterday", "interval=fortnight", "color=red"] {
        let path = if query.starts_with("interval") { "trend" } else { "deadlines" };
        let response = app.get(&format!("/api/v1/reports/{path}?{query}"), supervisor.token()).await;
        assert_problem(response, 400, "bad-request").await;
    }
    // Dates at the edges of what a date can name are outside the years a report can cover
    // (a trend to the last date there is once stepped past it forever).
    for (query, field) in [
        ("trend?to=%2B262142-12-31", "to"),
        ("trend?to=%2B262142-12-31&interval=week", "to"),
        ("deadlines?from=1899-12-31&to=1900-01-31", "from"),
        ("deadlines?format=csv&to=2201-01-01", "to"),
    ] {
        let response = app.get(&format!("/api/v1/reports/{query}"), supervisor.token()).await;
        assert_eq!(assert_problem(response, 422, "validation").await.error_fields(), [field], "{query}");
    }
    // A list's cursor with such an instant in it reads from the edge, as any other would.
    for instant in ["-5000-01-01T00:00:00Z", "+10000-01-01T00:00:00Z"] {
        let cursor = URL_SAFE_NO_PAD.encode(json!([instant, uuid::Uuid::nil()]).to_string());
        let response = app.get(&format!("/api/v1/reports/overdue?cursor={cursor}"), supervisor.token()).await;
        assert_eq!(response.status(), 200, "{instant}");
    }
    // An empty database reports zeros, not an error.
    let empty: Value = app.get("/api/v1/reports/deadlines", supervisor.token()).await.json().await.unwrap();
    assert_eq!(empty["total"]["received"], 0);
    assert_eq!(empty["total"]["on_time_rate"], Value::Null);
}

/// `Db::report`: one read-only snapshot for a report's queries; on PostgreSQL planned for
/// each query's values, and only inside the report (the pooled connection is left as it was).
#[tokio::test]
async fn a_report_reads_in_a_read_only_transaction_planned_for_its_values() {
    let app = crate::support::spawn_app().await;
    let txn = app.db.report().await.expect("a report transaction begins");
    let count = |txn| async move {
        let row = murojiat::store::entity::appeal::Entity::find().count(txn).await;
        row.expect("the transaction reads")
    };
    assert_eq!(count(&txn).await, 0);
    if app.db.backend() == Backend::Postgres {
        let show = Statement::from_string(DbBackend::Postgres, "SHOW plan_cache_mode");
        let mode = |row: Option<sea_orm::QueryResult>| {
            row.unwrap().try_get::<String>("", "plan_cache_mode").unwrap()
        };
        assert_eq!(mode(txn.query_one_raw(show.clone()).await.unwrap()), "force_custom_plan");
        txn.commit().await.unwrap();
        assert_eq!(
            mode(app.db.conn().query_one_raw(show).await.unwrap()),
            "auto",
            "SET LOCAL ends with the report"
        );
        let txn = app.db.report().await.unwrap();
        let write = txn.execute_unprepared("CREATE TABLE report_scratch (n int)").await;
        assert!(write.is_err(), "a report cannot write");
    } else {
        txn.commit().await.unwrap();
    }
}
