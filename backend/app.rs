//! Builds the application's state and router, serves it, and shuts down gracefully.
//! [`launch`] is what both `murojiat serve` and the tests call.

use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::auth::keys::KeyRing;
use crate::auth::password::PasswordHasher;
use crate::auth::seal::Sealer;
use crate::auth::tokens::TokenIssuer;
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::http::metrics::Metrics;
use crate::jurisdiction::Jurisdiction;
use crate::services::appeals::DirectoryCache;
use crate::services::delivery::{self, Postman};
use crate::services::limits::RateLimits;
use crate::services::reference::ReferenceCache;
use crate::services::routing::RouterCache;
use crate::services::scheduler::Scheduler;
use crate::store::Db;

/// Everything a request handler or a job may need. Cheap to clone.
#[derive(Clone)]
pub struct App(Arc<AppState>);

pub struct AppState {
    pub settings: Settings,
    pub db: Db,
    pub clock: SharedClock,
    pub hasher: PasswordHasher,
    pub tokens: TokenIssuer,
    /// Seals secrets kept for a while, such as a guest's access code in an idempotency record.
    pub sealer: Sealer,
    pub limits: RateLimits,
    pub metrics: Metrics,
    pub jurisdiction: Jurisdiction,
    /// The compiled router of the active routing ruleset, recompiled when it changes.
    pub routing: RouterCache,
    /// The agency hierarchy, read again when stale or changed here.
    pub directory: DirectoryCache,
    /// The categories and territories as this process last read them.
    pub reference: ReferenceCache,
    pub postman: Postman,
    /// Counts the passes of this process's background scheduler loop, so that whoever needs
    /// to know it ran (a test, a health check) can wait for a pass instead of polling.
    pub scheduler_passes: watch::Sender<u64>,
}

impl Deref for App {
    type Target = AppState;
    fn deref(&self) -> &AppState {
        &self.0
    }
}

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("signing key: {0}")]
    Keys(#[from] crate::auth::keys::KeyError),
    #[error("password hashing: {0}")]
    Hashing(#[from] crate::auth::password::HashError),
    #[error("jurisdiction: {0}")]
    Jurisdiction(#[from] crate::jurisdiction::JurisdictionError),
    #[error("mail: {0}")]
    Mail(#[from] crate::services::delivery::PostmanError),
    #[error("calendar: {0}")]
    Calendar(String),
    #[error("cannot listen: {0}")]
    Listen(#[from] std::io::Error),
}

impl App {
    /// Connects to the database (migrating it if configured), loads or creates the signing
    /// key and builds the shared state.
    pub async fn build(settings: Settings, clock: SharedClock) -> Result<Self, StartError> {
        let db = Db::connect(&settings.database).await?;
        if settings.database.auto_migrate {
            db.migrate_up().await?;
        }
        let auth = &settings.auth;
        let keys = KeyRing::load(
            auth.signing_key_pem.as_deref(),
            &auth.signing_key_file,
            &auth.previous_public_key_files,
        )?;
        let app = Self::assemble(settings, db, clock, keys)?;
        crate::services::calendar::load(&app).await.map_err(|e| StartError::Calendar(e.to_string()))?;
        Ok(app)
    }

    /// Builds the state from parts already made (tests bring their own key ring).
    pub fn assemble(
        settings: Settings,
        db: Db,
        clock: SharedClock,
        keys: KeyRing,
    ) -> Result<Self, StartError> {
        let hasher = PasswordHasher::new(settings.auth.argon2)?;
        let sealer = keys.sealer.clone();
        let tokens = TokenIssuer::new(keys, &settings.auth);
        let limits = RateLimits::new(&settings.rate_limit);
        let jurisdiction = Jurisdiction::load(&settings)?;
        let postman = Postman::from_settings(&settings.mail, &settings.config_dir.join("templates"))?;
        Ok(App(Arc::new(AppState {
            settings,
            db,
            clock,
            hasher,
            tokens,
            sealer,
            limits,
            metrics: Metrics::default(),
            jurisdiction,
            routing: RouterCache::default(),
            directory: DirectoryCache::default(),
            reference: ReferenceCache::default(),
            postman,
            scheduler_passes: watch::channel(0).0,
        })))
    }
}

/// A server running in the background.
pub struct Server {
    pub addr: SocketAddr,
    pub app: App,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
    /// The in-process scheduler, when `scheduler.enabled`.
    scheduler: Option<JoinHandle<()>>,
}

impl Server {
    /// Asks the server to stop accepting connections, waits for in-flight requests (up to the
    /// configured grace period) and closes the database pool.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(true);
        let grace = Duration::from_secs(self.app.settings.server.shutdown_grace_secs);
        let result = match tokio::time::timeout(grace, self.task).await {
            Ok(joined) => joined.unwrap_or(Ok(())),
            Err(_) => {
                tracing::warn!("in-flight requests did not finish within the grace period");
                Ok(())
            }
        };
        if let Some(scheduler) = self.scheduler {
            finish_scheduler(scheduler, grace).await;
        }
        self.app.db.clone().close().await;
        result
    }

    /// Runs until the process receives SIGINT or SIGTERM, then stops gracefully.
    pub async fn run_until_signalled(self) -> std::io::Result<()> {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        self.stop().await
    }
}

/// Serves `app` on `listener` in a background task.
pub fn launch(app: App, listener: TcpListener) -> Result<Server, StartError> {
    let addr = listener.local_addr()?;
    let router = crate::http::router(app.clone());
    let (shutdown, mut signal) = watch::channel(false);
    let limits_app = app.clone();
    let postman = app
        .settings
        .mail
        .outbox
        .deliver
        .then(|| tokio::spawn(delivery::run_worker(app.clone(), signal.clone())));
    let calendar = tokio::spawn(crate::services::calendar::watch(app.clone(), signal.clone()));
    let task = tokio::spawn(async move {
        let sweeper = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                limits_app.limits.forget_idle();
            }
        });
        let served = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = signal.wait_for(|stop| *stop).await;
            })
            .await;
        sweeper.abort();
        let _ = calendar.await;
        if let Some(postman) = postman {
            let _ = postman.await;
        }
        served
    });
    let scheduler = app
        .settings
        .scheduler
        .enabled
        .then(|| tokio::spawn(Scheduler::new(app.clone()).run_until(shutdown.subscribe())));
    Ok(Server { addr, app, shutdown, task, scheduler })
}

/// Runs only the scheduler (`murojiat worker`) until SIGINT or SIGTERM; the job in progress
/// finishes (or, past the grace period, is abandoned and rolls back) before it returns.
pub async fn work_until_signalled(app: App) {
    let (stop, stopped) = watch::channel(false);
    let calendar = tokio::spawn(crate::services::calendar::watch(app.clone(), stopped.clone()));
    let scheduler = tokio::spawn(Scheduler::new(app.clone()).run_until(stopped));
    shutdown_signal().await;
    tracing::info!("shutting down: finishing the scheduler's current job");
    let _ = stop.send(true);
    finish_scheduler(scheduler, Duration::from_secs(app.settings.server.shutdown_grace_secs)).await;
    let _ = calendar.await;
    app.db.clone().close().await;
}

/// Waits for the scheduler loop to stop; a job still running after `grace` is dropped (its
/// transaction rolls back, and any worker runs its jobs at its next pass).
async fn finish_scheduler(scheduler: JoinHandle<()>, grace: Duration) {
    let abort = scheduler.abort_handle();
    if tokio::time::timeout(grace, scheduler).await.is_err() {
        tracing::warn!("the scheduler did not stop within the grace period");
        abort.abort();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
