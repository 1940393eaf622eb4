//! Typed settings: `config/default.toml`, then `config/<environment>.toml`, then `MUROJIAT_*`
//! environment variables (`__` separates section and key). A setting that fails to parse
//! stops the program at start with the file, the key and the reason.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;

use crate::domain::locale::Locale;
use crate::notify::TransportKind;

/// Every setting the program reads. Unknown keys are refused, so a typo cannot silently
/// leave a default in force.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub rate_limit: RateLimitSettings,
    pub logging: LoggingSettings,
    pub appeals: AppealSettings,
    pub jurisdiction: JurisdictionSettings,
    #[serde(default)]
    pub mail: crate::notify::MailSettings,
    pub scheduler: SchedulerSettings,
    pub reports: ReportSettings,
    /// The folder the settings were read from; jurisdiction files are found relative to it.
    #[serde(skip)]
    pub config_dir: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppealSettings {
    /// Agency that receives every appeal no routing rule claims (the general reception).
    pub reception_agency: String,
    /// Deadline policy used when routing names none.
    pub default_policy: String,
    /// Where attachments are stored, by content hash.
    pub attachments_dir: PathBuf,
    pub max_attachment_bytes: usize,
    pub max_attachments_per_appeal: usize,
    /// Appeals must lie inside this box (the jurisdiction's territory).
    pub bounding_box: crate::domain::submission::BoundingBox,
    /// How long a process keeps the agency hierarchy, the categories, the territories and
    /// which routing ruleset is active before reading them again; a change made by another process takes effect here within
    /// this many seconds.
    pub reference_cache_secs: u64,
    /// How long after a calendar edit its recheck runs (moving what another process set on
    /// the calendar before the edit while it had not read it yet); longer than
    /// `reference_cache_secs`.
    pub calendar_recheck_secs: u64,
    /// How long an Idempotency-Key is remembered before housekeeping deletes it.
    pub idempotency_retention_hours: u64,
}

/// The deadline scheduler: how `serve` and `worker` poll for due jobs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerSettings {
    /// Whether `serve` runs the scheduler in-process (`murojiat worker` always does).
    pub enabled: bool,
    /// Pause between passes when nothing was due, in milliseconds.
    pub poll_interval_ms: u64,
    /// Due jobs one worker claims at once (their appeals, with every due job of theirs).
    pub batch_size: u64,
    /// Transactions a batch runs in at once, each claiming its share of the batch's
    /// appeals (PostgreSQL; SQLite always uses one).
    pub batch_transactions: usize,
    /// PostgreSQL ends a batch whose worker sends no statement for this long (a hung
    /// process), freeing the appeals it holds; its jobs are due again.
    pub batch_idle_secs: u64,
    /// Attempts before a failing job ends `failed`.
    pub max_attempts: u32,
    /// The first retry waits this long; each further one twice as long...
    pub retry_base_secs: u64,
    /// ...but never longer than this.
    pub retry_max_secs: u64,
}

/// The supervisors' deadline reports.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSettings {
    /// "Due soon" in the deadline report: due within this many working days from today.
    pub due_soon_working_days: u32,
    /// The longest period one report may cover, in days.
    pub max_period_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JurisdictionSettings {
    /// Calendar name: `calendar/<name>.toml` plus `calendar/<name>-<year>.toml` files.
    pub calendar: String,
    /// Deadline policies file, relative to the configuration folder.
    pub deadlines_file: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub public_url: String,
    pub default_locale: Locale,
    pub json_body_limit_bytes: usize,
    /// The largest routing ruleset source accepted (a ministry's ruleset of a thousand rules
    /// is about 300 KB, far above the general JSON limit).
    pub ruleset_body_limit_bytes: usize,
    pub request_timeout_secs: u64,
    pub shutdown_grace_secs: u64,
    /// Requests worked on at once; one more is answered 503 at once (see `http::shed`).
    pub max_in_flight_requests: usize,
    /// Reverse proxies whose `X-Forwarded-For` is believed: a request from one of these
    /// addresses is counted (rate limits, guests' idempotency keys) against the client the
    /// proxy names. Empty: every request is the TCP peer's.
    pub trusted_proxies: Vec<ProxyNet>,
}

/// An address or a network (`"10.0.0.1"`, `"10.0.0.0/8"`, `"::1"`) of trusted proxies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct ProxyNet(pub ipnet::IpNet);

impl ProxyNet {
    pub fn contains(&self, addr: &std::net::IpAddr) -> bool {
        self.0.contains(addr)
    }
}

impl TryFrom<String> for ProxyNet {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        let text = raw.trim();
        text.parse::<ipnet::IpNet>()
            .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            .map(ProxyNet)
            .map_err(|_| format!("{raw:?} is not an IP address or network such as 10.0.0.0/8"))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub auto_migrate: bool,
    pub max_connections: u32,
    /// A pooled connection idle at least this long is pinged before it is handed out.
    pub ping_after_idle_ms: u64,
    pub sqlite_busy_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub issuer: String,
    pub audience: String,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_days: i64,
    pub leeway_secs: u64,
    pub signing_key_file: PathBuf,
    /// The private key itself (PKCS#8 PEM); when set, `signing_key_file` is not read.
    #[serde(default)]
    pub signing_key_pem: Option<String>,
    pub previous_public_key_files: Vec<PathBuf>,
    /// Access tokens whose signature was checked, remembered per process; 0 turns it off.
    pub verified_tokens_remembered: usize,
    pub min_password_chars: usize,
    pub max_password_chars: usize,
    pub argon2: Argon2Settings,
    /// Whether a self-registered citizen must confirm their email before filing.
    pub require_verified_email: bool,
    /// How long an email verification link is valid.
    pub verify_email_ttl_hours: i64,
    /// How long a password reset link is valid.
    pub password_reset_ttl_minutes: i64,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Argon2Settings {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    pub max_concurrent_hashes: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    pub login_per_ip: RateLimit,
    pub login_per_account: RateLimit,
    pub register_per_ip: RateLimit,
    pub refresh_per_ip: RateLimit,
    pub guest_lookup_per_ip: RateLimit,
    /// Requests that send account mail (password reset, a new verification link).
    pub account_mail_per_ip: RateLimit,
    /// The same requests per email address, whoever sends them.
    pub account_mail_per_address: RateLimit,
}

/// `burst` requests at once, refilled evenly over `per_secs` seconds.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub burst: u32,
    pub per_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggingSettings {
    pub format: LogFormat,
    pub filter: String,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Why the settings could not be loaded; the message names the file, key and reason.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration directory {0} has no default.toml")]
    MissingDefaults(PathBuf),
    #[error("{0}")]
    Invalid(#[from] Box<figment::Error>),
    #[error("{key}: {reason}")]
    Rejected { key: &'static str, reason: String },
}

/// Environment variables with the `MUROJIAT_` prefix that are not settings.
const NOT_SETTINGS: &[&str] = &["ENV", "TEST_DATABASE_URL", "CONFIG", "TEST_SMTP"];

impl Settings {
    /// Loads `dir/default.toml`, then `dir/<environment>.toml` if it exists, then the
    /// environment. `environment` is usually `MUROJIAT_ENV` (default `development`).
    pub fn load(dir: &Path, environment: &str) -> Result<Self, ConfigError> {
        let mut settings = Self::figment(dir, environment)?.extract_checked()?;
        settings.config_dir = dir.to_path_buf();
        Ok(settings)
    }

    /// The layered sources, for callers (tests) that merge overrides of their own.
    pub fn figment(dir: &Path, environment: &str) -> Result<Figment, ConfigError> {
        let defaults = dir.join("default.toml");
        if !defaults.is_file() {
            return Err(ConfigError::MissingDefaults(dir.to_path_buf()));
        }
        Ok(Figment::from(Toml::file_exact(defaults))
            .merge(Toml::file(dir.join(format!("{environment}.toml"))))
            .merge(Env::prefixed("MUROJIAT_").ignore(NOT_SETTINGS).split("__")))
    }

    /// The address the server binds to.
    pub fn bind_address(&self) -> String {
        format!("{}:{}", self.server.host, self.server.port)
    }

    fn check(self) -> Result<Self, ConfigError> {
        if self.appeals.calendar_recheck_secs <= self.appeals.reference_cache_secs {
            return Err(ConfigError::Rejected {
                key: "appeals.calendar_recheck_secs",
                reason: format!(
                    "must be longer than appeals.reference_cache_secs ({} s): the recheck looks at what other processes set before they read the edited calendar",
                    self.appeals.reference_cache_secs
                ),
            });
        }
        if self.auth.leeway_secs > 30 {
            return Err(ConfigError::Rejected {
                key: "auth.leeway_secs",
                reason: "must be at most 30 seconds".into(),
            });
        }
        let a = self.auth.argon2;
        if a.memory_kib < 8 * a.parallelism || a.iterations == 0 || a.max_concurrent_hashes == 0 {
            return Err(ConfigError::Rejected {
                key: "auth.argon2",
                reason: "needs memory_kib >= 8 * parallelism, iterations >= 1, max_concurrent_hashes >= 1"
                    .into(),
            });
        }
        if self.auth.min_password_chars < 8 || self.auth.max_password_chars < 64 {
            return Err(ConfigError::Rejected {
                key: "auth.min_password_chars",
                reason: "NIST SP 800-63B asks for a minimum of at least 8 and a maximum of at least 64"
                    .into(),
            });
        }
        // Every email links to this address; a server whose citizens cannot open the links
        // must not start (production.toml leaves it empty so that it has to be set).
        let url = &self.server.public_url;
        let host = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
        if host.is_none_or(|rest| rest.is_empty() || rest.starts_with('/')) {
            return Err(ConfigError::Rejected {
                key: "server.public_url",
                reason: format!(
                    "must be the absolute http(s) address people use to reach this server, such as https://murojiat.example.tj (MUROJIAT_SERVER__PUBLIC_URL), not {url:?}"
                ),
            });
        }
        if self.mail.transport == TransportKind::Smtp && self.mail.smtp.host.trim().is_empty() {
            return Err(ConfigError::Rejected {
                key: "mail.smtp.host",
                reason:
                    "must name the SMTP server when mail.transport = \"smtp\" (MUROJIAT_MAIL__SMTP__HOST)"
                        .into(),
            });
        }
        let sc = &self.scheduler;
        if sc.batch_size == 0
            || sc.batch_transactions == 0
            || sc.batch_idle_secs == 0
            || sc.max_attempts == 0
            || sc.poll_interval_ms == 0
        {
            return Err(ConfigError::Rejected {
                key: "scheduler",
                reason:
                    "batch_size, batch_transactions, batch_idle_secs, max_attempts and poll_interval_ms must be at least 1"
                        .into(),
            });
        }
        Ok(self)
    }
}

/// Extraction that also applies the cross-field checks.
pub trait ExtractSettings {
    fn extract_checked(self) -> Result<Settings, ConfigError>;
}

impl ExtractSettings for Figment {
    fn extract_checked(self) -> Result<Settings, ConfigError> {
        self.extract::<Settings>().map_err(Box::new)?.check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config")
    }

    #[test]
    fn every_shipped_environment_parses() {
        for env in ["development", "test"] {
            let settings = Settings::figment(&config_dir(), env)
                .unwrap()
                .merge(figment::providers::Serialized::default("logging.filter", "warn"))
                .extract_checked();
            assert!(settings.is_ok(), "{env}: {:?}", settings.err());
        }
    }

    /// Production sends legal notices that link to the server: it starts only once the
    /// address people use and the SMTP server are given, never with the development
    /// defaults (links to 127.0.0.1, mail written to files).
    #[test]
    fn production_needs_its_public_address_and_an_smtp_server() {
        let production = || Settings::figment(&config_dir(), "production").unwrap();
        let set = |key: &str, value: &str| figment::providers::Serialized::default(key, value.to_owned());
        let err = production().extract_checked().unwrap_err().to_string();
        assert!(err.contains("server.public_url") && err.contains("MUROJIAT_SERVER__PUBLIC_URL"), "{err}");
        let err = production()
            .merge(set("server.public_url", "https://murojiat.example.tj"))
            .extract_checked()
            .unwrap_err()
            .to_string();
        assert!(err.contains("mail.smtp.host") && err.contains("MUROJIAT_MAIL__SMTP__HOST"), "{err}");
        let settings = production()
            .merge(set("server.public_url", "https://murojiat.example.tj"))
            .merge(set("mail.smtp.host", "mail.example.tj"))
            .extract_checked()
            .unwrap();
        assert_eq!(settings.mail.transport, TransportKind::Smtp);
        for bad in ["", "murojiat.example.tj", "https://", "http:///x", "ftp://murojiat.example.tj"] {
            let refused = production()
                .merge(set("server.public_url", bad))
                .merge(set("mail.smtp.host", "mail.example.tj"))
                .extract_checked();
            assert!(refused.is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_unknown_key_is_refused_with_its_name() {
        let err = Settings::figment(&config_dir(), "test")
            .unwrap()
            .merge(figment::providers::Serialized::default("server.prot", 80))
            .extract_checked()
            .unwrap_err();
        assert!(err.to_string().contains("prot"), "{err}");
    }

    #[test]
    fn a_calendar_recheck_not_after_the_reference_cache_is_refused() {
        let with = |recheck: u64| {
            Settings::figment(&config_dir(), "test")
                .unwrap()
                .merge(figment::providers::Serialized::default("appeals.reference_cache_secs", 30))
                .merge(figment::providers::Serialized::default("appeals.calendar_recheck_secs", recheck))
                .extract_checked()
        };
        let err = with(30).unwrap_err();
        assert!(err.to_string().contains("appeals.calendar_recheck_secs"), "{err}");
        assert!(with(31).is_ok());
    }

    #[test]
    fn a_leeway_over_thirty_seconds_is_refused() {
        let err = Settings::figment(&config_dir(), "test")
            .unwrap()
            .merge(figment::providers::Serialized::default("auth.leeway_secs", 120))
            .extract_checked()
            .unwrap_err();
        assert!(err.to_string().contains("auth.leeway_secs"), "{err}");
    }
}
