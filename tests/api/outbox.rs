//! The outbox: emails are written with the change that causes them and delivered over real
//! SMTP (a sink this test starts) by the delivery pass, which the tests run themselves.

use chrono::TimeDelta;
use murojiat::clock::Clock;
use murojiat::domain::locale::Locale;
use murojiat::notify::MessageKind;
use murojiat::services::delivery::{self, DeliveryReport};
use murojiat::services::notices::{self, Recipient};
use murojiat::store::entity::outbox_message;
use murojiat::store::entity::{category, territory};
use murojiat::store::{outbox, reference};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::support::plans::plan_of_query;
use crate::support::smtp_sink::SmtpSink;
use crate::support::{ANONYMOUS, Session, TestApp, spawn_app, spawn_app_with};

/// A server whose mail goes over SMTP to `sink`, with the reference data filing needs.
async fn app_mailing_to(sink: &SmtpSink) -> TestApp {
    let port = sink.port();
    let app = spawn_app_with(|figment| {
        figment.merge(figment::providers::Serialized::default(
            "mail",
            json!({
                "transport": "smtp",
                "message_id_domain": "murojiat.test",
                "smtp": { "host": "127.0.0.1", "port": port, "security": "none", "timeout_secs": 5 },
                "outbox": { "deliver": false, "hourly_cap_per_recipient": 3 },
            }),
        ))
    })
    .await;
    let reception = app.app.settings.appeals.reception_agency.clone();
    app.ensure_agency(&reception).await;
    let conn = app.db.conn();
    reference::insert_category(
        conn,
        category::Model {
            code: "water".into(),
            parent_code: None,
            name_tg: "Таъминоти об".into(),
            name_ru: "Водоснабжение".into(),
            name_en: "Water supply".into(),
            active: true,
        },
    )
    .await
    .unwrap();
    reference::insert_territory(
        conn,
        territory::Model {
            code: "dushanbe".into(),
            parent_code: None,
            name_tg: "Душанбе".into(),
            name_ru: "Душанбе".into(),
            name_en: "Dushanbe".into(),
            active: true,
            kind: "city".into(),
        },
    )
    .await
    .unwrap();
    app
}

/// A confirmed citizen whose confirmation email has already gone out and been forgotten by
/// the sink, so each test sees only the mail it causes.
async fn citizen(app: &TestApp, sink: &SmtpSink) -> Session {
    let citizen = app.citizen().await;
    assert_eq!(deliver(app).await.sent, 1, "the confirmation link");
    sink.forget_messages();
    outbox_message::Entity::delete_many().exec(app.db.conn()).await.unwrap();
    citizen
}

fn appeal_body(subject: &str) -> Value {
    json!({
        "kind": "complaint",
        "subject": subject,
        "text": "Дар маҳаллаи мо се рӯз боз об нест.",
        "category": "water",
        "region": "dushanbe",
        "language": "tg",
    })
}

async fn file(app: &TestApp, citizen: &Session, subject: &str) -> Value {
    let response = app.post_json("/api/v1/appeals", &appeal_body(subject), citizen.token()).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

async fn deliver(app: &TestApp) -> DeliveryReport {
    delivery::deliver_due(&app.app).await.expect("the delivery pass runs")
}

async fn outbox_rows(app: &TestApp) -> Vec<outbox_message::Model> {
    outbox_message::Entity::find()
        .order_by_asc(outbox_message::Column::CreatedAt)
        .all(app.db.conn())
        .await
        .unwrap()
}

#[tokio::test]
async fn filing_sends_the_receipt_over_smtp_in_the_citizens_language() {
    let sink = SmtpSink::start().await;
    let app = app_mailing_to(&sink).await;
    let citizen = citizen(&app, &sink).await;
    let response = app.patch_json("/api/v1/me", &json!({"locale": "ru"}), citizen.token()).await;
    assert_eq!(response.status(), 200);

    let appeal = file(&app, &citizen, "Нет воды третий день").await;
    let tracking = appeal["tracking_number"].as_str().unwrap();
    // Written with the appeal, sent only by the delivery pass.
    assert_eq!(outbox_rows(&app).await.len(), 1);
    assert!(sink.messages().is_empty());

    let report = deliver(&app).await;
    assert_eq!((report.claimed, report.sent), (1, 1));
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    let mail = &messages[0];
    assert_eq!(mail.rcpt_to, vec![citizen.email.clone()]);
    let subject = mail.subject().unwrap();
    assert!(subject.contains("Ваше обращение") && subject.contains(tracking), "{subject}");
    let text = mail.part("text/plain").unwrap();
    assert!(text.contains("Нигора Раҳимова") && text.contains(tracking), "{text}");
    let row = &outbox_rows(&app).await[0];
    assert_eq!(mail.message_id().unwrap(), format!("<{}@murojiat.test>", row.id));
    assert_eq!(mail.header("Auto-Submitted").as_deref(), Some("auto-generated"));
    assert_eq!(row.status, "sent");
    assert_eq!(row.sent_at, Some(app.clock_now()));

    // Nothing is due any more: a second pass sends nothing.
    assert_eq!(deliver(&app).await, DeliveryReport::default());
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn a_guest_gets_the_receipt_and_the_access_code_which_is_erased_once_sent() {
    let sink = SmtpSink::start().await;
    let app = app_mailing_to(&sink).await;
    let mut body = appeal_body("Об нест");
    body["name"] = json!("Фарҳод Саидов");
    body["email"] = json!("farhod@example.tj");
    body["postal_address"] = json!("Душанбе, кӯчаи Рӯдакӣ 10");
    let response = app.post_json("/api/v1/public/appeals", &body, ANONYMOUS).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let filed: Value = response.json().await.unwrap();
    let code = filed["access_code"].as_str().expect("the guest's code").to_owned();

    assert_eq!(deliver(&app).await.sent, 2);
    let messages = sink.messages();
    let with_code: Vec<_> =
        messages.iter().filter(|m| m.part("text/plain").unwrap().contains(&code)).collect();
    assert_eq!(with_code.len(), 1, "the code goes out once");
    assert!(messages.iter().all(|m| m.rcpt_to == vec!["farhod@example.tj".to_owned()]));
    // In Tajik, the appeal's language.
    assert!(with_code[0].subject().unwrap().contains("Рамзи дастрасӣ"), "{:?}", with_code[0].subject());
    let stored: Vec<String> = outbox_rows(&app).await.into_iter().map(|row| row.data).collect();
    assert!(stored.iter().all(|data| !data.contains(&code)), "the code is not kept after sending");
    // Both were recorded sent together; only the code's data was erased, the receipt's kept.
    assert_eq!(stored.iter().filter(|data| *data == "{}").count(), 1, "{stored:?}");
    assert!(
        stored.iter().any(|data| data.contains(filed["appeal"]["tracking_number"].as_str().unwrap())),
        "{stored:?}"
    );
}

/// A guest has no account: every link mailed to them opens the tracking page, where the
/// access code lets them read, answer and contest; never the signed-in appeal page.
#[tokio::test]
async fn a_guest_is_sent_links_to_the_tracking_page_which_needs_no_account() {
    let sink = SmtpSink::start().await;
    let app = app_mailing_to(&sink).await;
    let mut body = appeal_body("Об нест");
    body["name"] = json!("Фарҳод Саидов");
    body["email"] = json!("farhod@example.tj");
    body["postal_address"] = json!("Душанбе, кӯчаи Рӯдакӣ 10");
    let response = app.post_json("/api/v1/public/appeals", &body, ANONYMOUS).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let filed: Value = response.json().await.unwrap();
    let (id, tracking) =
        (filed["appeal"]["id"].as_str().unwrap(), filed["appeal"]["tracking_number"].clone());
    let official = app.official_of(filed["appeal"]["agency"]["code"].as_str().unwrap()).await;
    assert_eq!(app.act(&official, id, "take", 1, &json!({})).await.status(), 200);
    let asked = app.act(&official, id, "request-info", 2, &json!({"message": "Суроғаро нависед"})).await;
    assert_eq!(asked.status(), 200);

    let question = outbox_rows(&app)
        .await
        .into_iter()
        .find(|row| row.template == MessageKind::InformationRequested.as_str())
        .expect("the guest is asked by email");
    let data: Value = serde_json::from_str(&question.data).unwrap();
    let link = data["appeal_url"].as_str().unwrap();
    let tracking = tracking.as_str().unwrap().replace('-', "");
    assert!(link.ends_with(&format!("/track/{tracking}")), "{link}");
}

/// The law asks for the decision on the substance and, for an appeal left without
/// consideration, the lawful ground: both are named in the applicant's language, beside
/// what the official wrote.
#[tokio::test]
async fn the_answer_names_the_decision_and_a_dismissal_its_lawful_ground_in_the_applicants_language() {
    let sink = SmtpSink::start().await;
    let app = app_mailing_to(&sink).await;
    let citizen = citizen(&app, &sink).await;
    let response = app.patch_json("/api/v1/me", &json!({"locale": "ru"}), citizen.token()).await;
    assert_eq!(response.status(), 200);
    let answered = file(&app, &citizen, "Нет воды").await;
    let dismissed = file(&app, &citizen, "Опять нет воды").await;
    let official = app.official_of(answered["agency"]["code"].as_str().unwrap()).await;
    let id = answered["id"].as_str().unwrap();
    assert_eq!(app.act(&official, id, "take", 1, &json!({})).await.status(), 200);
    let body = json!({"outcome": "partly_satisfied", "text": "Трубу заменят до 1 апреля."});
    assert_eq!(app.act(&official, id, "answer", 2, &body).await.status(), 200);
    let body = json!({"reason": "abusive", "comment": "В тексте угрозы сотрудникам."});
    assert_eq!(
        app.act(&official, dismissed["id"].as_str().unwrap(), "dismiss", 1, &body).await.status(),
        200
    );

    // Four messages against a cap of three an hour: the last waits for the next hour.
    deliver(&app).await;
    app.clock.set(app.clock_now() + chrono::Duration::minutes(61));
    deliver(&app).await;
    let texts: Vec<String> = sink.messages().iter().map(|m| m.part("text/plain").unwrap()).collect();
    let answer = texts.iter().find(|t| t.contains("Трубу заменят")).expect("the answer is mailed");
    assert!(answer.contains("Решение: Удовлетворено частично"), "{answer}");
    let dismissal = texts.iter().find(|t| t.contains("без рассмотрения")).expect("the dismissal is mailed");
    assert!(dismissal.contains("Причина: Содержит оскорбительные выражения или угрозы"), "{dismissal}");
    assert!(dismissal.contains("Пояснение: В тексте угрозы сотрудникам."), "{dismissal}");
}

/// What the agency writes on the appeal reaches the applicant by email; what the applicant
/// writes does not come back to them.
#[tokio::test]
async fn a_message_from_the_agency_is_mailed_to_the_applicant_and_their_own_is_not() {
    let sink = SmtpSink::start().await;
    let app = app_mailing_to(&sink).await;
    let citizen = citizen(&app, &sink).await;
    let appeal = file(&app, &citizen, "Нет воды").await;
    let id = appeal["id"].as_str().unwrap();
    let official = app.official_of(appeal["agency"]["code"].as_str().unwrap()).await;
    let body = json!({"text": "Фардо соати 10 мутахассис меояд."});
    assert_eq!(app.act(&official, id, "message", 1, &body).await.status(), 200);
    let body = json!({"text": "Ташаккур, ман дар хона мебошам."});
    assert_eq!(app.act(&citizen, id, "message", 2, &body).await.status(), 200);

    let mailed: Vec<_> = outbox_rows(&app)
        .await
        .into_iter()
        .filter(|row| row.template == MessageKind::MessageReceived.as_str())
        .collect();
    assert_eq!(mailed.len(), 1, "{mailed:?}");
    assert_eq!(mailed[0].recipient_email, citizen.email);
    assert!(mailed[0].essential, "the agency's word is not optional mail");
    deliver(&app).await;
    let texts: Vec<String> = sink.messages().iter().map(|m| m.part("text/plain").unwrap()).collect();
    let message = texts.iter().find(|t| t.contains("мутахассис меояд")).expect("the message is mailed");
    assert!(message.contains("ба шумо навишт"), "in Tajik, the citizen's language: {message}");
    assert!(!texts.iter().any(|t| t.contains("Ташаккур")), "{texts:?}");
}

#[tokio::test]
async fn while_the_mail_server_is_down_filing_succeeds_and_mail_waits_then_arrives_once() {
    let mut sink = SmtpSink::start().await;
    let app = app_mailing_to(&sink).await;
    let citizen = citizen(&app, &sink).await;
    sink.stop().await;
    for n in 0..3 {
        file(&app, &citizen, &format!("Шикояти {n}")).await;
    }
    let report = deliver(&app).await;
    assert_eq!((report.claimed, report.failed, report.sent), (3, 3, 0));
    let rows = outbox_rows(&app).await;
    assert!(rows.iter().all(|row| row.status == "failed" && row.last_error.is_some()));
    // Not due again before the back-off.
    assert_eq!(deliver(&app).await.claimed, 0);

    sink.restart().await;
    app.clock.advance(TimeDelta::minutes(2));
    let report = deliver(&app).await;
    assert_eq!(report.sent, 3);
    let counts = sink.count_by_message_id();
    assert_eq!(counts.len(), 3);
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    assert!(outbox_rows(&app).await.iter().all(|row| row.status == "sent"));
}

#[tokio::test]
async fn a_sender_that_died_after_the_server_accepted_resends_with_the_same_message_id() {
    let sink = SmtpSink::start().await;
    let app = app_mailing_to(&sink).await;
    let citizen = citizen(&app, &sink).await;
    file(&app, &citizen, "Об нест").await;
    assert_eq!(deliver(&app).await.sent, 1);
    // The process died after SMTP accepted the message but before it recorded that: the row
    // is still claimed, under a lease that has not run out.
    let row = &outbox_rows(&app).await[0];
    let lease_until = app.clock_now() + TimeDelta::seconds(120);
    outbox_message::Entity::update_many()
        .col_expr(outbox_message::Column::Status, Expr::value("sending"))
        .col_expr(outbox_message::Column::NextAttemptAt, Expr::value(lease_until))
        .filter(outbox_message::Column::Id.eq(row.id))
        .exec(app.db.conn())
        .await
        .unwrap();

    assert_eq!(deliver(&app).await.claimed, 0, "no one takes a leased message");
    app.clock.advance(TimeDelta::seconds(121));
    assert_eq!(deliver(&app).await.sent, 1);
    let counts = sink.count_by_message_id();
    assert_eq!(counts.get(&format!("<{}@murojiat.test>", row.id)), Some(&2), "{counts:?}");
    assert_eq!(outbox_rows(&app).await[0].status, "sent");
}

#[tokio::test]
async fn a_refused_recipient_is_dead_lettered_and_an_admin_can_requeue_it() {
    let sink = SmtpSink::start().await;
    let app = app_mailing_to(&sink).await;
    let citizen = citizen(&app, &sink).await;
    file(&app, &citizen, "Об нест").await;
    sink.reply_to_rcpt(Some("550 5.1.1 no such user"));
    assert_eq!(deliver(&app).await.dead, 1);

    let admin = app.admin().await;
    let listed: Value =
        app.get("/api/v1/admin/outbox?status=dead", admin.token()).await.json().await.unwrap();
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert!(items[0]["last_error"].as_str().unwrap().contains("550"), "{}", items[0]);
    let id = items[0]["id"].as_str().unwrap();
    // Staff and citizens do not see the outbox.
    assert_eq!(app.get("/api/v1/admin/outbox?status=dead", citizen.token()).await.status(), 403);

    sink.reply_to_rcpt(None);
    let response =
        app.post_json(&format!("/api/v1/admin/outbox/{id}/requeue"), &json!({}), admin.token()).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert_eq!(deliver(&app).await.sent, 1);
    assert_eq!(sink.messages().len(), 1);
    // Requeueing a sent message is refused.
    let response =
        app.post_json(&format!("/api/v1/admin/outbox/{id}/requeue"), &json!({}), admin.token()).await;
    assert_eq!(response.status(), 404);
}

/// After the mail server refused for longer than the retries last, an operator lists what
/// gave up (`murojiat outbox dead`) and sends it all again (`murojiat outbox requeue
/// --all-dead`), on either database, without SQL by hand.
#[tokio::test]
async fn the_outbox_commands_list_the_dead_mail_and_send_it_all_again() {
    let sink = SmtpSink::start().await;
    let app = app_mailing_to(&sink).await;
    let citizen = citizen(&app, &sink).await;
    file(&app, &citizen, "Об нест").await;
    file(&app, &citizen, "Барқ нест").await;
    sink.reply_to_rcpt(Some("550 5.1.1 mailbox unavailable"));
    assert_eq!(deliver(&app).await.dead, 2);
    let command = |args: &[&str]| app.command(&[&["outbox"], args].concat());

    let (status, listed) = command(&["dead"]);
    assert_eq!(status, Some(0), "{listed}");
    let lines: Vec<Vec<&str>> = listed.lines().map(|line| line.split('\t').collect()).collect();
    assert_eq!(lines.len(), 2, "{listed}");
    for line in &lines {
        assert_eq!(&line[1..3], ["appeal_received", citizen.email.as_str()], "{listed}");
        assert!(line[5].contains("550"), "{listed}");
    }
    let (status, listed) = command(&["dead", "--limit", "1"]);
    assert_eq!((status, listed.lines().count()), (Some(0), 1));

    sink.reply_to_rcpt(None);
    assert_eq!(command(&["requeue", "--all-dead"]), (Some(0), "requeued: 2\n".to_owned()));
    assert_eq!(command(&["dead"]), (Some(0), String::new()));
    let rows = outbox_rows(&app).await;
    assert!(rows.iter().all(|row| row.status == "pending" && row.attempts == 0), "{rows:?}");
    // Due at the command's time (the machine's clock, ahead of the test's).
    app.clock.set(rows.iter().map(|row| row.next_attempt_at).max().unwrap());
    assert_eq!(deliver(&app).await.sent, 2);
    assert_eq!(sink.messages().len(), 2);

    // A sent message is not sent again: named, it is reported and nothing changes.
    let (status, said) = command(&["requeue", lines[0][0]]);
    assert_eq!(status, Some(1), "{said}");
    assert!(said.starts_with("requeued: 0\n") && said.contains(lines[0][0]), "{said}");
    assert!(outbox_rows(&app).await.iter().all(|row| row.status == "sent"));
    assert_eq!(command(&["requeue"]).0, Some(2), "an id or --all-dead is required");
}

/// A refusal of the session, not of the message (authentication required or failed: the
/// server's password changed) would refuse every message: it is retried until an
/// administrator mends the settings, never dead-lettered.
#[tokio::test]
async fn a_refused_login_leaves_the_mail_waiting_rather_than_dead() {
    let sink = SmtpSink::start().await;
    let app = app_mailing_to(&sink).await;
    let citizen = citizen(&app, &sink).await;
    file(&app, &citizen, "Об нест").await;
    sink.reply_to_rcpt(Some("530 5.7.0 Authentication required"));
    let report = deliver(&app).await;
    assert_eq!((report.sent, report.dead), (0, 0), "{report:?}");
    let waiting = outbox_rows(&app).await;
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].status, "failed", "{waiting:?}");
    assert!(waiting[0].last_error.as_deref().unwrap_or_default().contains("530"), "{waiting:?}");
    assert!(waiting[0].next_attempt_at > app.clock_now(), "retried later");
}

#[tokio::test]
async fn the_hourly_cap_delays_legal_notices_instead_of_dropping_them() {
    let sink = SmtpSink::start().await;
    let app = app_mailing_to(&sink).await;
    let citizen = citizen(&app, &sink).await;
    for n in 0..5 {
        file(&app, &citizen, &format!("Шикояти {n}")).await;
    }
    let report = deliver(&app).await;
    assert_eq!((report.sent, report.postponed, report.dropped), (3, 2, 0));
    assert_eq!(sink.messages().len(), 3);

    app.clock.advance(TimeDelta::minutes(61));
    assert_eq!(deliver(&app).await.sent, 2);
    assert_eq!(sink.messages().len(), 5);
}

/// One batch holds messages to several people: each one's cap is counted separately, an
/// address written in two cases is one person, and optional mail over the cap is dropped
/// (with the reason) while legal notices wait.
#[tokio::test]
async fn one_batch_counts_each_recipients_cap_and_drops_only_optional_mail() {
    let sink = SmtpSink::start().await;
    let app = app_mailing_to(&sink).await;
    let now = app.clock.now();
    let mail = |n: usize, email: &str, essential: bool| {
        let recipient =
            Recipient { email: email.to_owned(), name: "Саид".to_owned(), locale: Locale::Tg };
        let data =
            json!({ "name": "Саид", "verify_url": "https://murojiat.test/verify?t=1", "expires_at": now });
        let mut message = notices::message(
            &app.app,
            &recipient,
            MessageKind::VerifyEmail,
            data,
            "Asia/Dushanbe",
            None,
            &format!("test:{n}"),
            now,
        )
        .unwrap();
        message.essential = essential;
        message
    };
    let mut messages = Vec::new();
    for n in 0..3 {
        messages.push(mail(n, "said@example.tj", false));
        messages.push(mail(10 + n, "SAID@example.tj", true));
    }
    messages.push(mail(20, "zarina@example.tj", false));
    outbox::enqueue_many(app.db.conn(), messages).await.unwrap();

    let report = deliver(&app).await;
    assert_eq!((report.claimed, report.sent), (7, 4), "three to Said, one to Zarina");
    let rows = outbox_rows(&app).await;
    let said: Vec<&outbox_message::Model> =
        rows.iter().filter(|m| m.recipient_email.eq_ignore_ascii_case("said@example.tj")).collect();
    let count = |status: &str, essential: bool| {
        said.iter().filter(|m| m.status == status && m.essential == essential).count()
    };
    let held = count("pending", true);
    let dropped = count("dropped", false);
    assert_eq!(held + count("sent", true), 3);
    assert_eq!(dropped + count("sent", false), 3);
    assert_eq!((report.postponed, report.dropped), (held, dropped));
    assert_eq!(held + dropped, 3, "three of Said's six over his cap of three");
    assert!(
        said.iter()
            .filter(|m| m.status == "dropped")
            .all(|m| m.last_error.as_deref() == Some("over the recipient's hourly cap"))
    );
    let waiting = said.iter().filter(|m| m.status == "pending").map(|m| m.next_attempt_at);
    assert!(
        waiting.into_iter().all(|at| at > now + TimeDelta::minutes(59)),
        "held until the hour has passed"
    );
    assert_eq!(sink.messages().len(), 4);

    app.clock.advance(TimeDelta::minutes(61));
    assert_eq!(deliver(&app).await.sent, held, "the held legal notices go out when the hour has passed");
}

#[tokio::test]
async fn metrics_show_the_outbox_by_status() {
    let sink = SmtpSink::start().await;
    let app = app_mailing_to(&sink).await;
    let citizen = citizen(&app, &sink).await;
    file(&app, &citizen, "Об нест").await;
    let metrics = app.get("/metrics", ANONYMOUS).await.text().await.unwrap();
    assert!(metrics.contains("murojiat_outbox_messages{status=\"pending\"} 1"), "{metrics}");
    // The citizen's confirmation link went out before.
    let sent_before = sent_total(&metrics);
    deliver(&app).await;
    let metrics = app.get("/metrics", ANONYMOUS).await.text().await.unwrap();
    for status in ["pending", "sending", "failed", "dead", "dropped"] {
        assert!(metrics.contains(&format!("murojiat_outbox_messages{{status=\"{status}\"}} 0")), "{metrics}");
    }
    assert!(!metrics.contains("status=\"sent\""), "sent messages are counted as sent, not read: {metrics}");
    assert!(metrics.contains("# TYPE murojiat_mail_sent_total counter\n"), "{metrics}");
    assert_eq!(sent_total(&metrics), sent_before + 1, "{metrics}");
}

fn sent_total(metrics: &str) -> u64 {
    let line = metrics.lines().find_map(|line| line.strip_prefix("murojiat_mail_sent_total "));
    line.and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no murojiat_mail_sent_total: {metrics}"))
}

/// The claim reads the due messages from the partial index `idx_outbox_claimable`, in due
/// order, so it costs the same with thirty messages waiting or thirty thousand. (Read from
/// the `(status, next_attempt_at)` index, three statuses meant reading and sorting every
/// waiting message: 27 ms per claim with 30,000 waiting.) Checked as each database plans the
/// statement as it is sent, with its values bound: PostgreSQL with the generic plan it
/// settles on after a few runs (scans that read everything and sorts are priced out, so
/// only an index that can serve the claim is chosen), SQLite as it prepares it.
#[tokio::test]
async fn the_claim_reads_due_messages_from_the_claimable_index() {
    let app = spawn_app().await;
    let due = outbox::due_messages(app.db.backend(), app.clock.now(), 50);
    let plan = plan_of_query(&app, &due, &["outbox"]).await;
    assert!(plan.contains("idx_outbox_claimable"), "the claim does not read the claimable index:\n{plan}");
    assert!(!plan.to_lowercase().contains("sort"), "the claim sorts:\n{plan}");
}

/// `/metrics` counts the messages not sent from the partial index `idx_outbox_unsent`, and
/// the administrators' list of failed and dead messages reads them from it in id order: both
/// cost the same however many messages were ever sent (the count read the whole table on
/// every scrape). A list that asks for sent messages cannot use it, and does not.
#[tokio::test]
async fn the_outbox_count_and_the_admin_list_read_only_the_messages_not_sent() {
    let app = spawn_app().await;
    let count = plan_of_query(&app, &outbox::counting_unsent(), &["outbox"]).await;
    assert!(count.contains("idx_outbox_unsent"), "the count does not read the unsent index:\n{count}");
    let failed_and_dead = [outbox::DeliveryStatus::Failed, outbox::DeliveryStatus::Dead];
    let list =
        plan_of_query(&app, &outbox::listing(&failed_and_dead, Some(uuid::Uuid::nil()), 50), &["outbox"])
            .await;
    assert!(list.contains("idx_outbox_unsent"), "the list does not read the unsent index:\n{list}");
    assert!(!list.to_lowercase().contains("sort"), "the list sorts:\n{list}");
    let sent =
        plan_of_query(&app, &outbox::listing(&[outbox::DeliveryStatus::Sent], None, 50), &["outbox"]).await;
    assert!(!sent.contains("idx_outbox_unsent"), "sent messages are not in the index:\n{sent}");
    let none = outbox::list(app.db.conn(), &[], None, 50).await.expect("a list of no status is valid SQL");
    assert!(none.is_empty());
}
