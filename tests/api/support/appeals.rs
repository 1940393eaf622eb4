//! What appeal tests need: reference data and agencies inserted through the store (not the
//! admin API, which tests of its own cover), a valid filing body to vary, the lifecycle
//! actions as one call, and counts of what is stored.

use murojiat::store::entity::{appeal, appeal_event, attachment, idempotency_key};
use murojiat::store::reference::{self, Category, Territory};
use reqwest::{Method, Response};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Session, TestApp, fixtures, spawn_app};

/// The general reception every appeal is routed to (settings.appeals.reception_agency).
pub const RECEPTION: &str = "president-office";
/// The parent of the reception: its supervisors see the reception's appeals.
pub const GOVERNMENT: &str = "government";
/// An agency that has nothing to do with the appeals the tests file.
pub const OTHER_AGENCY: &str = "health-ministry";

/// A running app with the reference data and agencies appeals need:
/// `government` → {`president-office`, `health-ministry`}.
pub async fn spawn_appeals_app() -> TestApp {
    let app = spawn_app().await;
    app.seed_appeal_world().await;
    app
}

/// Like [`spawn_appeals_app`], with extra settings merged over config/test.toml.
pub async fn spawn_appeals_app_with(configure: impl FnOnce(figment::Figment) -> figment::Figment) -> TestApp {
    let app = super::spawn_app_with(configure).await;
    app.seed_appeal_world().await;
    app
}

/// A valid citizen filing body: a water-supply complaint from Dushanbe's Sino district.
/// Tests change the one field they are about.
pub fn complaint() -> Value {
    json!({
        "kind": "complaint",
        "subject": "Дар маҳаллаи мо се рӯз об нест",
        "text": "Ассалому алейкум. Аз рӯзи душанбе дар кӯчаи Сино об нест. Илтимос, чора бинед.",
        "category": "water-supply",
        "region": "dushanbe",
        "district": "dushanbe-sino",
        "language": "tg",
    })
}

/// A valid guest filing body: [`complaint`] with the contact details a guest must give.
pub fn guest_complaint() -> Value {
    let mut body = complaint();
    body["name"] = json!("Фарҳод Саидов");
    body["email"] = json!("farhod.saidov@example.tj");
    body["postal_address"] = json!("ш. Душанбе, кӯчаи Сино 12, хонаи 4");
    body
}

/// A filed appeal, as its filer saw it.
#[derive(Debug, Clone)]
pub struct Filed {
    pub id: String,
    pub tracking_number: String,
    /// Set for guests only.
    pub access_code: Option<String>,
}

impl Filed {
    pub fn url(&self) -> String {
        format!("/api/v1/appeals/{}", self.id)
    }

    pub fn public_url(&self) -> String {
        format!("/api/v1/public/appeals/{}", self.tracking_number)
    }
}

impl TestApp {
    async fn seed_appeal_world(&self) {
        let conn = self.db.conn();
        for (code, parent, active) in
            [("water-supply", None, true), ("electricity", None, true), ("retired-topic", None, false)]
        {
            reference::insert_category(
                conn,
                Category {
                    code: code.into(),
                    parent_code: parent,
                    name_tg: format!("Категорияи {code}"),
                    name_ru: format!("Категория {code}"),
                    name_en: format!("Category {code}"),
                    active,
                },
            )
            .await
            .expect("the category is inserted");
        }
        for (code, parent) in [
            ("dushanbe", None),
            ("sughd", None),
            ("dushanbe-sino", Some("dushanbe")),
            ("sughd-khujand", Some("sughd")),
        ] {
            reference::insert_territory(
                conn,
                Territory {
                    code: code.into(),
                    parent_code: parent.map(str::to_owned),
                    name_tg: format!("Ҳудуди {code}"),
                    name_ru: format!("Территория {code}"),
                    name_en: format!("Territory {code}"),
                    active: true,
                    kind: if parent.is_some() { "district" } else { "region" }.into(),
                },
            )
            .await
            .expect("the territory is inserted");
        }
        fixtures::agency(GOVERNMENT).kind("government").insert(self).await;
        fixtures::agency(RECEPTION).kind("reception").under(GOVERNMENT).insert(self).await;
        fixtures::agency(OTHER_AGENCY).under(GOVERNMENT).insert(self).await;
    }

    /// Files `body` as a signed-in citizen; panics unless it is a 201.
    pub async fn files(&self, citizen: &Session, body: &Value) -> Filed {
        let response = self.post_json("/api/v1/appeals", body, citizen.token()).await;
        assert_eq!(response.status(), 201, "filing failed: {}", response.text().await.unwrap());
        let body: Value = response.json().await.unwrap();
        Filed {
            id: body["id"].as_str().unwrap().to_owned(),
            tracking_number: body["tracking_number"].as_str().unwrap().to_owned(),
            access_code: None,
        }
    }

    /// Files `body` as a guest; panics unless it is a 201.
    pub async fn files_as_guest(&self, body: &Value) -> Filed {
        let response = self.post_json("/api/v1/public/appeals", body, None).await;
        assert_eq!(response.status(), 201, "guest filing failed: {}", response.text().await.unwrap());
        let body: Value = response.json().await.unwrap();
        Filed {
            id: body["appeal"]["id"].as_str().unwrap().to_owned(),
            tracking_number: body["appeal"]["tracking_number"].as_str().unwrap().to_owned(),
            access_code: Some(body["access_code"].as_str().expect("a guest gets an access code").to_owned()),
        }
    }

    /// `POST {appeal}/actions/{action}` with `body` and `If-Match: "{version}"`.
    pub async fn act(
        &self,
        who: &Session,
        appeal_id: &str,
        action: &str,
        version: i64,
        body: &Value,
    ) -> Response {
        self.request(Method::POST, &format!("/api/v1/appeals/{appeal_id}/actions/{action}"), who.token())
            .header("If-Match", format!("\"{version}\""))
            .json(body)
            .send()
            .await
            .expect("the server answers")
    }

    /// Like [`TestApp::act`], and panics unless the action succeeds; returns the appeal.
    pub async fn acts(
        &self,
        who: &Session,
        appeal_id: &str,
        action: &str,
        version: i64,
        body: &Value,
    ) -> Value {
        let response = self.act(who, appeal_id, action, version, body).await;
        assert_eq!(response.status(), 200, "{action} failed: {}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    /// A guest request with the access code header (when given).
    pub async fn guest_get(&self, path: &str, access_code: Option<&str>) -> Response {
        let mut request = self.request(Method::GET, path, None);
        if let Some(code) = access_code {
            request = request.header("X-Access-Code", code);
        }
        request.send().await.expect("the server answers")
    }

    /// The timeline as `who` sees it; panics unless it is a 200.
    pub async fn timeline_of(&self, who: &Session, appeal_id: &str) -> Vec<Value> {
        let response = self.get(&format!("/api/v1/appeals/{appeal_id}/timeline"), who.token()).await;
        assert_eq!(response.status(), 200, "timeline: {}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    pub async fn count_appeals(&self) -> u64 {
        appeal::Entity::find().count(self.db.conn()).await.unwrap()
    }

    pub async fn count_events(&self) -> u64 {
        appeal_event::Entity::find().count(self.db.conn()).await.unwrap()
    }

    pub async fn count_idempotency_keys(&self) -> u64 {
        idempotency_key::Entity::find().count(self.db.conn()).await.unwrap()
    }

    /// Events of one appeal with this action, straight from the table.
    pub async fn count_events_of(&self, appeal_id: &str, action: &str) -> u64 {
        let id: Uuid = appeal_id.parse().unwrap();
        appeal_event::Entity::find()
            .filter(appeal_event::Column::AppealId.eq(id))
            .filter(appeal_event::Column::Action.eq(action))
            .count(self.db.conn())
            .await
            .unwrap()
    }

    pub async fn count_attachments(&self) -> u64 {
        attachment::Entity::find().count(self.db.conn()).await.unwrap()
    }

    /// Files under the attachments folder (temporary ones included).
    pub fn count_attachment_files(&self) -> usize {
        fn walk(dir: &std::path::Path) -> usize {
            let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
            entries.flatten().map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 }).sum()
        }
        walk(&self.app.settings.appeals.attachments_dir)
    }

    /// Uploads `bytes` as an attachment named `file_name`.
    pub async fn upload(&self, who: &Session, appeal_id: &str, file_name: &str, bytes: Vec<u8>) -> Response {
        let name: String = url::form_urlencoded::byte_serialize(file_name.as_bytes()).collect();
        self.request(
            Method::POST,
            &format!("/api/v1/appeals/{appeal_id}/attachments?file_name={name}"),
            who.token(),
        )
        .header("Content-Type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .expect("the server answers")
    }
}

/// A small PDF: the signature is what the server checks.
pub fn pdf(marker: &str) -> Vec<u8> {
    format!("%PDF-1.7\n% {marker}\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n").into_bytes()
}
