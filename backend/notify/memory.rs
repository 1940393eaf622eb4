//! A transport that keeps messages in memory, for unit tests.

use std::sync::{Arc, Mutex, PoisonError};

use futures::future::BoxFuture;
use lettre::address::Envelope;

use super::mailer::{Mailer, SendError};

/// One message a [`MemoryMailer`] accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMail {
    /// The SMTP envelope sender, if any.
    pub from: Option<String>,
    /// The SMTP envelope recipients.
    pub to: Vec<String>,
    /// The formatted message, exactly as it would go on the wire.
    pub raw: Vec<u8>,
}

impl SentMail {
    /// The formatted message as text (lossy for non-UTF-8 bytes, which we never produce).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }
}

/// Records every message instead of sending it. Clones share the same record.
#[derive(Debug, Clone, Default)]
pub struct MemoryMailer {
    sent: Arc<Mutex<Vec<SentMail>>>,
}

impl MemoryMailer {
    /// An empty mailer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message accepted so far, oldest first.
    pub fn messages(&self) -> Vec<SentMail> {
        self.sent.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Mailer for MemoryMailer {
    fn send_raw<'a>(&'a self, envelope: &'a Envelope, raw: &'a [u8]) -> BoxFuture<'a, Result<(), SendError>> {
        let mail = SentMail {
            from: envelope.from().map(ToString::to_string),
            to: envelope.to().iter().map(ToString::to_string).collect(),
            raw: raw.to_vec(),
        };
        self.sent.lock().unwrap_or_else(PoisonError::into_inner).push(mail);
        Box::pin(async { Ok(()) })
    }
}
