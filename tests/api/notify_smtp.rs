//! Mail leaves through real SMTP over TCP and arrives readable, once per Message-ID.

use std::path::Path;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use murojiat::domain::locale::Locale;
use murojiat::notify::{
    Correspondent, Mailer, MessageKind, Security, SendError, SmtpMailer, SmtpSettings, Templates, build_email,
};
use serde_json::json;
use uuid::Uuid;

use crate::support::smtp_sink::SmtpSink;

const DUSHANBE: chrono_tz::Tz = chrono_tz::Asia::Dushanbe;

fn mailer_for(sink: &SmtpSink) -> SmtpMailer {
    SmtpMailer::new(&SmtpSettings {
        host: "127.0.0.1".into(),
        port: sink.port(),
        security: Security::None,
        timeout_secs: 5,
        ..SmtpSettings::default()
    })
    .expect("valid SMTP settings")
}

fn templates() -> Templates {
    Templates::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/templates"))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The "appeal received" email for outbox row `outbox_id`, to a citizen in `locale`.
fn appeal_received(outbox_id: Uuid, locale: Locale) -> lettre::Message {
    let rendered = templates()
        .render(
            MessageKind::AppealReceived,
            locale,
            &json!({
                "name": "Фотима Раҳимова",
                "tracking_number": "MRJ-2026-000123",
                "agency": "Ҳукумати ноҳияи Рӯдакӣ",
                "registration_number": "РД-15/412",
                "due_date": "2026-04-16",
                "status_url": "https://murojiat.tj/track",
            }),
            DUSHANBE,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    build_email(
        Correspondent { name: "Муроҷиат", address: "no-reply@murojiat.tj" },
        Correspondent { name: "Фотима Раҳимова", address: "fotima@example.tj" },
        &rendered,
        outbox_id,
        Utc.with_ymd_and_hms(2026, 3, 17, 13, 0, 0).single().expect("valid instant"),
        "murojiat.tj",
    )
    .expect("message builds")
}

#[tokio::test]
async fn a_tajik_email_arrives_readable_with_its_message_id() {
    let sink = SmtpSink::start().await;
    let outbox_id = Uuid::now_v7();

    mailer_for(&sink).send(&appeal_received(outbox_id, Locale::Tg)).await.expect("sink accepts the message");

    let received = sink.messages();
    assert_eq!(received.len(), 1);
    let mail = &received[0];
    assert_eq!(mail.mail_from, "no-reply@murojiat.tj");
    assert_eq!(mail.rcpt_to, ["fotima@example.tj"]);
    assert_eq!(mail.message_id(), Some(format!("<{outbox_id}@murojiat.tj>")));
    assert_eq!(mail.subject().as_deref(), Some("Муроҷиати шумо қабул шуд — MRJ-2026-000123"));
    assert_eq!(mail.header("Auto-Submitted").as_deref(), Some("auto-generated"));
    let text = mail.part("text/plain").expect("a text part");
    assert!(text.contains("Муроҷиати шумо қабул ва ба қайд гирифта шуд."), "{text}");
    assert!(text.contains("Мӯҳлати баррасӣ: то 16.04.2026"), "{text}");
    let html = mail.part("text/html").expect("an HTML part");
    assert!(html.contains("<html lang=\"tg\">"), "{html}");
}

#[tokio::test]
async fn the_recipient_language_decides_the_body() {
    let sink = SmtpSink::start().await;
    let mailer = mailer_for(&sink);
    for locale in [Locale::Ru, Locale::En] {
        mailer.send(&appeal_received(Uuid::now_v7(), locale)).await.expect("accepted");
    }
    let texts: Vec<_> = sink.messages().iter().filter_map(|m| m.part("text/plain")).collect();
    assert!(texts[0].contains("Ваше обращение принято и зарегистрировано."), "{}", texts[0]);
    assert!(texts[1].contains("Your appeal has been received and registered."), "{}", texts[1]);
    assert!(texts[1].contains("16 April 2026"), "{}", texts[1]);
}

#[tokio::test]
async fn an_outage_is_transient_and_every_message_arrives_once_afterwards() {
    let mut sink = SmtpSink::start().await;
    let mailer = mailer_for(&sink);
    let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();

    mailer.send(&appeal_received(ids[0], Locale::Tg)).await.expect("sent before outage");
    sink.stop().await;
    for id in &ids[1..] {
        let failure = mailer.send(&appeal_received(*id, Locale::Tg)).await;
        assert!(
            matches!(failure, Err(SendError::Transient(_))),
            "a stopped server is worth retrying: {failure:?}"
        );
    }

    sink.restart().await;
    for id in &ids[1..] {
        tokio::time::timeout(Duration::from_secs(10), mailer.send(&appeal_received(*id, Locale::Tg)))
            .await
            .expect("no hang")
            .expect("sent after the outage");
    }

    let counts = sink.count_by_message_id();
    assert_eq!(counts.len(), 3, "{counts:?}");
    for id in &ids {
        assert_eq!(counts.get(&format!("<{id}@murojiat.tj>")), Some(&1), "{counts:?}");
    }
}

#[tokio::test]
async fn a_resend_after_a_crash_carries_the_same_message_id() {
    let sink = SmtpSink::start().await;
    let mailer = mailer_for(&sink);
    let outbox_id = Uuid::now_v7();
    // Delivered, then the process died before the row was marked sent: the job runs again.
    mailer.send(&appeal_received(outbox_id, Locale::Tg)).await.expect("first attempt");
    mailer.send(&appeal_received(outbox_id, Locale::Tg)).await.expect("second attempt");

    let counts = sink.count_by_message_id();
    assert_eq!(counts.len(), 1, "both copies carry one id, so receivers can drop one");
    assert_eq!(counts.get(&format!("<{outbox_id}@murojiat.tj>")), Some(&2));
}

#[tokio::test]
async fn refusals_are_sorted_into_permanent_and_transient() {
    let sink = SmtpSink::start().await;
    let mailer = mailer_for(&sink);

    sink.reply_to_rcpt(Some("550 5.1.1 no such mailbox"));
    let refused = mailer.send(&appeal_received(Uuid::now_v7(), Locale::En)).await;
    assert!(matches!(refused, Err(SendError::Permanent(_))), "{refused:?}");

    sink.reply_to_rcpt(Some("451 4.3.0 try again later"));
    let deferred = mailer.send(&appeal_received(Uuid::now_v7(), Locale::En)).await;
    assert!(matches!(deferred, Err(SendError::Transient(_))), "{deferred:?}");

    assert!(sink.messages().is_empty());
}
