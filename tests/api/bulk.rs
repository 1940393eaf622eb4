//! Many rows at once (`store::bulk`): one JSON parameter on PostgreSQL, a multi-row INSERT on
//! SQLite; either way the rows read back exactly as written, and repeated keys are skipped
//! or refused as asked.

use chrono::{Duration, SubsecRound};
use murojiat::store::outbox::{self, NewMessage};
use serde_json::json;
use uuid::Uuid;

use crate::support::appeals::{complaint, spawn_appeals_app};

#[tokio::test]
async fn rows_written_at_once_read_back_as_written_and_repeats_are_skipped() {
    let app = spawn_appeals_app().await;
    let citizen = app.citizen().await;
    let appeal_id: Uuid = app.files(&citizen, &complaint()).await.id.parse().unwrap();
    let conn = app.db.conn();
    let now = app.clock_now().trunc_subsecs(6) + Duration::microseconds(123_457);

    let message = |n: usize| NewMessage {
        id: Uuid::now_v7(),
        dedupe_key: format!("bulk:{n}"),
        recipient_email: format!("citizen{n}@example.tj"),
        recipient_name: "Фарҳод \"Саидов\" \\ O'Neil".to_owned(),
        locale: "tg".to_owned(),
        time_zone: "Asia/Dushanbe".to_owned(),
        template: "filed".to_owned(),
        data: json!({"n": n, "nested": {"list": [1, "два", null], "flag": true}, "text": "ш. Душанбе"}),
        essential: n.is_multiple_of(2),
        appeal_id: (n != 1).then_some(appeal_id),
        message_id: format!("<{n}@murojiat.test>"),
        now,
    };
    let first: Vec<NewMessage> = (0..3).map(message).collect();
    assert_eq!(outbox::enqueue_many(conn, first.clone()).await.unwrap(), 3);
    for sent in &first {
        let stored = outbox::by_id(conn, sent.id).await.unwrap().expect("written");
        assert_eq!(stored.dedupe_key, sent.dedupe_key);
        assert_eq!(stored.recipient_name, sent.recipient_name, "quotes and backslashes intact");
        let data: serde_json::Value = serde_json::from_str(&stored.data).unwrap();
        assert_eq!(data, sent.data, "JSON intact");
        assert_eq!(stored.essential, sent.essential);
        assert_eq!(stored.appeal_id, sent.appeal_id, "NULL stays NULL");
        assert_eq!(stored.created_at, now, "to the microsecond");
    }
    // The same dedupe keys again, with one new: only the new one is written.
    let again: Vec<NewMessage> = (1..5).map(message).collect();
    assert_eq!(outbox::enqueue_many(conn, again).await.unwrap(), 2);
    assert_eq!(outbox::enqueue_many(conn, Vec::new()).await.unwrap(), 0);
}
