//! The embedded default transport: each message becomes an `.eml` file that any mail client
//! opens, so a demo shows real messages without a mail server.

use std::path::{Path, PathBuf};

use futures::future::BoxFuture;
use lettre::address::Envelope;
use sha2::{Digest, Sha256};

use super::mailer::{Mailer, SendError};

/// Writes each message to `<dir>/<message-id>.eml`.
///
/// The file is named after the `Message-ID` header, so sending the same outbox row twice
/// overwrites one file instead of leaving two. A message without a `Message-ID` is named
/// after the SHA-256 of its bytes, which has the same effect. Files are written to a
/// temporary name and renamed, so a reader never sees half a message.
#[derive(Debug, Clone)]
pub struct FileMailer {
    dir: PathBuf,
}

impl FileMailer {
    /// A mailer writing into `dir`, which is created on first use.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory messages are written into.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path a message with these bytes is (or would be) written to.
    pub fn path_for(&self, raw: &[u8]) -> PathBuf {
        let stem = match message_id(raw) {
            Some(id) => file_stem(&id),
            None => hex::encode(Sha256::digest(raw)),
        };
        self.dir.join(format!("{stem}.eml"))
    }
}

impl Mailer for FileMailer {
    fn send_raw<'a>(
        &'a self,
        _envelope: &'a Envelope,
        raw: &'a [u8],
    ) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let path = self.path_for(raw);
            let temporary = path.with_extension("eml.tmp");
            let failed = |what: &str, e: std::io::Error| {
                SendError::Transient(format!("{what} {}: {e}", self.dir.display()))
            };
            tokio::fs::create_dir_all(&self.dir).await.map_err(|e| failed("cannot create", e))?;
            tokio::fs::write(&temporary, raw).await.map_err(|e| failed("cannot write into", e))?;
            tokio::fs::rename(&temporary, &path).await.map_err(|e| failed("cannot rename in", e))?;
            tracing::debug!(path = %path.display(), "mail written to file");
            Ok(())
        })
    }
}

/// The value of the `Message-ID` header, looked up in the header section only.
fn message_id(raw: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    text.split("\r\n")
        .take_while(|line| !line.is_empty())
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim().eq_ignore_ascii_case("message-id").then(|| value.trim().to_owned())
        })
        .filter(|id| !id.is_empty())
}

/// A file name made from a Message-ID: brackets dropped, anything outside a safe set
/// replaced, so an id can never climb out of the directory.
fn file_stem(message_id: &str) -> String {
    message_id
        .trim_matches(['<', '>'])
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '@' => c,
            _ => '_',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_files_by_message_id_and_never_leaves_the_directory() {
        let mailer = FileMailer::new("/var/mail-out");
        let raw = b"Subject: x\r\nMessage-ID: <0190abcd@mail.example.tj>\r\n\r\nbody";
        assert_eq!(mailer.path_for(raw), PathBuf::from("/var/mail-out/0190abcd@mail_example_tj.eml"));
        let hostile = b"Message-ID: <../../etc/passwd>\r\n\r\n";
        assert_eq!(mailer.path_for(hostile), PathBuf::from("/var/mail-out/______etc_passwd.eml"));
    }

    #[tokio::test]
    async fn writes_one_readable_eml_per_message_even_when_sent_twice() {
        use crate::notify::{Correspondent, Rendered, build_email};
        use chrono::TimeZone;

        let dir = tempfile::tempdir().expect("temp dir");
        let mailer = FileMailer::new(dir.path().join("mail"));
        let rendered = Rendered {
            subject: "Муроҷиати шумо қабул шуд".into(),
            text: "Ассалому алайкум!\n".into(),
            html: "<p>Ассалому алайкум!</p>\n".into(),
        };
        let outbox_id = uuid::Uuid::from_u128(7);
        let date = chrono::Utc.with_ymd_and_hms(2026, 3, 17, 13, 0, 0).single().expect("valid");
        let message = build_email(
            Correspondent { name: "Муроҷиат", address: "no-reply@murojiat.tj" },
            Correspondent { name: "Фотима", address: "fotima@example.tj" },
            &rendered,
            outbox_id,
            date,
            "murojiat.tj",
        )
        .expect("message builds");

        mailer.send(&message).await.expect("first write");
        mailer.send(&message).await.expect("second write");

        let files: Vec<_> = std::fs::read_dir(mailer.dir())
            .expect("directory exists")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(files, [format!("{outbox_id}@murojiat_tj.eml")]);
        let eml = std::fs::read_to_string(mailer.dir().join(&files[0])).expect("readable");
        assert!(eml.contains(&format!("Message-ID: <{outbox_id}@murojiat.tj>\r\n")));
        assert!(eml.contains("Subject: =?utf-8?b?"));
        assert!(eml.contains("Content-Type: text/plain; charset=utf-8"));
        assert!(eml.contains("Content-Type: text/html; charset=utf-8"));
    }

    #[tokio::test]
    async fn the_memory_mailer_records_envelope_and_bytes() {
        let memory = crate::notify::MemoryMailer::new();
        let envelope = Envelope::new(
            Some("a@murojiat.tj".parse().expect("address")),
            vec!["b@example.tj".parse().expect("address")],
        )
        .expect("envelope");
        memory.send_raw(&envelope, b"Subject: x\r\n\r\nbody").await.expect("recorded");
        let sent = memory.messages();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].to, ["b@example.tj"]);
        assert!(sent[0].text().ends_with("body"));
    }

    #[test]
    fn a_message_id_in_the_body_is_not_a_header() {
        let mailer = FileMailer::new("out");
        let raw = b"Subject: x\r\n\r\nMessage-ID: <fake@example>\r\n";
        let name = mailer.path_for(raw);
        assert_eq!(name.extension().and_then(|e| e.to_str()), Some("eml"));
        assert!(!name.to_string_lossy().contains("fake"));
    }
}
