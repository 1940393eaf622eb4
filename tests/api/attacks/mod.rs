//! Attacks on the API from outside (issue 8, done-when 4): forged and broken access tokens
//! against every protected route family, ids from another namespace or of something gone,
//! and bodies and request rates meant to wear the server down. Each test also shows that
//! nothing changed, and that the honest request it mimics does work, so a refusal cannot
//! pass for the wrong reason.

mod bodies;
mod ids;
mod jwt;

use murojiat::store::entity::{
    agency, appeal, appeal_event, attachment, calendar_entry, category, outbox_message, refresh_token,
    ruleset, territory, user,
};
use sea_orm::{EntityTrait, PaginatorTrait, QueryOrder};

use crate::support::appeals::{
    Filed, GOVERNMENT, OTHER_AGENCY, RECEPTION, complaint, spawn_appeals_app_with,
};
use crate::support::{Session, TestApp};

/// A running app with someone in every role and one citizen's appeal at the reception.
pub struct World {
    pub app: TestApp,
    pub citizen: Session,
    pub other_citizen: Session,
    /// Works at the reception, where `appeal` is.
    pub official: Session,
    /// Works at a sibling agency that has nothing to do with `appeal`.
    pub other_official: Session,
    /// Supervises the reception (and the sibling) from the government above them.
    pub supervisor: Session,
    pub admin: Session,
    pub appeal: Filed,
}

impl World {
    pub async fn new() -> Self {
        Self::with(|f| f).await
    }

    pub async fn with(configure: impl FnOnce(figment::Figment) -> figment::Figment) -> Self {
        let app = spawn_appeals_app_with(configure).await;
        let citizen = app.citizen().await;
        let other_citizen = app.citizen().await;
        let official = app.official_of(RECEPTION).await;
        let other_official = app.official_of(OTHER_AGENCY).await;
        let supervisor = app.supervisor_of(GOVERNMENT).await;
        let admin = app.admin().await;
        let appeal = app.files(&citizen, &complaint()).await;
        Self { app, citizen, other_citizen, official, other_official, supervisor, admin, appeal }
    }

    /// Everything an attack could change, to compare before and after it.
    pub async fn snapshot(&self) -> Snapshot {
        let conn = self.app.db.conn();
        let mut users: Vec<_> = user::Entity::find()
            .order_by_asc(user::Column::Id)
            .all(conn)
            .await
            .unwrap()
            .into_iter()
            .map(|u| (u.id, u.role, u.full_name, u.password_hash, u.disabled, u.agency_id, u.locale))
            .collect();
        users.sort();
        let appeals = appeal::Entity::find()
            .order_by_asc(appeal::Column::Id)
            .all(conn)
            .await
            .unwrap()
            .into_iter()
            .map(|a| (a.id, a.status, a.version, a.agency_id, a.assignee_id))
            .collect();
        Snapshot {
            users,
            appeals,
            agencies: agency::Entity::find().count(conn).await.unwrap(),
            events: appeal_event::Entity::find().count(conn).await.unwrap(),
            attachments: attachment::Entity::find().count(conn).await.unwrap(),
            categories: category::Entity::find().count(conn).await.unwrap(),
            territories: territory::Entity::find().count(conn).await.unwrap(),
            rulesets: ruleset::Entity::find().count(conn).await.unwrap(),
            calendar_entries: calendar_entry::Entity::find().count(conn).await.unwrap(),
            outbox: outbox_message::Entity::find().count(conn).await.unwrap(),
            sessions: refresh_token::Entity::find().count(conn).await.unwrap(),
        }
    }
}

/// The stored state an attack must leave alone.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    #[allow(clippy::type_complexity)]
    users: Vec<(uuid::Uuid, String, String, String, bool, Option<uuid::Uuid>, String)>,
    appeals: Vec<(uuid::Uuid, String, i32, uuid::Uuid, Option<uuid::Uuid>)>,
    agencies: u64,
    events: u64,
    attachments: u64,
    categories: u64,
    territories: u64,
    rulesets: u64,
    calendar_entries: u64,
    outbox: u64,
    sessions: u64,
}
