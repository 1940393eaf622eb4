//! `spawn_app()` and what tests need to talk to it: the real server on port 0 with its own
//! database (a temporary SQLite file, or a PostgreSQL database cloned from a migrated
//! template when `MUROJIAT_TEST_DATABASE_URL` is set), a clock the test moves, and helpers
//! that keep each test about the behaviour it checks.

pub mod appeals;
mod database;
pub mod fixtures;
pub mod plans;
mod problem;
pub mod reports;
pub mod smtp_sink;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, TimeZone, Utc};
use figment::providers::Serialized;
use murojiat::app::{self, App, Server};
use murojiat::auth::keys::KeyRing;
use murojiat::clock::ManualClock;
use murojiat::config::{ExtractSettings, Settings};
use murojiat::domain::role::Role;
use murojiat::services::accounts::{self, NewAccount};
use murojiat::store::Db;
use murojiat::store::entity::{agency, outbox_message, refresh_token, user};
use reqwest::{Method, RequestBuilder, Response};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use tempfile::TempDir;

pub use fixtures::agency;
pub use problem::{Problem, assert_problem};

use database::TestDatabase;

/// A password that passes every rule, used for accounts the tests create.
pub const PASSWORD: &str = "correct horse battery staple";

/// The instant every test starts at: a Monday morning in Dushanbe (10:00 local).
pub fn start_instant() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 5, 0, 0).single().expect("a valid instant")
}

/// A running server with its own database, and a client to talk to it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub clock: ManualClock,
    pub db: Db,
    pub app: App,
    pub client: reqwest::Client,
    next_id: AtomicU32,
    // Dropped in this order: the server handle, then the database, then the data folder.
    _server: Server,
    _database: TestDatabase,
    _data: TempDir,
}

/// Starts the application on a random port with a fresh database and a manual clock.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|figment| figment).await
}

/// Like [`spawn_app`], with extra settings merged over config/test.toml.
pub async fn spawn_app_with(configure: impl FnOnce(figment::Figment) -> figment::Figment) -> TestApp {
    init_logging();
    let data = tempfile::tempdir().expect("a temporary data folder");
    let database = TestDatabase::create(data.path()).await;
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let figment = Settings::figment(&config, "test")
        .expect("config/default.toml exists")
        .merge(Serialized::default("database.url", database.url()))
        .merge(Serialized::default("database.max_connections", 4))
        .merge(Serialized::default("server.host", "127.0.0.1"))
        .merge(Serialized::default("server.port", 0))
        .merge(Serialized::default(
            "auth.signing_key_file",
            data.path().join("keys/jwt-ed25519.pem").display().to_string(),
        ))
        .merge(Serialized::default(
            "appeals.attachments_dir",
            data.path().join("attachments").display().to_string(),
        ))
        .merge(Serialized::default("mail.file_dir", data.path().join("mail").display().to_string()));
    let mut settings = configure(figment).extract_checked().expect("test settings are valid");
    settings.config_dir = config;

    let db = Db::connect(&settings.database).await.expect("the test database accepts connections");
    db.migrate_up().await.expect("migrations apply");
    let clock = ManualClock::at(start_instant());
    let app = App::assemble(settings, db.clone(), Arc::new(clock.clone()), KeyRing::generate())
        .expect("the application assembles");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let server = app::launch(app.clone(), listener).expect("the server starts");
    TestApp {
        addr: server.addr,
        clock,
        db,
        app,
        client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
        next_id: AtomicU32::new(1),
        _server: server,
        _database: database,
        _data: data,
    }
}

fn init_logging() {
    if std::env::var_os("TEST_LOG").is_some() {
        let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "debug,sqlx=warn".into());
        murojiat::telemetry::init(&murojiat::config::LoggingSettings {
            format: murojiat::config::LogFormat::Pretty,
            filter,
        });
    }
}

/// A signed-in account: its tokens and id.
#[derive(Debug, Clone)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    pub user_id: String,
    pub email: String,
}

impl Session {
    /// The access token, for the `token` argument of the request helpers.
    pub fn token(&self) -> Option<&str> {
        Some(&self.access_token)
    }

    fn from_login(email: &str, body: &Value) -> Self {
        Self {
            access_token: body["access_token"].as_str().expect("access_token").to_owned(),
            refresh_token: body["refresh_token"].as_str().expect("refresh_token").to_owned(),
            user_id: body["user"]["id"].as_str().expect("user.id").to_owned(),
            email: email.to_owned(),
        }
    }
}

/// No `Authorization` header.
pub const ANONYMOUS: Option<&str> = None;

impl TestApp {
    /// Runs the `murojiat` binary with `args` against this app's configuration and database,
    /// as an operator would; its exit code and what it printed.
    pub fn command(&self, args: &[&str]) -> (Option<i32>, String) {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_murojiat"))
            .args(args)
            .env("MUROJIAT_CONFIG", &self.app.settings.config_dir)
            .env("MUROJIAT_ENV", "test")
            .env("MUROJIAT_DATABASE__URL", &self.app.settings.database.url)
            .env("MUROJIAT_DATABASE__MAX_CONNECTIONS", "2")
            .output()
            .expect("the binary runs");
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// What the application's clock says.
    pub fn clock_now(&self) -> DateTime<Utc> {
        murojiat::clock::Clock::now(&self.clock)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A request with an optional bearer token, for tests that set headers themselves.
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let builder = self.client.request(method, self.url(path));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::GET, path, token).send().await.expect("the server answers")
    }

    pub async fn post_json(&self, path: &str, body: &Value, token: Option<&str>) -> Response {
        self.request(Method::POST, path, token).json(body).send().await.expect("the server answers")
    }

    pub async fn patch_json(&self, path: &str, body: &Value, token: Option<&str>) -> Response {
        self.request(Method::PATCH, path, token).json(body).send().await.expect("the server answers")
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::DELETE, path, token).send().await.expect("the server answers")
    }

    /// A new address no other account of this test uses.
    pub fn unique_email(&self, who: &str) -> String {
        format!("{who}{}@example.tj", self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Signs in and returns the session; panics unless the login succeeds.
    pub async fn login(&self, email: &str, password: &str) -> Session {
        let response =
            self.post_json("/api/v1/auth/login", &json!({"email": email, "password": password}), None).await;
        assert_eq!(response.status(), 200, "login of {email} failed");
        Session::from_login(email, &response.json().await.unwrap())
    }

    /// Registers a citizen through the API.
    pub async fn register(&self, email: &str, password: &str, full_name: &str) -> Response {
        self.post_json(
            "/api/v1/auth/register",
            &json!({"email": email, "password": password, "full_name": full_name}),
            None,
        )
        .await
    }

    /// A freshly registered citizen who has confirmed their email, signed in.
    pub async fn citizen(&self) -> Session {
        let session = self.unconfirmed_citizen().await;
        self.confirm_email(&session.email).await;
        session
    }

    /// A freshly registered and signed-in citizen who has not opened the confirmation link.
    pub async fn unconfirmed_citizen(&self) -> Session {
        let email = self.unique_email("citizen");
        let response = self.register(&email, PASSWORD, "Нигора Раҳимова").await;
        assert_eq!(response.status(), 201, "registration failed: {}", response.text().await.unwrap());
        self.login(&email, PASSWORD).await
    }

    /// The token of the newest link of `template` mailed to `email` (read from the outbox,
    /// where the email waits).
    pub async fn mailed_token(&self, email: &str, template: &str) -> String {
        use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
        let row = outbox_message::Entity::find()
            .filter(outbox_message::Column::RecipientEmail.eq(email))
            .filter(outbox_message::Column::Template.eq(template))
            .order_by_desc(outbox_message::Column::CreatedAt)
            .order_by_desc(outbox_message::Column::Id)
            .one(self.db.conn())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no {template} mail to {email}"));
        let data: Value = serde_json::from_str(&row.data).unwrap();
        let url = data.as_object().unwrap().iter().find(|(k, _)| k.ends_with("_url")).unwrap().1;
        url.as_str().unwrap().split("token=").nth(1).expect("a token in the link").to_owned()
    }

    /// How many emails the outbox holds, whatever their status.
    pub async fn outbox_count(&self) -> u64 {
        outbox_message::Entity::find().count(self.db.conn()).await.unwrap()
    }

    /// Opens the confirmation link mailed to `email`.
    pub async fn confirm_email(&self, email: &str) {
        let token = self.mailed_token(email, "verify_email").await;
        let response = self.post_json("/api/v1/auth/verify-email", &json!({ "token": token }), None).await;
        assert_eq!(response.status(), 200, "confirmation failed: {}", response.text().await.unwrap());
    }

    /// A signed-in administrator, created directly through the service (as the CLI does).
    pub async fn admin(&self) -> Session {
        self.staff(Role::Admin, None).await
    }

    /// A signed-in official of the agency with this code (created if it does not exist).
    pub async fn official_of(&self, agency_code: &str) -> Session {
        self.ensure_agency(agency_code).await;
        self.staff(Role::Official, Some(agency_code)).await
    }

    /// A signed-in supervisor of the agency with this code (created if it does not exist).
    pub async fn supervisor_of(&self, agency_code: &str) -> Session {
        self.ensure_agency(agency_code).await;
        self.staff(Role::Supervisor, Some(agency_code)).await
    }

    async fn staff(&self, role: Role, agency: Option<&str>) -> Session {
        let email = self.unique_email(role.as_str());
        accounts::create_account(
            &self.app,
            NewAccount {
                email: email.clone(),
                full_name: format!("Test {}", role.as_str()),
                role,
                agency: agency.map(str::to_owned),
                locale: None,
                password: Some(PASSWORD.into()),
            },
        )
        .await
        .expect("the account is created");
        self.login(&email, PASSWORD).await
    }

    /// Creates the agency through the service layer unless it exists.
    pub async fn ensure_agency(&self, code: &str) {
        let conn = self.db.conn();
        if murojiat::store::agencies::by_code(conn, code).await.unwrap().is_none() {
            fixtures::agency(code).insert(self).await;
        }
    }

    /// Creates an agency as `admin` through the API and returns its JSON.
    pub async fn create_agency(&self, admin: &Session, agency: fixtures::AgencyBuilder) -> Value {
        let response = self.post_json("/api/v1/admin/agencies", &agency.json(), admin.token()).await;
        assert_eq!(response.status(), 201, "agency not created: {}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    pub async fn count_users(&self) -> u64 {
        user::Entity::find().count(self.db.conn()).await.unwrap()
    }

    pub async fn count_agencies(&self) -> u64 {
        agency::Entity::find().count(self.db.conn()).await.unwrap()
    }

    /// Reverts the migrations applied from `name` on (it included), whatever came after it.
    pub async fn revert_migrations_through(&self, name: &str) {
        let status = self.db.migration_status().await.unwrap();
        let steps = status.iter().skip_while(|(n, _)| n != name).filter(|(_, applied)| *applied).count();
        assert!(steps > 0, "{name} is not applied: {status:?}");
        self.db.migrate_down(u32::try_from(steps).unwrap()).await.unwrap();
    }

    pub async fn count_refresh_tokens(&self) -> u64 {
        refresh_token::Entity::find().count(self.db.conn()).await.unwrap()
    }

    /// Every refresh-token row, for tests about rotation and revocation.
    pub async fn refresh_tokens(&self) -> Vec<refresh_token::Model> {
        refresh_token::Entity::find().all(self.db.conn()).await.unwrap()
    }

    /// The stored account with this email.
    pub async fn stored_user(&self, email: &str) -> user::Model {
        murojiat::store::users::by_email(self.db.conn(), &email.to_lowercase())
            .await
            .unwrap()
            .expect("the account exists")
    }
}
