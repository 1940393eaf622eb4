//! Times one scheduler pass against a PostgreSQL database filled with open appeals, for
//! docs/benchmarks.md: `cargo run --release --example scheduler_pass -- URL [OPEN] [DUE...]`.
//!
//! URL names an empty database (it is migrated and filled). OPEN appeals (default 1,000,000)
//! are open with a deadline far in the future, each with a pending deadline job that is not
//! due. Then, for each DUE count (default 10 100 1000 5000), that many appeals are made
//! overdue with a due deadline job, and one `Scheduler::run_due` pass is timed: claiming,
//! marking overdue, escalating and appending the event.
//!
//! SUPERVISORS=n (default 0) gives the appeals' agency n supervisors, so every missed
//! deadline also writes n alert emails to the outbox. With
//! `RUST_LOG=murojiat::services::scheduler=debug` each batch logs where its time went.
//!
//! For A/B runs of the database's side: the statements of `AFTER_FILL_SQL` (separated by
//! `;`) run once after the fill (a schema or setting to compare, such as a constraint
//! dropped), and `VACUUM_BEFORE_PASS=1` vacuums the appeals and jobs before each pass, as
//! autovacuum would have done in the weeks between a job's scheduling and its falling due.

use std::sync::Arc;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use figment::providers::Serialized;
use murojiat::app::App;
use murojiat::auth::keys::KeyRing;
use murojiat::clock::ManualClock;
use murojiat::config::{ExtractSettings, Settings};
use murojiat::services::scheduler::Scheduler;
use murojiat::store::Db;
use murojiat::store::jobs;
use sea_orm::ConnectionTrait;

/// The allocator of the `murojiat` binary, whose scheduler this times.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().expect("usage: scheduler_pass URL [OPEN] [DUE...]");
    let open: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1_000_000);
    let mut due_counts: Vec<u64> = args.map(|a| a.parse()).collect::<Result<_, _>>()?;
    if due_counts.is_empty() {
        due_counts = vec![10, 100, 1000, 5000];
    }
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut settings = Settings::figment(&config, "development")?
        .merge(Serialized::default("database.url", &url))
        .merge(Serialized::default("scheduler.batch_size", 1000))
        .merge(Serialized::default("logging.filter", "warn"))
        .extract_checked()?;
    settings.config_dir = config;
    murojiat::telemetry::init(&settings.logging);
    let supervisors: u64 = std::env::var("SUPERVISORS").ok().map(|s| s.parse()).transpose()?.unwrap_or(0);
    let db = Db::connect(&settings.database).await?;
    db.migrate_up().await?;
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 5, 0, 0).single().expect("an instant");
    let clock = ManualClock::at(now);
    let app = App::assemble(settings, db.clone(), Arc::new(clock), KeyRing::generate())?;
    let conn = db.conn();

    let started = Instant::now();
    fill(conn, open, supervisors).await?;
    println!(
        "filled {open} open appeals and {open} pending jobs ({supervisors} supervisors) in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // One statement at a time: VACUUM refuses to run inside the implicit transaction of several.
    for statement in std::env::var("AFTER_FILL_SQL").unwrap_or_default().split(';').map(str::trim) {
        if !statement.is_empty() {
            conn.execute_unprepared(statement).await?;
            println!("after the fill: {statement}");
        }
    }
    let vacuum_before_pass = std::env::var("VACUUM_BEFORE_PASS").is_ok_and(|v| v == "1");
    let scheduler = Scheduler::new(app);
    let mut offset = 0u64;
    println!("| due jobs | claimed | applied | pass ms | per job ms |");
    println!("|---:|---:|---:|---:|---:|");
    for due in due_counts {
        make_due(conn, offset, due).await?;
        offset += due;
        if vacuum_before_pass {
            conn.execute_unprepared("VACUUM (ANALYZE) appeals, jobs").await?;
        }
        let started = Instant::now();
        let report = scheduler.run_due(now).await?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        println!(
            "| {due} | {} | {} | {ms:.1} | {:.2} |",
            report.claimed,
            report.applied,
            ms / report.claimed.max(1) as f64
        );
        assert_eq!(report.applied, due, "every due job applied once");
    }
    let empty = Instant::now();
    let report = scheduler.run_due(now).await?;
    println!(
        "empty pass (nothing due, {open} pending): {:.2} ms, claimed {}",
        empty.elapsed().as_secs_f64() * 1000.0,
        report.claimed
    );
    let done = jobs::count_with_status(db.conn(), jobs::DONE).await?;
    println!("jobs done in all: {done}");
    Ok(())
}

/// `open` open appeals due in 2027 and a pending deadline job for each, by set-based SQL;
/// `supervisors` supervisors at their agency.
async fn fill(conn: &impl ConnectionTrait, open: u64, supervisors: u64) -> anyhow::Result<()> {
    conn.execute_unprepared(
        "INSERT INTO agencies (id, code, kind, parent_id, name_tg, name_ru, name_en, email, time_zone, active, created_at, updated_at) \
         VALUES ('00000000-0000-7000-8000-000000000001', 'bench', 'ministry', NULL, 'b', 'b', 'b', NULL, 'Asia/Dushanbe', true, now(), now()) \
         ON CONFLICT DO NOTHING",
    )
    .await?;
    conn.execute_unprepared(&format!(
        "INSERT INTO users (id, email, password_hash, full_name, role, agency_id, locale, disabled, \
           optional_mail, created_at, updated_at) \
         SELECT gen_random_uuid(), 'supervisor' || i || '@bench.example', 'x', 'Supervisor ' || i, \
           'supervisor', '00000000-0000-7000-8000-000000000001', 'tg', false, true, now(), now() \
         FROM generate_series(1, {supervisors}) AS i"
    ))
    .await?;
    conn.execute_unprepared(&format!(
        "INSERT INTO appeals (id, tracking_number, kind, status, channel, subject, body, category_code, region_code, \
           co_signers_count, applicant_type, language, agency_id, priority, deadline_policy, registered_at, due_at, \
           extensions_granted, version, created_at, updated_at) \
         SELECT ('00000000-0000-7000-9000-' || lpad(to_hex(i), 12, '0'))::uuid, 'B' || lpad(i::text, 10, '0'), \
           'complaint', 'in_progress', 'web', 's', 'b', 'water', 'dushanbe', 1, 'person', 'tg', \
           '00000000-0000-7000-8000-000000000001', 'normal', 'standard', \
           '2026-05-20T05:00:00Z', '2027-01-01T18:59:59Z', 0, 1, now(), now() \
         FROM generate_series(1, {open}) AS i"
    ))
    .await?;
    conn.execute_unprepared(
        "INSERT INTO jobs (id, kind, appeal_id, run_at, dedupe_key, payload, status, attempts, created_at, updated_at) \
         SELECT gen_random_uuid(), 'deadline', id, due_at + interval '1 second', 'deadline:' || id || ':' || agency_id || ':' || \
           (extract(epoch FROM due_at) * 1000000)::bigint, '{\"due_at\":\"2027-01-01T18:59:59Z\"}', 'pending', 0, now(), now() \
         FROM appeals",
    )
    .await?;
    conn.execute_unprepared("ANALYZE appeals; ANALYZE jobs").await?;
    // The fill's dirty pages are written now, not by the checkpointer during the passes.
    conn.execute_unprepared("CHECKPOINT").await?;
    Ok(())
}

/// Makes appeals `offset+1 ..= offset+due` overdue on 31 May 2026 with a due deadline job,
/// keyed as the scheduler keys it (only the deadline job of the appeal's agency escalates).
async fn make_due(conn: &impl ConnectionTrait, offset: u64, due: u64) -> anyhow::Result<()> {
    conn.execute_unprepared(&format!(
        "UPDATE appeals SET due_at = '2026-05-31T18:59:59Z' \
         WHERE id IN (SELECT ('00000000-0000-7000-9000-' || lpad(to_hex(i), 12, '0'))::uuid \
                      FROM generate_series({}, {}) AS i)",
        offset + 1,
        offset + due
    ))
    .await?;
    conn.execute_unprepared(&format!(
        "INSERT INTO jobs (id, kind, appeal_id, run_at, dedupe_key, payload, status, attempts, created_at, updated_at) \
         SELECT gen_random_uuid(), 'deadline', ('00000000-0000-7000-9000-' || lpad(to_hex(i), 12, '0'))::uuid, \
           '2026-05-31T19:00:00Z', \
           'deadline:' || ('00000000-0000-7000-9000-' || lpad(to_hex(i), 12, '0')) || ':00000000-0000-7000-8000-000000000001:' || \
           (extract(epoch FROM timestamptz '2026-05-31T18:59:59Z') * 1000000)::bigint, \
           '{{\"due_at\":\"2026-05-31T18:59:59Z\"}}', 'pending', 0, now(), now() \
         FROM generate_series({}, {}) AS i",
        offset + 1,
        offset + due
    ))
    .await?;
    Ok(())
}
