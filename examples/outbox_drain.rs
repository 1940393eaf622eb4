//! How fast the outbox drains to a local SMTP server, for docs/benchmarks.md:
//! `cargo run --release --example outbox_drain -- [MESSAGES] [URL]`.
//!
//! URL names an empty database (default: a temporary SQLite file); MESSAGES (default 10,000)
//! "appeal received" emails to distinct recipients are written to the outbox, then drained
//! with `deliver_due` through the real SMTP transport to the test suite's SMTP sink on
//! 127.0.0.1. The baseline, in the same run, sends the same number of ready-built messages
//! through the same transport, as many at once as the outbox sends, without the outbox (no
//! database, no rendering), so the ratio is what the outbox's bookkeeping costs.

#[path = "../tests/api/support/smtp_sink.rs"]
#[allow(dead_code)]
mod smtp_sink;

use std::sync::Arc;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use figment::providers::Serialized;
use futures::StreamExt;
use murojiat::app::App;
use murojiat::auth::keys::KeyRing;
use murojiat::clock::ManualClock;
use murojiat::config::{ExtractSettings, Settings};
use murojiat::domain::locale::Locale;
use murojiat::notify::{Correspondent, Mailer, MessageKind, Security, SmtpMailer, SmtpSettings, build_email};
use murojiat::services::delivery;
use murojiat::store::Db;
use murojiat::store::outbox::{self, NewMessage};
use serde_json::json;
use uuid::Uuid;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let temp = tempfile::tempdir()?;
    let messages: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(10_000);
    let url = args
        .next()
        .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", temp.path().join("drain.db").display()));
    let sink = smtp_sink::SmtpSink::start().await;

    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut settings = Settings::figment(&config, "development")?
        .merge(Serialized::default("database.url", &url))
        .merge(Serialized::default("logging.filter", "warn"))
        .merge(Serialized::default("mail.transport", "smtp"))
        .merge(Serialized::default("mail.smtp.host", "127.0.0.1"))
        .merge(Serialized::default("mail.smtp.port", sink.port()))
        .merge(Serialized::default("mail.smtp.security", "none"))
        .merge(Serialized::default("mail.outbox.deliver", false))
        .merge(Serialized::default("mail.outbox.batch_size", 200))
        .extract_checked()?;
    settings.config_dir = config;
    let db = Db::connect(&settings.database).await?;
    db.migrate_up().await?;
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 5, 0, 0).single().expect("an instant");
    let app = App::assemble(settings, db.clone(), Arc::new(ManualClock::at(now)), KeyRing::generate())?;

    let data = |n: usize| {
        json!({
            "name": format!("Шаҳрванд {n}"),
            "tracking_number": "GA5G-F7C9-VAN",
            "registration_number": format!("dushanbe-vodokanal-2026-{n:06}"),
            "agency": "Корхонаи воҳиди давлатии «Обу корези Душанбе»",
            "due_date": "2026-06-16T18:59:59Z",
            "status_url": "https://murojiat.tj/track/GA5GF7C9VAN",
        })
    };

    // Baseline: the same number of messages, built once, sent through the same transport.
    let mailer = SmtpMailer::new(&SmtpSettings {
        host: "127.0.0.1".into(),
        port: sink.port(),
        security: Security::None,
        ..SmtpSettings::default()
    })?;
    let rendered = app.postman.templates().render(
        MessageKind::AppealReceived,
        Locale::Tg,
        &data(0),
        chrono_tz::Asia::Dushanbe,
    )?;
    let built: Vec<_> = (0..messages)
        .map(|n| {
            let to = format!("citizen{n}@example.tj");
            build_email(
                Correspondent { name: "Murojiat", address: "no-reply@murojiat.tj" },
                Correspondent { name: "Шаҳрванд", address: &to },
                &rendered,
                Uuid::now_v7(),
                now,
                "murojiat.tj",
            )
        })
        .collect::<Result<_, _>>()?;
    let concurrency = app.settings.mail.outbox.concurrency;
    let started = Instant::now();
    let sent: Vec<_> = futures::stream::iter(&built)
        .map(|message| mailer.send(message))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    sent.into_iter().collect::<Result<Vec<()>, _>>()?;
    let baseline = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let txn = db.write().await?;
    for n in 0..messages {
        let id = Uuid::now_v7();
        outbox::enqueue(
            &txn,
            NewMessage {
                id,
                dedupe_key: format!("bench:{n}"),
                recipient_email: format!("citizen{n}@example.tj"),
                recipient_name: format!("Шаҳрванд {n}"),
                locale: "tg".into(),
                time_zone: "Asia/Dushanbe".into(),
                template: MessageKind::AppealReceived.as_str().into(),
                data: data(n),
                essential: true,
                appeal_id: None,
                message_id: format!("<{id}@murojiat.tj>"),
                now,
            },
        )
        .await?;
    }
    txn.commit().await?;
    let filled = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let report = delivery::deliver_due(&app).await?;
    let drained = started.elapsed().as_secs_f64();
    anyhow::ensure!(report.sent == messages, "sent {} of {messages}", report.sent);
    anyhow::ensure!(sink.messages().len() == 2 * messages, "the sink holds every message");

    let backend = if url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" };
    println!("outbox drain, {messages} messages, {backend}, SMTP sink on 127.0.0.1");
    println!("| what | seconds | messages/s | vs baseline |");
    println!("|---|---:|---:|---:|");
    println!(
        "| baseline: send ready-built messages, {concurrency} at once | {baseline:.2} | {:.0} | 1.00 |",
        messages as f64 / baseline
    );
    println!(
        "| outbox: claim, render, send, record | {drained:.2} | {:.0} | {:.2} |",
        messages as f64 / drained,
        baseline / drained
    );
    println!("(writing the {messages} rows took {filled:.2} s)");
    Ok(())
}
