//! Delivery to a real SMTP server through a pooled lettre transport.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use futures::future::BoxFuture;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::response::{Category, Code};
use lettre::transport::smtp::{self, PoolConfig};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::Deserialize;

use super::mailer::{Mailer, SendError};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Security {
    /// Plain connection upgraded with STARTTLS, which is required (usually port 587).
    Starttls,
    /// TLS from the first byte, "implicit TLS" (usually port 465).
    Tls,
    /// No encryption at all: only for a relay on localhost or a test sink.
    None,
}

/// The `[mail.smtp]` settings.
///
/// The password belongs in the environment (`MUROJIAT_MAIL__SMTP__PASSWORD`) or in a file
/// named by `password_file`, never in a committed configuration file; `Debug` hides it.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    /// The server's host name; also the name its TLS certificate must carry.
    pub host: String,
    /// The server's port.
    pub port: u16,
    /// STARTTLS, implicit TLS or none.
    pub security: Security,
    /// The user to authenticate as; no authentication when absent.
    pub username: Option<String>,
    /// The password, when given directly (from the environment).
    pub password: Option<String>,
    /// A file holding the password (trailing newline ignored); used when `password` is unset.
    pub password_file: Option<PathBuf>,
    /// How long one SMTP command may take before the attempt counts as failed, in seconds.
    pub timeout_secs: u64,
    /// The most connections the pool keeps open at once.
    pub pool_max_size: u32,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            host: "localhost".to_owned(),
            port: 587,
            security: Security::Starttls,
            username: None,
            password: None,
            password_file: None,
            timeout_secs: 30,
            pool_max_size: 10,
        }
    }
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("password_file", &self.password_file)
            .field("timeout_secs", &self.timeout_secs)
            .field("pool_max_size", &self.pool_max_size)
            .finish()
    }
}

/// Why an [`SmtpMailer`] could not be built from its settings.
#[derive(Debug, thiserror::Error)]
pub enum SmtpConfigError {
    /// The TLS parameters for the host could not be set up.
    #[error("mail.smtp: cannot set up TLS for {host}: {source}")]
    Tls {
        /// The configured host.
        host: String,
        /// lettre's reason.
        source: smtp::Error,
    },
    /// `password_file` could not be read.
    #[error("mail.smtp.password_file: cannot read {path}: {source}")]
    PasswordFile {
        /// The configured path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A password was configured without a user to go with it.
    #[error("mail.smtp: a password is set but username is not")]
    PasswordWithoutUsername,
}

/// Sends over SMTP with a connection pool. Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer").finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// Builds the transport. Opens no connection: the first send does, so a mail server that
    /// is down at start delays mail rather than stopping the program.
    pub fn new(settings: &SmtpSettings) -> Result<Self, SmtpConfigError> {
        let tls = match settings.security {
            Security::None => Tls::None,
            Security::Starttls => Tls::Required(tls_parameters(&settings.host)?),
            Security::Tls => Tls::Wrapper(tls_parameters(&settings.host)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            .port(settings.port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(settings.timeout_secs)))
            .pool_config(PoolConfig::new().max_size(settings.pool_max_size.max(1)));
        if let Some(credentials) = credentials(settings)? {
            builder = builder.credentials(credentials);
        }
        Ok(Self { transport: builder.build() })
    }
}

fn tls_parameters(host: &str) -> Result<TlsParameters, SmtpConfigError> {
    TlsParameters::new(host.to_owned())
        .map_err(|source| SmtpConfigError::Tls { host: host.to_owned(), source })
}

fn credentials(settings: &SmtpSettings) -> Result<Option<Credentials>, SmtpConfigError> {
    let password = match (&settings.password, &settings.password_file) {
        (Some(password), _) => Some(password.clone()),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|source| SmtpConfigError::PasswordFile { path: path.clone(), source })?;
            Some(text.trim_end_matches(['\r', '\n']).to_owned())
        }
        (None, None) => None,
    };
    match (&settings.username, password) {
        (Some(user), password) => Ok(Some(Credentials::new(user.clone(), password.unwrap_or_default()))),
        (None, Some(_)) => Err(SmtpConfigError::PasswordWithoutUsername),
        (None, None) => Ok(None),
    }
}

impl Mailer for SmtpMailer {
    fn send_raw<'a>(&'a self, envelope: &'a Envelope, raw: &'a [u8]) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move { self.transport.send_raw(envelope, raw).await.map(drop).map_err(classify) })
    }
}

/// Sorts an SMTP failure into "try again later" and "give up".
///
/// Only the server's refusal of this message for good is permanent: a 5xx reply about its
/// mailbox, address or content (55x: no such user, mailbox full, refused as spam).
/// Everything else is transient, because its usual cause is an outage or a misconfiguration
/// an administrator will fix, and it fails every message alike: connection, TLS and timeout
/// failures, 4xx replies, a refused session (53x: authentication required or failed), a
/// command the server does not take (50x), and what the client itself refuses (no
/// STARTTLS, no common authentication mechanism). Given up on, those would dead-letter
/// every legal notice at once, to be requeued one by one.
fn classify(error: smtp::Error) -> SendError {
    let text = error.to_string();
    if refuses_the_message(error.is_permanent(), error.status()) {
        SendError::Permanent(text)
    } else {
        SendError::Transient(text)
    }
}

fn refuses_the_message(permanent: bool, status: Option<Code>) -> bool {
    permanent && status.is_some_and(|code| code.category == Category::MailSystem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let settings = SmtpSettings {
            username: Some("murojiat".into()),
            password: Some("hunter2".into()),
            ..SmtpSettings::default()
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("hunter2") && shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn only_a_refusal_of_the_mailbox_address_or_content_is_given_up_on() {
        use lettre::transport::smtp::response::{Detail, Severity};
        let code = |severity, category, detail| Some(Code::new(severity, category, detail));
        let no_such_user = code(Severity::PermanentNegativeCompletion, Category::MailSystem, Detail::Zero);
        assert!(refuses_the_message(true, no_such_user));
        // 535: the server refuses our credentials, so it would refuse every message.
        let bad_login = code(Severity::PermanentNegativeCompletion, Category::Unspecified3, Detail::Five);
        assert!(!refuses_the_message(true, bad_login));
        let not_implemented = code(Severity::PermanentNegativeCompletion, Category::Syntax, Detail::Two);
        assert!(!refuses_the_message(true, not_implemented));
        assert!(!refuses_the_message(false, None), "connection, TLS, client-side");
    }

    #[test]
    fn a_password_needs_a_username() {
        let settings = SmtpSettings { password: Some("x".into()), ..SmtpSettings::default() };
        assert!(matches!(SmtpMailer::new(&settings), Err(SmtpConfigError::PasswordWithoutUsername)));
    }
}
