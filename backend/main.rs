//! `murojiat`: the command line. `murojiat --help` explains each command.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use murojiat::app::{self, App};
use murojiat::auth::keys::KeyRing;
use murojiat::clock::SystemClock;
use murojiat::config::Settings;
use murojiat::domain::role::Role;
use murojiat::domain::routing;
use murojiat::services::accounts::{self, NewAccount};
use murojiat::services::audit::{self, AuditReport};
use murojiat::services::{delivery, scheduler};
use murojiat::store::Db;
use murojiat::{demo, telemetry};

/// mimalloc instead of the C library's allocator: a queue page allocates and frees a few
/// hundred small objects (rows, strings, JSON), and glibc's malloc spent 12-15% of the
/// server's time on them (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Murojiat: citizens' appeals to government — filing, routing, deadlines, answers.
#[derive(Debug, Parser)]
#[command(name = "murojiat", version, about, long_about = None)]
struct Cli {
    /// Folder with default.toml and the environment files.
    #[arg(long, global = true, env = "MUROJIAT_CONFIG", default_value = "config")]
    config: PathBuf,
    /// Which environment file to layer over default.toml (development, test, production).
    #[arg(long, global = true, env = "MUROJIAT_ENV", default_value = "development")]
    env: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API (and its docs at /docs) until SIGINT or SIGTERM.
    Serve {
        /// Seed the Tajik demo jurisdiction and one account per role into an empty database,
        /// and print their credentials.
        #[arg(long)]
        demo: bool,
    },
    /// Run only the deadline scheduler (reminders, overdue escalation, closing windows)
    /// until SIGINT or SIGTERM. Any number may run against PostgreSQL.
    Worker,
    /// Show the business calendar.
    Calendar {
        #[command(subcommand)]
        action: CalendarAction,
    },
    /// Apply, revert or list database migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Manage user accounts.
    Users {
        #[command(subcommand)]
        action: UsersAction,
    },
    /// Check routing rulesets and explain their decisions, before they are uploaded.
    Rules {
        #[command(subcommand)]
        action: RulesAction,
    },
    /// Demo data for trying Murojiat out and for benchmarks. Never on a server with real data.
    Demo {
        #[command(subcommand)]
        action: DemoAction,
    },
    /// Check the integrity of stored data.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// The deadline reports' stored figures.
    Reports {
        #[command(subcommand)]
        action: ReportsAction,
    },
    /// The scheduler's jobs that gave up.
    Jobs {
        #[command(subcommand)]
        action: JobsAction,
    },
    /// The outbox's emails that gave up.
    Outbox {
        #[command(subcommand)]
        action: OutboxAction,
    },
}

#[derive(Debug, Subcommand)]
enum OutboxAction {
    /// List the emails that gave up after their last attempt (`dead`), oldest first, one
    /// per line: id, template, recipient, attempts, when it was due last, and its last error.
    Dead {
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u64,
    },
    /// Send emails again: each is due at once, its attempts counted from zero, and a running
    /// server sends it at its next pass. Prints how many; exits 1 when an id named no failed,
    /// dead or dropped email.
    Requeue {
        /// The emails' ids (from `outbox dead`, or the admin API's outbox list).
        #[arg(required_unless_present = "all_dead", conflicts_with = "all_dead")]
        ids: Vec<uuid::Uuid>,
        /// Every dead email (after an outage of the mail server outlasted the retries).
        #[arg(long)]
        all_dead: bool,
    },
}

#[derive(Debug, Subcommand)]
enum JobsAction {
    /// List the jobs that gave up after their last attempt, oldest first, one per line:
    /// id, kind, appeal, attempts, when it last ran, and its last error.
    Failed {
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u64,
    },
    /// Run failed jobs again: each is due at once, its attempts counted from zero, and a
    /// running scheduler takes it at its next pass. Prints how many; exits 1 when an id
    /// named no failed job.
    Retry {
        /// The jobs' ids (from `jobs failed`).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        ids: Vec<uuid::Uuid>,
        /// Every failed job.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ReportsAction {
    /// Recompute the figures behind the deadline reports from every appeal's timeline, in
    /// one transaction, and print how many appeals and agency stays it counted.
    Rebuild,
}

#[derive(Debug, Subcommand)]
enum RulesAction {
    /// Validate a ruleset (TOML, or JSON by extension) and print a summary: rules, agencies
    /// reached, errors and warnings. Exits non-zero when there is any error.
    Check {
        file: PathBuf,
        /// Check against the configured database's agencies, categories and territories
        /// instead of the demo files in <config>/demo/.
        #[arg(long)]
        database: bool,
    },
    /// Route one appeal with a ruleset and print the decision and why.
    Explain {
        file: PathBuf,
        /// The appeal's routing facts as JSON (kind, category, territory, subject, text,
        /// collective, applicant_type, channel, filed_on), or @FILE to read them from a file.
        #[arg(long)]
        appeal: String,
        /// Use the configured database's catalog instead of the demo files.
        #[arg(long)]
        database: bool,
    },
}

#[derive(Debug, Subcommand)]
enum DemoAction {
    /// Insert realistic demo appeals (Tajik and Russian, spread over agencies, statuses and
    /// the past year), seeding the demo reference data, agencies and accounts first if missing.
    Seed {
        /// How many appeals to insert.
        #[arg(long)]
        appeals: u64,
        /// Seed of the random generator, to repeat a run's texts and spread.
        #[arg(long, default_value_t = 1339)]
        seed: u64,
    },
}

#[derive(Debug, Subcommand)]
enum AuditAction {
    /// Walk every appeal's hash-chained timeline. Prints "ok: N appeals, M events" and exits
    /// 0, or prints the first broken link (appeal id, tracking number, event sequence) and
    /// exits 1.
    Verify,
}

#[derive(Debug, Subcommand)]
enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Revert the most recent migrations.
    Down {
        /// How many to revert.
        #[arg(long, default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
}

#[derive(Debug, Subcommand)]
enum CalendarAction {
    /// Print a year: time zone, weekend, and every day off and working day, declared or
    /// derived (a holiday on a weekend moves its day off to the next working day).
    Show {
        /// The year, e.g. 2026.
        year: i32,
    },
}

#[derive(Debug, Subcommand)]
enum UsersAction {
    /// Create an account. The password is read from standard input when it is piped, and
    /// otherwise generated and printed once.
    Create {
        /// citizen, official, supervisor or admin.
        #[arg(long)]
        role: Role,
        #[arg(long)]
        email: String,
        /// Agency code; required for officials and supervisors.
        #[arg(long)]
        agency: Option<String>,
        /// Full name (defaults to the part of the email before @).
        #[arg(long)]
        name: Option<String>,
    },
}

/// Blocks of 4 MiB and more are mapped from the system for each allocation and given back when
/// freed. glibc's default raises that threshold to the largest block freed so far, so after
/// the first password hash (argon2 works in 19 MiB) every later one came from a thread's heap
/// and stayed resident: 32 sign-ins in a row grew the server from 73 to 168 MiB, against 30
/// MiB with this setting (docs/benchmarks.md, "Load"). glibc's own environment variable
/// `MALLOC_MMAP_THRESHOLD_`, when set, is left to decide.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_blocks_to_the_system() {
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
        // SAFETY: mallopt only sets a tunable of the allocator, and this runs first in main,
        // before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_blocks_to_the_system() {}

/// A command whose output goes into `head` or `grep -m1` ends quietly when the reader closes
/// the pipe, as other Unix tools do, instead of panicking in `println!`. Only the commands
/// that print and exit: the server and the worker keep Rust's default (SIGPIPE ignored), so
/// a peer that hangs up is an error on that one socket, not the end of the process.
#[cfg(unix)]
fn end_quietly_on_a_closed_pipe(command: &Command) {
    if !matches!(command, Command::Serve { .. } | Command::Worker) {
        // SAFETY: restores the default action of one signal, first thing in main, before any
        // other thread exists.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
}

#[cfg(not(unix))]
fn end_quietly_on_a_closed_pipe(_: &Command) {}

fn main() -> ExitCode {
    return_large_blocks_to_the_system();
    let cli = Cli::parse();
    end_quietly_on_a_closed_pipe(&cli.command);
    let settings = match Settings::load(&cli.config, &cli.env) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("murojiat: configuration in {}: {err}", cli.config.display());
            return ExitCode::from(2);
        }
    };
    telemetry::init(&settings.logging);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("murojiat: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, settings)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("murojiat: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, settings: Settings) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve { demo } => serve(&cli.config, settings, demo).await?,
        Command::Migrate { action } => migrate(settings, action).await?,
        Command::Worker => worker(settings).await?,
        Command::Calendar { action: CalendarAction::Show { year } } => show_calendar(&settings, year).await?,
        Command::Users { action: UsersAction::Create { role, email, agency, name } } => {
            create_user(settings, role, email, agency, name).await?
        }
        Command::Audit { action: AuditAction::Verify } => return audit_verify(settings).await,
        Command::Demo { action: DemoAction::Seed { appeals, seed } } => {
            seed_demo_appeals(&cli.config, settings, appeals, seed).await?
        }
        Command::Rules { action } => rules(&cli.config, settings, action).await?,
        Command::Reports { action: ReportsAction::Rebuild } => rebuild_reports(settings).await?,
        Command::Jobs { action: JobsAction::Failed { limit } } => list_failed_jobs(settings, limit).await?,
        Command::Jobs { action: JobsAction::Retry { ids, all } } => {
            return retry_jobs(settings, (!all).then_some(ids)).await;
        }
        Command::Outbox { action: OutboxAction::Dead { limit } } => list_dead_mail(settings, limit).await?,
        Command::Outbox { action: OutboxAction::Requeue { ids, all_dead } } => {
            return requeue_mail(settings, (!all_dead).then_some(ids)).await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The application state for a command that serves no HTTP and signs no token: it connects
/// (migrating when the settings say so) but leaves the signing key file alone.
async fn offline_app(settings: Settings) -> anyhow::Result<App> {
    let db = Db::connect(&settings.database).await?;
    if settings.database.auto_migrate {
        db.migrate_up().await?;
    }
    Ok(App::assemble(settings, db, Arc::new(SystemClock), KeyRing::generate())?)
}

async fn seed_demo_appeals(
    config_dir: &std::path::Path,
    settings: Settings,
    count: u64,
    seed: u64,
) -> anyhow::Result<()> {
    let app = offline_app(settings).await?;
    let bar = indicatif::ProgressBar::new(count);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} appeals ({per_sec}, {eta} left)",
        )?
        .progress_chars("=> "),
    );
    let started = std::time::Instant::now();
    let seeded =
        demo::appeals::seed_appeals(&app, config_dir, count, seed, &|done| bar.set_position(done)).await?;
    bar.finish();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "Seeded {} appeals, {} events, {} jobs still ahead and {} missed deadlines escalated in {secs:.1} s ({:.0} appeals/s).",
        seeded.appeals,
        seeded.events,
        seeded.jobs,
        seeded.escalations,
        seeded.appeals as f64 / secs.max(0.001)
    );
    app.db.clone().close().await;
    Ok(())
}

async fn rebuild_reports(settings: Settings) -> anyhow::Result<()> {
    let app = offline_app(settings).await?;
    let started = std::time::Instant::now();
    let rebuilt = murojiat::services::reports::rebuild(&app).await?;
    app.db.clone().close().await;
    println!(
        "rebuilt: {} appeals, {} agency stays in {:.1} s",
        rebuilt.appeals,
        rebuilt.stints,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn list_failed_jobs(settings: Settings, limit: u64) -> anyhow::Result<()> {
    let app = offline_app(settings).await?;
    let failed = scheduler::failed_jobs(&app, limit).await?;
    app.db.clone().close().await;
    for job in failed {
        let appeal = job.appeal_id.map(|id| id.to_string()).unwrap_or_else(|| "-".to_owned());
        let error = first_line(job.last_error.as_deref());
        println!(
            "{}\t{}\t{appeal}\t{}\t{}\t{error}",
            job.id,
            job.kind,
            job.attempts,
            job.updated_at.to_rfc3339()
        );
    }
    Ok(())
}

async fn retry_jobs(settings: Settings, ids: Option<Vec<uuid::Uuid>>) -> anyhow::Result<ExitCode> {
    let app = offline_app(settings).await?;
    let done = scheduler::retry_failed(&app, ids.as_deref()).await?;
    app.db.clone().close().await;
    println!("retried: {}", done.retried);
    Ok(name_the_rest(&done.not_failed, "not failed jobs (unknown, or pending or done)"))
}

/// The first line of a stored error, for a listing of one line per row.
fn first_line(error: Option<&str>) -> &str {
    error.and_then(|e| e.lines().next()).unwrap_or("")
}

/// Prints the ids a command was given that named nothing it could act on, after `what`;
/// the command's exit status: 1 when there are any.
fn name_the_rest(ids: &[uuid::Uuid], what: &str) -> ExitCode {
    if ids.is_empty() {
        return ExitCode::SUCCESS;
    }
    let named: Vec<String> = ids.iter().map(ToString::to_string).collect();
    println!("{what}: {}", named.join(", "));
    ExitCode::FAILURE
}

async fn list_dead_mail(settings: Settings, limit: u64) -> anyhow::Result<()> {
    let app = offline_app(settings).await?;
    let dead = delivery::dead_messages(&app, limit).await?;
    app.db.clone().close().await;
    for message in dead {
        let error = first_line(message.last_error.as_deref());
        println!(
            "{}\t{}\t{}\t{}\t{}\t{error}",
            message.id,
            message.template,
            message.recipient_email,
            message.attempts,
            message.next_attempt_at.to_rfc3339()
        );
    }
    Ok(())
}

async fn requeue_mail(settings: Settings, ids: Option<Vec<uuid::Uuid>>) -> anyhow::Result<ExitCode> {
    let app = offline_app(settings).await?;
    let done = delivery::requeue_many(&app, ids.as_deref()).await?;
    app.db.clone().close().await;
    println!("requeued: {}", done.requeued);
    Ok(name_the_rest(&done.not_requeueable, "not failed, dead or dropped (unknown, waiting or sent)"))
}

async fn audit_verify(settings: Settings) -> anyhow::Result<ExitCode> {
    let app = offline_app(settings).await?;
    let report = audit::verify(&app).await?;
    app.db.clone().close().await;
    Ok(match report {
        AuditReport::Intact { appeals, events } => {
            println!("ok: {appeals} appeals, {events} events");
            ExitCode::SUCCESS
        }
        AuditReport::Broken(link) => {
            println!("broken: {link}");
            ExitCode::FAILURE
        }
    })
}

async fn serve(config_dir: &std::path::Path, settings: Settings, with_demo: bool) -> anyhow::Result<()> {
    let public_url = settings.server.public_url.clone();
    let listener = tokio::net::TcpListener::bind(settings.bind_address()).await?;
    // The routes at the address just bound; emails link to the configured public address,
    // which differs behind a proxy or when the port is overridden.
    let local = format!("http://{}", listener.local_addr()?);
    let app = App::build(settings, Arc::new(SystemClock)).await?;
    if with_demo {
        let inserted = demo::seed_reference(&app, config_dir).await?;
        if inserted > 0 {
            println!("Seeded {inserted} demo territories and categories.");
        }
        let seeded = demo::seed_if_empty(&app, config_dir).await?;
        if demo::seed_rules_if_none(&app, config_dir).await? {
            println!("Demo routing rules (config/demo/rules.toml) are active as ruleset version 1.");
        }
        print_demo(&local, seeded);
    }
    let server = app::launch(app, listener)?;
    tracing::info!(addr = %server.addr, "listening");
    println!("Murojiat is listening on {local}");
    println!("  API docs:  {local}/docs");
    println!("  OpenAPI:   {local}/api/v1/openapi.json");
    println!("  Health:    {local}/healthz");
    println!("  Links in emails point to {public_url}");
    server.run_until_signalled().await?;
    Ok(())
}

async fn rules(config_dir: &std::path::Path, settings: Settings, action: RulesAction) -> anyhow::Result<()> {
    match action {
        RulesAction::Check { file, database } => {
            let ruleset = read_ruleset(&file)?;
            let catalog = rules_catalog(config_dir, settings, database).await?;
            let summary = routing::summarize(&ruleset, &catalog);
            print!("{summary}");
            let errors = summary.validation.errors.len();
            anyhow::ensure!(errors == 0, "{}: {errors} error(s)", file.display());
            Ok(())
        }
        RulesAction::Explain { file, appeal, database } => {
            let ruleset = read_ruleset(&file)?;
            let catalog = rules_catalog(config_dir, settings, database).await?;
            let facts: routing::RoutingFacts = match appeal.strip_prefix('@') {
                Some(path) => serde_json::from_str(&std::fs::read_to_string(path)?)?,
                None => serde_json::from_str(&appeal)?,
            };
            let router = routing::Router::compile(&ruleset, &catalog).map_err(|errors| {
                let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
                anyhow::anyhow!("{} does not validate:\n  {}", file.display(), lines.join("\n  "))
            })?;
            let (decision, trace) = router.explain(&facts);
            print!("{trace}");
            println!("{}", serde_json::to_string_pretty(&decision)?);
            Ok(())
        }
    }
}

/// Reads a ruleset file: JSON when its name ends in .json, TOML otherwise.
fn read_ruleset(file: &std::path::Path) -> anyhow::Result<routing::Ruleset> {
    let source = std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let format = if file.extension().is_some_and(|e| e == "json") { "json" } else { "toml" };
    murojiat::services::routing::parse(&source, format)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))
}

/// The catalog to check against: the demo reference files by default (no database needed),
/// or the configured database's.
async fn rules_catalog(
    config_dir: &std::path::Path,
    settings: Settings,
    database: bool,
) -> anyhow::Result<routing::Catalog> {
    if database {
        let app = App::build(settings, Arc::new(SystemClock)).await?;
        return Ok(murojiat::services::routing::catalog(&app, app.db.conn()).await?);
    }
    let jurisdiction = murojiat::jurisdiction::Jurisdiction::load(&settings)?;
    let policies: Vec<&str> = jurisdiction.policies.iter().map(|p| p.name.as_str()).collect();
    let read = |name: &str| {
        let path = config_dir.join("demo").join(name);
        std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    };
    Ok(routing::catalog_from_toml(
        &read("territories.toml")?,
        &read("agencies.toml")?,
        &read("categories.toml")?,
        &policies,
    )?)
}

async fn worker(settings: Settings) -> anyhow::Result<()> {
    let app = App::build(settings, Arc::new(SystemClock)).await?;
    let s = &app.settings.scheduler;
    println!(
        "Murojiat worker: running due jobs (batch {}, poll every {} ms); stop with Ctrl-C",
        s.batch_size, s.poll_interval_ms
    );
    app::work_until_signalled(app).await;
    Ok(())
}

/// Prints a year of the calendar in force: the database's (as edited by administrators), or
/// the configuration files' while the database holds none.
async fn show_calendar(settings: &Settings, year: i32) -> anyhow::Result<()> {
    let jurisdiction = murojiat::jurisdiction::Jurisdiction::load(settings)?;
    let db = Db::connect(&settings.database).await?;
    if db.migration_status().await?.iter().all(|(_, applied)| *applied) {
        let tables = murojiat::store::calendar::tables(db.conn()).await?;
        if !tables.is_empty() {
            let rules = jurisdiction.calendar.rules();
            jurisdiction.calendar.replace(murojiat::domain::calendar::BusinessCalendar::new(rules, tables)?);
        }
    }
    db.close().await;
    let calendar = jurisdiction.calendar.current();
    let Some(listing) = calendar.year(year) else {
        let known: Vec<String> = calendar.years().map(|y| y.to_string()).collect();
        anyhow::bail!("no calendar table for {year}; known years: {}", known.join(", "));
    };
    println!(
        "Calendar {} {year}: time zone {}, weekend {}",
        settings.jurisdiction.calendar,
        listing.time_zone,
        listing.weekend.join(", ")
    );
    for entry in &listing.entries {
        let moved = entry.moved_from.map(|d| format!(" (moved from {d})")).unwrap_or_default();
        let provisional = if entry.provisional { " [provisional]" } else { "" };
        println!(
            "{} {}  {:<11} {} / {} / {}{moved}{provisional}",
            entry.date,
            entry.date.format("%a"),
            entry.kind.as_str(),
            entry.names.tg,
            entry.names.ru,
            entry.names.en
        );
    }
    Ok(())
}

fn print_demo(local: &str, seeded: bool) {
    if seeded {
        println!("Seeded the demo jurisdiction (Tajikistan) into an empty database.");
    } else {
        println!("The database already holds data; the demo seed was skipped.");
    }
    println!("Demo accounts (public passwords; never use --demo with real data):");
    for account in demo::ACCOUNTS {
        let agency = account.agency.map(|a| format!(" (agency {a})")).unwrap_or_default();
        println!("  {:<10} {:<30} {}{agency}", account.role.as_str(), account.email, account.password);
    }
    println!("Try: curl -s {local}/api/v1/auth/login -H 'content-type: application/json' \\");
    println!("       -d '{{\"email\":\"citizen@demo.murojiat.tj\",\"password\":\"demo-citizen-2026\"}}'");
}

async fn migrate(settings: Settings, action: MigrateAction) -> anyhow::Result<()> {
    let db = Db::connect(&settings.database).await?;
    match action {
        MigrateAction::Up => {
            db.migrate_up().await?;
            println!("All migrations applied.");
        }
        MigrateAction::Down { steps } => {
            db.migrate_down(steps).await?;
            println!("Reverted {steps} migration(s).");
        }
        MigrateAction::Status => {
            for (name, applied) in db.migration_status().await? {
                println!("{} {name}", if applied { "applied" } else { "pending" });
            }
        }
    }
    db.close().await;
    Ok(())
}

async fn create_user(
    settings: Settings,
    role: Role,
    email: String,
    agency: Option<String>,
    name: Option<String>,
) -> anyhow::Result<()> {
    let password = if std::io::stdin().is_terminal() {
        None
    } else {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        let line = text.lines().next().unwrap_or_default().to_owned();
        (!line.is_empty()).then_some(line)
    };
    let app = App::build(settings, Arc::new(SystemClock)).await?;
    let full_name = name.unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
    let created =
        accounts::create_account(&app, NewAccount { email, full_name, role, agency, locale: None, password })
            .await
            .map_err(|err| match err {
                murojiat::services::ServiceError::Invalid(fields) => anyhow::anyhow!(
                    "{}",
                    fields.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
                ),
                other => anyhow::anyhow!(other),
            })?;
    println!("Created {} {} ({})", created.user.role, created.user.email, created.user.id);
    if let Some(password) = created.generated_password {
        println!("Password (shown once): {password}");
    }
    app.db.clone().close().await;
    Ok(())
}
