//! Auditing the timeline: every appeal's events must form an unbroken hash chain, and every
//! appeal must have one. Run by `murojiat audit verify`.

use uuid::Uuid;

use super::ServiceError;
use crate::app::App;
use crate::domain::tracking::TrackingNumber;
use crate::store::{appeals, events};

/// The outcome of a full verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditReport {
    /// Every chain is intact.
    Intact { appeals: u64, events: u64 },
    /// The first broken link found, in (appeal id, sequence) order.
    Broken(BrokenChain),
}

/// Where an appeal's chain breaks, named so an operator can find it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenChain {
    pub appeal_id: Uuid,
    /// As citizens read it (`XXXX-XXXX-XXC`); None when the appeal row itself is gone.
    pub tracking_number: Option<String>,
    /// The sequence number of the first event that does not fit; 0 when the appeal has no
    /// event at all.
    pub seq: i32,
    pub reason: &'static str,
}

impl std::fmt::Display for BrokenChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "appeal {} ({}), event {}: {}",
            self.appeal_id,
            self.tracking_number.as_deref().unwrap_or("no appeal row"),
            self.seq,
            self.reason
        )
    }
}

/// Walks every appeal's hash chain. Reads only; safe to run while the server works (an
/// appeal that gains events during the walk is checked as far as the walk saw it).
pub async fn verify(app: &App) -> Result<AuditReport, ServiceError> {
    let conn = app.db.conn();
    let verified = match events::verify_all(conn).await? {
        Ok(verified) => verified,
        Err(link) => {
            let tracking_number =
                appeals::by_id(conn, link.appeal_id).await?.map(|a| readable(&a.tracking_number));
            return Ok(AuditReport::Broken(BrokenChain {
                appeal_id: link.appeal_id,
                tracking_number,
                seq: link.seq,
                reason: link.reason,
            }));
        }
    };
    if let Some(bare) = appeals::without_events(conn).await? {
        return Ok(AuditReport::Broken(BrokenChain {
            appeal_id: bare.id,
            tracking_number: Some(readable(&bare.tracking_number)),
            seq: 0,
            reason: "the appeal has no events: its timeline was removed",
        }));
    }
    Ok(AuditReport::Intact { appeals: verified.appeals, events: verified.events })
}

/// The tracking number grouped as citizens see it, or as stored if it does not parse.
fn readable(stored: &str) -> String {
    TrackingNumber::parse(stored).map(|t| t.to_string()).unwrap_or_else(|_| stored.to_owned())
}
