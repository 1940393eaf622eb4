//! The one seam between "a message is ready" and "it left the building".

use futures::future::BoxFuture;
use lettre::Message;
use lettre::address::Envelope;

/// Why a delivery failed, split by what the outbox should do next.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth retrying later: the server is down, slow, or answered 4xx.
    #[error("transient delivery failure: {0}")]
    Transient(String),
    /// Retrying will not help: the server answered 5xx or the message is unusable.
    /// The outbox dead-letters it.
    #[error("permanent delivery failure: {0}")]
    Permanent(String),
}

impl SendError {
    /// Whether the outbox should schedule another attempt.
    pub fn is_transient(&self) -> bool {
        matches!(self, SendError::Transient(_))
    }
}

/// Something that delivers finished messages.
///
/// Delivery is at least once: a transport may be asked to send the same message again
/// after a crash, and the stable `Message-ID` lets receivers (and [`super::FileMailer`])
/// recognise the duplicate. The methods return boxed futures so that the application can
/// hold an `Arc<dyn Mailer>` chosen from configuration at start.
pub trait Mailer: Send + Sync {
    /// Delivers already formatted bytes (RFC 5322) to the envelope's recipients.
    fn send_raw<'a>(&'a self, envelope: &'a Envelope, raw: &'a [u8]) -> BoxFuture<'a, Result<(), SendError>>;

    /// Formats `message` and delivers it to the recipients of its envelope.
    fn send<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let raw = message.formatted();
            self.send_raw(message.envelope(), &raw).await
        })
    }
}
