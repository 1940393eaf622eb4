//! Email: templates in every language, message building, and the transports that deliver.
//!
//! The flow is `Templates::render` -> [`build_email`] -> [`Mailer::send`]. Nothing here
//! touches the database or the clock: the outbox (elsewhere) decides what to send and when,
//! passes the instants in, and uses [`RetrySchedule`] to decide when to try again.

mod email;
mod file;
mod format;
mod mailer;
mod memory;
mod settings;
mod smtp;
mod templates;

use std::sync::Arc;

pub use email::{Correspondent, EmailError, build_email, message_id, single_line};
pub use file::FileMailer;
pub use format::{format_date, format_datetime};
pub use mailer::{Mailer, SendError};
pub use memory::{MemoryMailer, SentMail};
pub use settings::{MailSettings, OutboxSettings, RetrySchedule, TransportKind};
pub use smtp::{Security, SmtpConfigError, SmtpMailer, SmtpSettings};
pub use templates::{LoadError, MessageKind, RenderError, Rendered, Templates};

/// The transport the settings ask for, ready to share across tasks.
pub fn mailer_from_settings(settings: &MailSettings) -> Result<Arc<dyn Mailer>, SmtpConfigError> {
    Ok(match settings.transport {
        TransportKind::File => Arc::new(FileMailer::new(&settings.file_dir)),
        TransportKind::Smtp => Arc::new(SmtpMailer::new(&settings.smtp)?),
    })
}
