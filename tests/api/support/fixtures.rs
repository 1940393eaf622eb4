//! Builders for the things tests need to exist, so a test names only what matters to it:
//! `agency("health-ministry").under("government")`.

use murojiat::store::agencies::{self, NewAgency};
use serde_json::{Value, json};

use super::TestApp;

/// An agency with plausible names in all three languages, derived from its code.
#[derive(Debug, Clone)]
pub struct AgencyBuilder {
    pub code: String,
    pub kind: String,
    pub parent: Option<String>,
    pub email: Option<String>,
}

pub fn agency(code: &str) -> AgencyBuilder {
    AgencyBuilder { code: code.to_owned(), kind: "ministry".to_owned(), parent: None, email: None }
}

impl AgencyBuilder {
    /// Places the agency under the one with this code.
    pub fn under(mut self, parent: &str) -> Self {
        self.parent = Some(parent.to_owned());
        self
    }

    pub fn kind(mut self, kind: &str) -> Self {
        self.kind = kind.to_owned();
        self
    }

    pub fn email(mut self, email: &str) -> Self {
        self.email = Some(email.to_owned());
        self
    }

    /// The body of `POST /api/v1/admin/agencies`.
    pub fn json(&self) -> Value {
        let mut body = json!({
            "code": self.code,
            "kind": self.kind,
            "name_tg": format!("Вазорати {}", self.code),
            "name_ru": format!("Министерство {}", self.code),
            "name_en": format!("Ministry of {}", self.code),
        });
        if let Some(parent) = &self.parent {
            body["parent"] = json!(parent);
        }
        if let Some(email) = &self.email {
            body["email"] = json!(email);
        }
        body
    }

    /// Inserts the agency straight into the store, for tests about something else.
    pub async fn insert(self, app: &TestApp) -> agencies::Agency {
        let conn = app.db.conn();
        let parent_id = match &self.parent {
            Some(code) => Some(agencies::by_code(conn, code).await.unwrap().expect("the parent exists").id),
            None => None,
        };
        let agency = agencies::insert(
            conn,
            NewAgency {
                id: uuid::Uuid::now_v7(),
                name_tg: format!("Вазорати {}", self.code),
                name_ru: format!("Министерство {}", self.code),
                name_en: format!("Ministry of {}", self.code),
                code: self.code,
                kind: self.kind,
                parent_id,
                email: self.email,
                time_zone: "Asia/Dushanbe".into(),
                now: app.clock_now(),
            },
        )
        .await
        .expect("the agency is inserted");
        // The server's cached hierarchy would not show it yet, as the admin API's change would.
        app.app.directory.invalidate();
        agency
    }
}
