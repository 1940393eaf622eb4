//! Reading appeals: one appeal, its timeline, a citizen's own list, a guest's status check.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Directory, Seen, see, viewer_of};
use crate::app::App;
use crate::domain::access::{GuestPass, ViewLevel, Viewer};
use crate::domain::role::Role;
use crate::domain::tracking::{AccessCode, AccessCodeHash, TrackingNumber};
use crate::services::{Caller, ServiceError};
use crate::store::appeals;
use crate::store::events::{self, Event};

/// One appeal as `viewer` may see it.
pub async fn get(app: &App, viewer: &Viewer, id: Uuid) -> Result<Seen, ServiceError> {
    let appeal = appeals::by_id(app.db.conn(), id).await?.ok_or(ServiceError::NotFound)?;
    let directory = Directory::load(app).await?;
    see(app, &directory, viewer, appeal, app.clock.now())
}

/// The appeal's timeline: every event for staff, public events only for the citizen.
pub async fn timeline(app: &App, viewer: &Viewer, id: Uuid) -> Result<Vec<Event>, ServiceError> {
    let seen = get(app, viewer, id).await?;
    let internal = seen.level == ViewLevel::Staff;
    Ok(events::of_appeal(app.db.conn(), id, internal).await?)
}

/// A citizen's own appeals, newest first.
pub async fn mine(
    app: &App,
    caller: &Caller,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<Seen>, ServiceError> {
    if caller.role != Role::Citizen {
        return Err(ServiceError::Forbidden);
    }
    let rows = appeals::of_citizen(app.db.conn(), caller.id, after, limit).await?;
    let directory = Directory::load(app).await?;
    let viewer = viewer_of(caller);
    let now = app.clock.now();
    rows.into_iter().map(|appeal| see(app, &directory, &viewer, appeal, now)).collect()
}

/// A guest's view of their appeal by tracking number and access code. Any mismatch, a
/// malformed number or code included, is "not found", and attempts are rate-limited per
/// address so codes cannot be guessed.
pub async fn as_guest(
    app: &App,
    client: &str,
    tracking_number: &str,
    access_code: &str,
) -> Result<(Viewer, Seen), ServiceError> {
    app.limits.guest_lookup_per_ip.check(client)?;
    let tracking = TrackingNumber::parse(tracking_number).map_err(|_| ServiceError::NotFound)?;
    let code = AccessCode::parse(access_code).map_err(|_| ServiceError::NotFound)?;
    let appeal = appeals::by_tracking_number(app.db.conn(), &tracking.canonical())
        .await?
        .ok_or(ServiceError::NotFound)?;
    let hash = appeal
        .access_code_hash
        .as_deref()
        .and_then(AccessCodeHash::from_hex)
        .ok_or(ServiceError::NotFound)?;
    let pass = GuestPass::verify(appeal.id, &hash, &code).ok_or(ServiceError::NotFound)?;
    let viewer = Viewer::Guest(pass);
    let directory = Directory::load(app).await?;
    let seen = see(app, &directory, &viewer, appeal, app.clock.now())?;
    Ok((viewer, seen))
}
