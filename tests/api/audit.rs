//! `murojiat audit verify`: every appeal's timeline is an unbroken hash chain, and a row
//! changed behind the application's back is named.

use murojiat::services::audit::{self, AuditReport};
use murojiat::store::entity::appeal_event;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{TestApp, spawn_app};

/// A server with the demo territories and categories and the reception agency, and `n`
/// appeals filed by one citizen, each with one action more than the last; returns their ids
/// and tracking numbers.
async fn app_with_appeals(n: usize) -> (TestApp, Vec<(Uuid, String)>) {
    let app = spawn_app().await;
    murojiat::demo::seed_reference(&app.app, &app.app.settings.config_dir).await.unwrap();
    app.ensure_agency("president-office").await;
    let citizen = app.citizen().await;
    let mut filed = Vec::new();
    for i in 0..n {
        let body = json!({
            "kind": "complaint",
            "subject": format!("Оби нӯшокӣ нест №{i}"),
            "text": "Се рӯз аст, ки дар маҳаллаи мо об нест.",
            "category": "water-supply",
            "region": "tj-dushanbe",
            "district": "tj-dushanbe-sino",
            "language": "tg",
        });
        let response = app.post_json("/api/v1/appeals", &body, citizen.token()).await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        let appeal: Value = response.json().await.unwrap();
        let id: Uuid = appeal["id"].as_str().unwrap().parse().unwrap();
        filed.push((id, appeal["tracking_number"].as_str().unwrap().to_owned()));
    }
    (app, filed)
}

async fn tamper(app: &TestApp, appeal: Uuid, seq: i32) {
    let changed = appeal_event::Entity::update_many()
        .col_expr(appeal_event::Column::Data, Expr::value(r#"{"agency":"somewhere-else"}"#))
        .filter(appeal_event::Column::AppealId.eq(appeal))
        .filter(appeal_event::Column::Seq.eq(seq))
        .exec(app.db.conn())
        .await
        .unwrap();
    assert_eq!(changed.rows_affected, 1);
}

#[tokio::test]
async fn a_clean_database_verifies_and_a_tampered_event_names_its_appeal() {
    let (app, filed) = app_with_appeals(3).await;
    assert_eq!(audit::verify(&app.app).await.unwrap(), AuditReport::Intact { appeals: 3, events: 3 });

    let (victim, tracking) = &filed[1];
    tamper(&app, *victim, 1).await;
    let AuditReport::Broken(link) = audit::verify(&app.app).await.unwrap() else {
        panic!("a changed event must break the chain");
    };
    assert_eq!(link.appeal_id, *victim);
    assert_eq!(link.tracking_number.as_deref(), Some(tracking.as_str()));
    assert_eq!(link.seq, 1);
}

#[tokio::test]
async fn an_appeal_whose_events_were_deleted_is_named() {
    let (app, filed) = app_with_appeals(2).await;
    let (victim, _) = filed[0];
    appeal_event::Entity::delete_many()
        .filter(appeal_event::Column::AppealId.eq(victim))
        .exec(app.db.conn())
        .await
        .unwrap();
    let AuditReport::Broken(link) = audit::verify(&app.app).await.unwrap() else {
        panic!("an appeal without a timeline must be reported");
    };
    assert_eq!((link.appeal_id, link.seq), (victim, 0));
}

#[tokio::test]
async fn the_command_prints_ok_or_the_broken_link_and_sets_its_exit_status() {
    let (app, filed) = app_with_appeals(2).await;
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_murojiat"))
            .args(["audit", "verify"])
            .env("MUROJIAT_CONFIG", &app.app.settings.config_dir)
            .env("MUROJIAT_ENV", "test")
            .env("MUROJIAT_DATABASE__URL", &app.app.settings.database.url)
            .env("MUROJIAT_DATABASE__MAX_CONNECTIONS", "2")
            .output()
            .expect("the binary runs")
    };
    let clean = run();
    let stdout = String::from_utf8_lossy(&clean.stdout);
    assert!(clean.status.success(), "{stdout}{}", String::from_utf8_lossy(&clean.stderr));
    assert_eq!(stdout.trim(), "ok: 2 appeals, 2 events");

    let (victim, tracking) = &filed[0];
    tamper(&app, *victim, 1).await;
    let broken = run();
    let stdout = String::from_utf8_lossy(&broken.stdout);
    assert_eq!(broken.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains(&victim.to_string()) && stdout.contains(tracking.as_str()), "{stdout}");
    assert!(stdout.contains("event 1"), "{stdout}");
}

/// `murojiat audit verify | head -0`: the reader is gone before the command prints. The
/// command ends by SIGPIPE, quietly, like other Unix tools, not with a panic message.
#[cfg(unix)]
#[tokio::test]
async fn a_command_whose_reader_has_gone_ends_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let (app, _) = app_with_appeals(1).await;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_murojiat"))
        .args(["audit", "verify"])
        .env("MUROJIAT_CONFIG", &app.app.settings.config_dir)
        .env("MUROJIAT_ENV", "test")
        .env("MUROJIAT_DATABASE__URL", &app.app.settings.database.url)
        .env("MUROJIAT_DATABASE__MAX_CONNECTIONS", "2")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    drop(child.stdout.take()); // the reader closes its end at once
    let ended = child.wait_with_output().expect("the command ends");
    let stderr = String::from_utf8_lossy(&ended.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    const SIGPIPE: i32 = 13;
    assert_eq!(ended.status.signal(), Some(SIGPIPE), "{:?} {stderr}", ended.status);
}
