//! Attachments: PDF, JPEG, PNG and DOCX files, recognised by their first bytes (never by
//! the name or the declared type), stored once per content hash, served only to those who
//! may see the appeal.

use std::path::PathBuf;

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{Directory, see, stored_instant};
use crate::app::App;
use crate::domain::access::Viewer;
use crate::domain::lifecycle::Status;
use crate::services::ServiceError;
use crate::store::appeals;
use crate::store::attachments::{self, Attachment};
use crate::store::events::{self, NewEvent};

/// The file types accepted, by signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Pdf,
    Jpeg,
    Png,
    Docx,
}

impl FileType {
    /// Recognises a file by its leading bytes. A ZIP container counts as DOCX only if it
    /// carries the Word document part.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"%PDF-") {
            Some(FileType::Pdf)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(FileType::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(FileType::Png)
        } else if bytes.starts_with(b"PK\x03\x04") && contains(bytes, b"word/") {
            Some(FileType::Docx)
        } else {
            None
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            FileType::Pdf => "application/pdf",
            FileType::Jpeg => "image/jpeg",
            FileType::Png => "image/png",
            FileType::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Why an upload was refused.
#[derive(Debug, thiserror::Error)]
pub enum UploadRefused {
    #[error("the file is larger than {0} bytes")]
    TooLarge(usize),
    #[error("only PDF, JPEG, PNG and DOCX files are accepted")]
    UnsupportedType,
}

/// Adds a file to an appeal. Citizens attach to their own open appeals; staff to the
/// appeals they can see.
pub async fn upload(
    app: &App,
    viewer: &Viewer,
    appeal_id: Uuid,
    file_name: &str,
    bytes: &[u8],
) -> Result<Result<Attachment, UploadRefused>, ServiceError> {
    let settings = &app.settings.appeals;
    if bytes.len() > settings.max_attachment_bytes {
        return Ok(Err(UploadRefused::TooLarge(settings.max_attachment_bytes)));
    }
    let Some(file_type) = FileType::sniff(bytes) else {
        return Ok(Err(UploadRefused::UnsupportedType));
    };
    // Read inside the write transaction, never through a second pooled connection while
    // holding it (that deadlocks once every connection is held by a waiting writer).
    let txn = app.db.write().await?;
    let directory = Directory::load_in(&txn).await?;
    let now = stored_instant(app.clock.now());
    // Bumping the version first takes the appeal's row lock: concurrent uploads then check
    // and count one after the other (each seeing the others' files), and concurrent actions
    // with the old version are stale. Refusals below roll the bump back.
    let appeal = appeals::bump_version(&txn, appeal_id, now).await.map_err(|e| match e {
        crate::store::StoreError::NotFound => ServiceError::NotFound,
        other => other.into(),
    })?;
    see(app, &directory, viewer, appeal.clone(), now)?;
    let status: Status = appeal.status.parse().map_err(|_| ServiceError::NotFound)?;
    if !status.is_open() {
        return Err(ServiceError::Conflict(format!("the appeal is {status}; files can no longer be added")));
    }
    if attachments::count_of_appeal(&txn, appeal_id).await? >= settings.max_attachments_per_appeal as u64 {
        return Err(ServiceError::Conflict(format!(
            "an appeal has at most {} attachments",
            settings.max_attachments_per_appeal
        )));
    }
    let sha256 = hex::encode(Sha256::digest(bytes));
    store_file(app, &sha256, bytes).await?;
    let (actor_id, actor_role) = super::actions::actor(viewer);
    let row = attachments::insert(
        &txn,
        Attachment {
            id: Uuid::now_v7(),
            appeal_id,
            file_name: clean_file_name(file_name),
            content_type: file_type.content_type().to_owned(),
            size_bytes: bytes.len() as i64,
            sha256,
            uploaded_by: actor_id,
            visibility: "public".to_owned(),
            created_at: now,
        },
    )
    .await?;
    events::append(
        &txn,
        NewEvent {
            appeal_id,
            at: now,
            actor_id,
            actor_role,
            action: "attach".to_owned(),
            visibility: "public".to_owned(),
            status_before: appeal.status.clone(),
            status_after: appeal.status.clone(),
            data: serde_json::json!({ "attachment": row.id, "file_name": row.file_name, "sha256": row.sha256 }),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(Ok(row))
}

/// The appeal's attachments, for whoever may see the appeal.
pub async fn list(app: &App, viewer: &Viewer, appeal_id: Uuid) -> Result<Vec<Attachment>, ServiceError> {
    super::reads::get(app, viewer, appeal_id).await?;
    Ok(attachments::of_appeal(app.db.conn(), appeal_id).await?)
}

/// One attachment's record and content.
pub async fn download(
    app: &App,
    viewer: &Viewer,
    appeal_id: Uuid,
    attachment_id: Uuid,
) -> Result<(Attachment, Vec<u8>), ServiceError> {
    super::reads::get(app, viewer, appeal_id).await?;
    let row = attachments::by_id(app.db.conn(), attachment_id)
        .await?
        .filter(|a| a.appeal_id == appeal_id)
        .ok_or(ServiceError::NotFound)?;
    let bytes = tokio::fs::read(path_of(app, &row.sha256)).await.map_err(|e| {
        tracing::error!(attachment = %row.id, error = %e, "attachment file missing");
        ServiceError::NotFound
    })?;
    Ok((row, bytes))
}

fn path_of(app: &App, sha256: &str) -> PathBuf {
    app.settings.appeals.attachments_dir.join(&sha256[..2]).join(sha256)
}

/// Writes the file once per content; a temporary name and a rename keep a crash from
/// leaving half a file under the final name.
async fn store_file(app: &App, sha256: &str, bytes: &[u8]) -> Result<(), ServiceError> {
    let path = path_of(app, sha256);
    if tokio::fs::try_exists(&path).await.unwrap_or(false) {
        return Ok(());
    }
    let io = |e: std::io::Error| ServiceError::Internal(format!("storing attachment: {e}"));
    let dir = path.parent().map(PathBuf::from).unwrap_or_default();
    tokio::fs::create_dir_all(&dir).await.map_err(io)?;
    let temp = dir.join(format!(".{}.{}", sha256, Uuid::now_v7()));
    tokio::fs::write(&temp, bytes).await.map_err(io)?;
    tokio::fs::rename(&temp, &path).await.map_err(io)?;
    Ok(())
}

/// Keeps a display name safe for a Content-Disposition header: no path, no control or quote
/// characters, at most 255 characters.
fn clean_file_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && *c != '"' && *c != ';')
        .take(255)
        .collect::<String>()
        .trim()
        .to_owned();
    if cleaned.is_empty() { "attachment".to_owned() } else { cleaned }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_recognised_by_their_first_bytes() {
        assert_eq!(FileType::sniff(b"%PDF-1.7 ..."), Some(FileType::Pdf));
        assert_eq!(FileType::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(FileType::Jpeg));
        assert_eq!(FileType::sniff(b"\x89PNG\r\n\x1a\n...."), Some(FileType::Png));
        assert_eq!(
            FileType::sniff(b"PK\x03\x04....[Content_Types].xml word/document.xml"),
            Some(FileType::Docx)
        );
        assert_eq!(FileType::sniff(b"PK\x03\x04 just a zip"), None);
        assert_eq!(FileType::sniff(b"MZ\x90\x00 an executable"), None);
        assert_eq!(FileType::sniff(b"<html>"), None);
    }

    #[test]
    fn file_names_lose_paths_and_header_breaking_characters() {
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("C:\\Users\\ali\\ариза.pdf"), "ариза.pdf");
        assert_eq!(clean_file_name("a\"b;c\r\n.pdf"), "abc.pdf");
        assert_eq!(clean_file_name(""), "attachment");
    }
}
