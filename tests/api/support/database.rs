//! One database per test. SQLite: a file in the test's temporary folder. PostgreSQL (when
//! `MUROJIAT_TEST_DATABASE_URL` is set): a database cloned from a migrated template, dropped
//! when the test ends.
//!
//! The template is made once and reused by every test of every process (cargo test runs
//! tests as threads, nextest as processes), so it is created under a PostgreSQL advisory
//! lock, which works across processes. Its name carries a hash of the migration names, so a
//! new migration makes a new template and stale ones are dropped.

use std::path::Path;

use migration::{Migrator, MigratorTrait};
use murojiat::config::DatabaseSettings;
use murojiat::store::Db;
use sea_orm::sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, Row};
use sha2::{Digest, Sha256};

const TEST_DATABASE_URL: &str = "MUROJIAT_TEST_DATABASE_URL";
const TEMPLATE_PREFIX: &str = "murojiat_template_";
/// Any fixed number; every process creating or cloning the template takes this lock.
const TEMPLATE_LOCK: i64 = 0x6d75_726f_6a69;

pub enum TestDatabase {
    Sqlite { url: String },
    Postgres { url: String, server_url: String, name: String },
}

impl TestDatabase {
    pub async fn create(data_dir: &Path) -> Self {
        match std::env::var(TEST_DATABASE_URL) {
            Ok(server_url) if !server_url.is_empty() => {
                assert!(
                    server_url.starts_with("postgres://") || server_url.starts_with("postgresql://"),
                    "{TEST_DATABASE_URL} must be a postgres:// URL, got {server_url}"
                );
                let name = format!("murojiat_test_{}", uuid::Uuid::now_v7().simple());
                clone_template(&server_url, &name).await;
                let url = with_database(&server_url, &name);
                TestDatabase::Postgres { url, server_url, name }
            }
            _ => TestDatabase::Sqlite { url: format!("sqlite://{}", data_dir.join("murojiat.db").display()) },
        }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDatabase::Sqlite { url } | TestDatabase::Postgres { url, .. } => url,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let TestDatabase::Postgres { server_url, name, .. } = self else { return };
        let (server_url, name) = (server_url.clone(), name.clone());
        // Drop runs inside the test's runtime, which cannot block on itself: use a thread
        // with a runtime of its own. FORCE ends the server's pooled connections (PG 13+).
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&server_url).await?;
                admin
                    .execute(AssertSqlSafe(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#)))
                    .await?;
                admin.close().await
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
        .join();
        if let Ok(Err(err)) = dropped {
            eprintln!("could not drop the test database: {err}");
        }
    }
}

/// Creates `name` as a copy of the migrated template, making the template first if needed.
/// Copies are made under a shared advisory lock, so they run in parallel; the template is
/// made (and stale ones dropped) under the exclusive lock, so never while anyone copies.
async fn clone_template(server_url: &str, name: &str) {
    let mut admin = PgConnection::connect(server_url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {server_url}: {e}"));
    let template = template_name();
    run(&mut admin, format!("SELECT pg_advisory_lock_shared({TEMPLATE_LOCK})")).await;
    if !templates(&mut admin).await.contains(&template) {
        run(&mut admin, format!("SELECT pg_advisory_unlock_shared({TEMPLATE_LOCK})")).await;
        run(&mut admin, format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})")).await;
        let existing = templates(&mut admin).await;
        if !existing.contains(&template) {
            build_template(&mut admin, server_url, &template, &existing).await;
        }
        run(&mut admin, format!("SELECT pg_advisory_lock_shared({TEMPLATE_LOCK})")).await;
        run(&mut admin, format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK})")).await;
    }
    run(&mut admin, format!(r#"CREATE DATABASE "{name}" TEMPLATE "{template}""#)).await;
    run(&mut admin, format!("SELECT pg_advisory_unlock_shared({TEMPLATE_LOCK})")).await;
    let _ = admin.close().await;
}

/// Migrates a new database under a temporary name and renames it, so a crash half-way
/// never leaves a template that looks finished.
async fn build_template(admin: &mut PgConnection, server_url: &str, template: &str, existing: &[String]) {
    // Leftovers: templates of other migration sets, or a half-made one from a crash.
    // Errors are ignored: a database someone is connected to stays.
    for stale in existing {
        let _ = admin.execute(AssertSqlSafe(format!(r#"DROP DATABASE IF EXISTS "{stale}""#))).await;
    }
    let building = format!("{template}_building");
    run(admin, format!(r#"DROP DATABASE IF EXISTS "{building}""#)).await;
    run(admin, format!(r#"CREATE DATABASE "{building}""#)).await;
    let db = Db::connect(&DatabaseSettings {
        url: with_database(server_url, &building),
        auto_migrate: false,
        max_connections: 1,
        ping_after_idle_ms: 1000,
        sqlite_busy_timeout_ms: 1000,
    })
    .await
    .expect("the template accepts connections");
    db.migrate_up().await.expect("migrations apply to the template");
    db.close().await;
    run(admin, format!(r#"ALTER DATABASE "{building}" RENAME TO "{template}""#)).await;
}

async fn templates(admin: &mut PgConnection) -> Vec<String> {
    let query = format!("SELECT datname FROM pg_database WHERE datname LIKE '{TEMPLATE_PREFIX}%'");
    admin
        .fetch_all(AssertSqlSafe(query))
        .await
        .expect("pg_database is readable")
        .iter()
        .map(|row| row.get::<String, _>(0))
        .collect()
}

async fn run(admin: &mut PgConnection, sql: String) {
    if let Err(err) = admin.execute(AssertSqlSafe(sql.clone())).await {
        panic!("{sql}: {err}");
    }
}

/// `murojiat_template_` and the first 12 hex digits of a hash of every migration's name.
fn template_name() -> String {
    let mut hash = Sha256::new();
    for migration in Migrator::migrations() {
        hash.update(migration.name().as_bytes());
        hash.update(b"\n");
    }
    // The sources too, so a migration edited before it was ever released makes a new template.
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/src");
    let mut sources: Vec<_> = std::fs::read_dir(&folder)
        .expect("the migrations folder")
        .map(|entry| entry.expect("a readable folder entry").path())
        .collect();
    sources.sort();
    for source in sources {
        hash.update(std::fs::read(&source).expect("a readable migration"));
    }
    format!("{TEMPLATE_PREFIX}{}", &hex::encode(hash.finalize())[..12])
}

/// The server URL with its database name replaced.
fn with_database(server_url: &str, name: &str) -> String {
    let mut url = url::Url::parse(server_url).expect("a valid database URL");
    url.set_path(name);
    url.to_string()
}
