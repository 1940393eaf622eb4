//! Turning a rendered template into a MIME message with the headers receivers rely on.

use chrono::{DateTime, Utc};
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{Address, Message};
use uuid::Uuid;

use super::templates::Rendered;

/// A sender or recipient: a display name (may be empty, may be Tajik Cyrillic) and an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Correspondent<'a> {
    /// The name mail clients show; line breaks and control characters are replaced.
    pub name: &'a str,
    /// The email address.
    pub address: &'a str,
}

/// Why a message could not be built. None of these is worth retrying.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    /// The sender or recipient address is not a valid email address.
    #[error("invalid {role} address {address:?}: {source}")]
    InvalidAddress {
        /// `"from"` or `"to"`.
        role: &'static str,
        /// The address as given.
        address: String,
        /// lettre's reason.
        source: lettre::address::AddressError,
    },
    /// The Message-ID domain is not a plain host name.
    #[error("invalid Message-ID domain {0:?}")]
    InvalidDomain(String),
    /// lettre refused to assemble the message.
    #[error("cannot build message: {0}")]
    Build(#[from] lettre::error::Error),
}

/// `Auto-Submitted: auto-generated` (RFC 3834): tells well-behaved autoresponders and
/// vacation notices not to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        if s.trim().eq_ignore_ascii_case("auto-generated") {
            Ok(Self)
        } else {
            Err(format!("unsupported Auto-Submitted value {s:?}").into())
        }
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

/// The Message-ID of the message for outbox row `outbox_id`: `<{outbox_id}@{domain}>`.
///
/// The same row always yields the same id, so a re-send after a crash is recognisable as a
/// duplicate by the receiver.
pub fn message_id(outbox_id: Uuid, domain: &str) -> Result<String, EmailError> {
    let plain_host = !domain.is_empty()
        && domain
            .split('.')
            .all(|label| !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if plain_host {
        Ok(format!("<{}@{}>", outbox_id.as_hyphenated(), domain.to_ascii_lowercase()))
    } else {
        Err(EmailError::InvalidDomain(domain.to_owned()))
    }
}

/// Builds the `multipart/alternative` message (text first, HTML preferred) for one outbox row.
///
/// The caller passes the instant for the `Date` header (the time the row was created), so the
/// same row always builds the same headers. Display names and the subject are reduced to
/// one line, which makes header injection through them impossible; non-ASCII text is
/// encoded per RFC 2047 by lettre.
pub fn build_email(
    from: Correspondent<'_>,
    to: Correspondent<'_>,
    rendered: &Rendered,
    outbox_id: Uuid,
    date: DateTime<Utc>,
    message_id_domain: &str,
) -> Result<Message, EmailError> {
    let message = Message::builder()
        .from(mailbox("from", from)?)
        .to(mailbox("to", to)?)
        .subject(single_line(&rendered.subject))
        .date(date.into())
        .message_id(Some(message_id(outbox_id, message_id_domain)?))
        .header(AutoSubmitted)
        .multipart(MultiPart::alternative_plain_html(rendered.text.clone(), rendered.html.clone()))?;
    Ok(message)
}

fn mailbox(role: &'static str, who: Correspondent<'_>) -> Result<Mailbox, EmailError> {
    let address = who.address.trim().parse::<Address>().map_err(|source| EmailError::InvalidAddress {
        role,
        address: who.address.to_owned(),
        source,
    })?;
    let name = single_line(who.name);
    Ok(Mailbox::new((!name.is_empty()).then_some(name), address))
}

/// Text fit for one header line: every control character (CR and LF included) and every
/// Unicode line or paragraph separator becomes a space, runs of spaces collapse, and the
/// ends are trimmed.
pub fn single_line(text: &str) -> String {
    let mut line = String::with_capacity(text.len());
    for word in text.split(|c: char| c.is_control() || c.is_whitespace()).filter(|word| !word.is_empty()) {
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn rendered(subject: &str) -> Rendered {
        Rendered {
            subject: subject.to_owned(),
            text: "Матн бо забони тоҷикӣ.\n".to_owned(),
            html: "<p>Матн бо забони тоҷикӣ.</p>\n".to_owned(),
        }
    }

    fn outbox_id() -> Uuid {
        Uuid::from_u128(0x0195_a1b2_c3d4_7e5f_8a9b_0c1d_2e3f_4a5b)
    }

    fn build(to_name: &str, subject: &str) -> String {
        let date = Utc.with_ymd_and_hms(2026, 3, 17, 13, 0, 0).single().expect("valid date");
        let message = build_email(
            Correspondent { name: "Муроҷиат", address: "no-reply@murojiat.tj" },
            Correspondent { name: to_name, address: "citizen@example.tj" },
            &rendered(subject),
            outbox_id(),
            date,
            "murojiat.tj",
        )
        .expect("message builds");
        String::from_utf8(message.formatted()).expect("formatted mail is ASCII")
    }

    fn headers(raw: &str) -> Vec<&str> {
        raw.split("\r\n").take_while(|l| !l.is_empty()).collect()
    }

    #[test]
    fn carries_the_stable_headers() {
        let raw = build("Фотима Раҳимова", "Муроҷиати шумо қабул шуд");
        let headers = headers(&raw);
        assert!(headers.contains(&"Message-ID: <0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b@murojiat.tj>"));
        assert!(headers.contains(&"Date: Tue, 17 Mar 2026 13:00:00 +0000"), "{headers:#?}");
        assert!(headers.contains(&"Auto-Submitted: auto-generated"));
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.is_ascii(), "non-ASCII must be encoded on the wire");
        assert!(raw.contains("=?utf-8?b?"), "subject and names are RFC 2047 encoded");
    }

    #[test]
    fn the_same_row_builds_the_same_message_id() {
        let first = build("A", "B");
        let second = build("A", "B");
        let id =
            |raw: &str| headers(raw).into_iter().find(|h| h.starts_with("Message-ID:")).map(str::to_owned);
        assert_eq!(id(&first), id(&second));
        assert!(id(&first).is_some());
    }

    #[test]
    fn header_injection_through_name_or_subject_is_impossible() {
        let raw = build(
            "Evil\r\nBcc: victim@example.com\r\nX-Injected: 1",
            "Hello\r\nBcc: victim@example.com\nX-Injected: 2\r\n\r\n<b>body</b>",
        );
        for header in headers(&raw) {
            assert!(!header.starts_with("Bcc"), "{header}");
            assert!(!header.starts_with("X-Injected"), "{header}");
        }
        assert!(!raw.contains("\r\nBcc:"));
    }

    #[test]
    fn single_line_removes_every_kind_of_line_break() {
        assert_eq!(single_line(" a\r\nb\u{2028}c\td\u{0}e  "), "a b c d e");
        assert_eq!(single_line("\r\n"), "");
    }

    #[test]
    fn refuses_bad_addresses_and_domains() {
        let date = Utc.with_ymd_and_hms(2026, 3, 17, 13, 0, 0).single().expect("valid date");
        let from = Correspondent { name: "", address: "no-reply@murojiat.tj" };
        let bad_to = Correspondent { name: "x", address: "a@b.tj\r\nBcc: c@d.tj" };
        let error = build_email(from, bad_to, &rendered("s"), outbox_id(), date, "murojiat.tj");
        assert!(matches!(error, Err(EmailError::InvalidAddress { role: "to", .. })));
        assert!(matches!(message_id(outbox_id(), "evil>\r\nBcc: x"), Err(EmailError::InvalidDomain(_))));
    }
}
