//! What email an appeal event causes, and to whom. Called inside the transaction that
//! writes the event, so the outbox row commits (or rolls back) with the change itself: the
//! recipient's account is read through the transaction, and the message joins the change's
//! deferred writes.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::app::App;
use crate::domain::lifecycle::{DismissalReason, Outcome};
use crate::domain::locale::Locale;
use crate::domain::tracking::TrackingNumber;
use crate::notify::{MessageKind, message_id};
use crate::services::{Caller, ServiceError};
use crate::store::agencies::Agency;
use crate::store::appeals::Appeal;
use crate::store::deferred::Deferred;
use crate::store::events::Event;
use crate::store::outbox::{self, NewMessage};
use crate::store::users::{self, User};

/// Someone an email goes to.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub email: String,
    pub name: String,
    pub locale: Locale,
}

impl Recipient {
    /// The signed-in user, with the account's address, name and language as loaded for
    /// this request.
    pub fn of_caller(caller: &Caller) -> Self {
        Recipient { email: caller.email.clone(), name: caller.full_name.clone(), locale: caller.locale }
    }
}

/// The message an applicant receives for `event`, if any. Every one of them is a legal
/// notice (Law No. 1339 requires telling the applicant) or the agency writing to them, so
/// none is optional.
pub fn applicant_message(event: &Event) -> Option<MessageKind> {
    Some(match event.action.as_str() {
        // What the agency writes reaches the applicant; what they write themselves does not
        // come back to them.
        "message" if is_staff_role(&event.actor_role) => MessageKind::MessageReceived,
        "file" => MessageKind::AppealReceived,
        "request_info" => MessageKind::InformationRequested,
        "forward" | "reroute" => MessageKind::Forwarded,
        "grant_extension" => MessageKind::ExtensionGranted,
        "answer" => MessageKind::Answered,
        "dismiss" => MessageKind::Dismissed,
        "contest" => MessageKind::ContestReceived,
        "reopen" => MessageKind::Reopened,
        "close" | "uphold" | "abandon" | "withdraw" => MessageKind::Closed,
        super::appeals::recompute::ACTION => MessageKind::DatesChanged,
        _ => return None,
    })
}

/// Whether an event's `actor_role` is an official's or a supervisor's.
fn is_staff_role(role: &str) -> bool {
    role.parse::<crate::domain::role::Role>().is_ok_and(|r| r.is_staff())
}

/// Whether a message may be dropped by the hourly cap or turned off by the recipient.
pub fn is_essential(kind: MessageKind) -> bool {
    !matches!(kind, MessageKind::DeadlineReminder)
}

/// Whether a message carries a secret (a code or a one-time link) to be erased once sent.
pub fn is_secret(kind: MessageKind) -> bool {
    matches!(kind, MessageKind::GuestAccessCode | MessageKind::VerifyEmail | MessageKind::PasswordReset)
}

/// Writes the applicant's email for `event` on `appeal` (now at `agency`), if the event
/// calls for one and the applicant gave an address. `previous` is the agency before a
/// forwarding.
pub async fn for_appeal_event(
    app: &App,
    db: &impl ConnectionTrait,
    writes: &mut Deferred,
    appeal: &Appeal,
    event: &Event,
    agency: &Agency,
    previous: Option<&Agency>,
) -> Result<(), ServiceError> {
    if applicant_message(event).is_none() {
        return Ok(());
    }
    let Some(recipient) = applicant(db, appeal).await? else {
        return Ok(());
    };
    to_applicant(app, db, writes, &recipient, appeal, event, agency, previous).await
}

/// [`for_appeal_event`] for an applicant already known (the citizen filing, as signed in),
/// without reading the account again.
#[allow(clippy::too_many_arguments)]
pub async fn to_applicant(
    app: &App,
    db: &impl ConnectionTrait,
    writes: &mut Deferred,
    recipient: &Recipient,
    appeal: &Appeal,
    event: &Event,
    agency: &Agency,
    previous: Option<&Agency>,
) -> Result<(), ServiceError> {
    let Some(kind) = applicant_message(event) else {
        return Ok(());
    };
    let data = appeal_data(app, kind, appeal, event, agency, previous, recipient.locale);
    enqueue(
        app,
        db,
        writes,
        recipient,
        kind,
        data,
        &agency.time_zone,
        Some(appeal.id),
        &format!("event:{}", event.id),
        event.at,
    )
    .await
}

/// Writes the guest's access code email for a just-filed appeal.
pub async fn guest_access_code(
    app: &App,
    db: &impl ConnectionTrait,
    writes: &mut Deferred,
    appeal: &Appeal,
    agency: &Agency,
    access_code: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let Some(recipient) = applicant(db, appeal).await? else {
        return Ok(());
    };
    let data = json!({
        "name": recipient.name,
        "tracking_number": readable_tracking_number(appeal),
        "access_code": access_code,
        "status_url": status_url(app, appeal),
    });
    let cause = format!("access-code:{}", appeal.id);
    let kind = MessageKind::GuestAccessCode;
    enqueue(app, db, writes, &recipient, kind, data, &agency.time_zone, Some(appeal.id), &cause, now).await
}

/// Writes one message for `recipient`, deduplicated by `cause` and the address.
#[allow(clippy::too_many_arguments)]
pub async fn enqueue(
    app: &App,
    db: &impl ConnectionTrait,
    writes: &mut Deferred,
    recipient: &Recipient,
    kind: MessageKind,
    data: Value,
    time_zone: &str,
    appeal_id: Option<Uuid>,
    cause: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    if !is_essential(kind) && !wants_optional_mail(db, &recipient.email).await? {
        return Ok(());
    }
    let message = message(app, recipient, kind, data, time_zone, appeal_id, cause, now)?;
    writes.push(outbox::enqueuing(message));
    Ok(())
}

/// The message [`enqueue`] writes, built without writing it.
#[allow(clippy::too_many_arguments)]
pub fn message(
    app: &App,
    recipient: &Recipient,
    kind: MessageKind,
    data: Value,
    time_zone: &str,
    appeal_id: Option<Uuid>,
    cause: &str,
    now: DateTime<Utc>,
) -> Result<NewMessage, ServiceError> {
    let id = Uuid::now_v7();
    let message_id = message_id(id, &app.settings.mail.message_id_domain)
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(NewMessage {
        id,
        dedupe_key: format!("{cause}:{}", recipient.email.to_lowercase()),
        recipient_email: recipient.email.clone(),
        recipient_name: recipient.name.clone(),
        locale: recipient.locale.as_str().to_owned(),
        time_zone: time_zone.to_owned(),
        template: kind.as_str().to_owned(),
        data,
        essential: is_essential(kind),
        appeal_id,
        message_id,
        now,
    })
}

/// Writes many messages built with [`message`] at once, as [`enqueue`] would one by one:
/// mail the law does not require is left out for accounts that turned it off.
pub async fn enqueue_all(db: &impl ConnectionTrait, messages: Vec<NewMessage>) -> Result<(), ServiceError> {
    let optional: Vec<String> =
        messages.iter().filter(|m| !m.essential).map(|m| m.recipient_email.to_lowercase()).collect();
    let declined = if optional.is_empty() {
        HashSet::new()
    } else {
        users::without_optional_mail(db, &optional).await?
    };
    let wanted: Vec<NewMessage> = messages
        .into_iter()
        .filter(|m| m.essential || !declined.contains(&m.recipient_email.to_lowercase()))
        .collect();
    outbox::enqueue_many(db, wanted).await?;
    Ok(())
}

/// Whether the account with this address (if any) accepts mail the law does not require.
async fn wants_optional_mail(db: &impl ConnectionTrait, email: &str) -> Result<bool, ServiceError> {
    Ok(users::by_email(db, &email.to_lowercase()).await?.is_none_or(|user| user.optional_mail))
}

/// The applicant's address, name and language: the account's for a registered citizen, the
/// contact details and the appeal's language for anyone else; none without an address.
async fn applicant(db: &impl ConnectionTrait, appeal: &Appeal) -> Result<Option<Recipient>, ServiceError> {
    if let Some(citizen) = appeal.citizen_id
        && let Some(user) = users::by_id(db, citizen).await?
    {
        let locale = user.locale.parse().unwrap_or(Locale::Tg);
        return Ok(Some(Recipient { email: user.email, name: user.full_name, locale }));
    }
    let locale = appeal.language.parse().unwrap_or(Locale::Tg);
    Ok(appeal.contact_email.clone().map(|email| Recipient {
        email,
        name: appeal.contact_name.clone().unwrap_or_default(),
        locale,
    }))
}

/// The template data for `kind`, from the appeal and the event's details.
fn appeal_data(
    app: &App,
    kind: MessageKind,
    appeal: &Appeal,
    event: &Event,
    agency: &Agency,
    previous: Option<&Agency>,
    locale: Locale,
) -> Value {
    let details: Value = serde_json::from_str(&event.data).unwrap_or(Value::Null);
    let text = |key: &str| details.get(key).cloned().unwrap_or(Value::Null);
    // An applicant without an account (a guest, or one an official entered an appeal for)
    // opens the appeal, answers and contests on the tracking page, with the access code.
    let own_url = if appeal.citizen_id.is_some() { appeal_url(app, appeal) } else { status_url(app, appeal) };
    let mut data = json!({
        "name": appeal_name(appeal),
        "tracking_number": readable_tracking_number(appeal),
        "registration_number": appeal.registration_number,
        "agency": agency_name(agency, locale),
        "status_url": status_url(app, appeal),
        "appeal_url": own_url,
    });
    let extra = match kind {
        MessageKind::AppealReceived => json!({ "due_date": appeal.due_at }),
        MessageKind::InformationRequested => {
            json!({ "question": text("message"), "respond_by": text("reply_due_at") })
        }
        MessageKind::Forwarded => json!({
            "from_agency": previous.map(|a| agency_name(a, locale)),
            "to_agency": agency_name(agency, locale),
            "reason": text("reason"),
        }),
        // While the appeal waits for the citizen, the clock is stopped: the date moves on by
        // the time their answer takes, and the email says so.
        MessageKind::ExtensionGranted => json!({
            "new_due_date": appeal.due_at,
            "reason": text("reason"),
            "paused": appeal.paused_at.is_some(),
        }),
        MessageKind::Answered => json!({
            "outcome": details["outcome"].as_str().and_then(|o| o.parse::<Outcome>().ok()).map(|o| o.title(locale)),
            "answer": text("text"),
            "contest_until": text("contest_until"),
            "contest_url": own_url,
        }),
        // The lawful ground, in the applicant's language, and the official's explanation.
        MessageKind::Dismissed => json!({
            "reason": details["reason"].as_str().and_then(|r| r.parse::<DismissalReason>().ok()).map(|r| r.title(locale)),
            "comment": text("comment"),
        }),
        MessageKind::ContestReceived => json!({ "due_date": appeal.due_at }),
        MessageKind::Reopened => json!({ "due_date": appeal.due_at, "comment": text("comment") }),
        MessageKind::MessageReceived => json!({ "text": text("text") }),
        MessageKind::DatesChanged => {
            let moved = |key: &str, half: &str| details.get(key).map_or(Value::Null, |d| d[half].clone());
            json!({
                "old_due_date": moved("due_at", "before"),
                "new_due_date": moved("due_at", "after"),
                "old_respond_by": moved("reply_due_at", "before"),
                "new_respond_by": moved("reply_due_at", "after"),
                "old_contest_until": moved("contest_until", "before"),
                "new_contest_until": moved("contest_until", "after"),
            })
        }
        MessageKind::Closed => json!({
            "cause": event.action,
            "comment": text("comment"),
            "respond_by": text("reply_due_at"),
        }),
        _ => json!({}),
    };
    if let (Some(data), Some(extra)) = (data.as_object_mut(), extra.as_object()) {
        data.extend(extra.clone());
    }
    data
}

/// The applicant's name as the appeal records it (filled in at filing for every channel).
fn appeal_name(appeal: &Appeal) -> String {
    appeal.contact_name.clone().unwrap_or_default()
}

/// The tracking number as people read it (in groups), as the API shows it.
fn readable_tracking_number(appeal: &Appeal) -> String {
    TrackingNumber::parse(&appeal.tracking_number)
        .map_or_else(|_| appeal.tracking_number.clone(), |t| t.to_string())
}

/// An agency's name in `locale`.
pub fn agency_name(agency: &Agency, locale: Locale) -> String {
    match locale {
        Locale::Tg => agency.name_tg.clone(),
        Locale::Ru => agency.name_ru.clone(),
        Locale::En => agency.name_en.clone(),
    }
}

/// Where a guest follows an appeal by its tracking number on the public site.
fn status_url(app: &App, appeal: &Appeal) -> String {
    format!("{}/track/{}", app.settings.server.public_url.trim_end_matches('/'), appeal.tracking_number)
}

/// Where a signed-in applicant or official opens the appeal on the public site.
fn appeal_url(app: &App, appeal: &Appeal) -> String {
    format!("{}/appeals/{}", app.settings.server.public_url.trim_end_matches('/'), appeal.id)
}

/// Writes a staff alert about `appeal` (a deadline reminder, or the overdue alert) to each of
/// `recipients`, deduplicated by `cause` (the job that raised it). With no one named, the
/// alert goes to the agency's own address, as a letter to its records office would. Returns
/// how many messages it queued: none when nobody, not even the agency, has an address.
pub async fn staff_alert(
    app: &App,
    db: &impl ConnectionTrait,
    kind: MessageKind,
    appeal: &Appeal,
    recipients: &[Uuid],
    cause: &str,
    now: DateTime<Utc>,
) -> Result<usize, ServiceError> {
    let Some(agency) = crate::store::agencies::by_id(db, appeal.agency_id).await? else {
        return Ok(0);
    };
    let assignee = match appeal.assignee_id {
        Some(id) => users::by_id(db, id).await?.map(|u| u.full_name),
        None => None,
    };
    let mut people = Vec::new();
    for id in recipients {
        if let Some(user) = users::by_id(db, *id).await? {
            people.push(user);
        }
    }
    let messages =
        staff_alert_messages(app, kind, appeal, &agency, assignee.as_deref(), &people, cause, now)?;
    let mut queued = 0;
    for message in messages {
        if !message.essential && !wants_optional_mail(db, &message.recipient_email).await? {
            continue;
        }
        outbox::enqueue(db, message).await?;
        queued += 1;
    }
    Ok(queued)
}

/// The messages of [`staff_alert`], from rows the caller has read: `people` are the accounts
/// named (disabled ones are skipped), `assignee` the assignee's name. For writing the alerts
/// of many jobs at once with [`enqueue_all`].
#[allow(clippy::too_many_arguments)]
pub fn staff_alert_messages(
    app: &App,
    kind: MessageKind,
    appeal: &Appeal,
    agency: &Agency,
    assignee: Option<&str>,
    people: &[User],
    cause: &str,
    now: DateTime<Utc>,
) -> Result<Vec<NewMessage>, ServiceError> {
    let mut recipients: Vec<Recipient> = people
        .iter()
        .filter(|u| !u.disabled)
        .map(|user| Recipient {
            email: user.email.clone(),
            name: user.full_name.clone(),
            locale: user.locale.parse().unwrap_or(Locale::Tg),
        })
        .collect();
    if recipients.is_empty()
        && let Some(email) = agency.email.clone()
    {
        let locale = app.settings.server.default_locale;
        recipients.push(Recipient { email, name: agency_name(agency, locale), locale });
    }
    recipients
        .into_iter()
        .map(|recipient| {
            let data = json!({
                "name": recipient.name,
                "registration_number": appeal.registration_number,
                "appeal_subject": appeal.subject,
                "assignee": assignee.unwrap_or("—"),
                "due_at": appeal.due_at,
                "appeal_url": appeal_url(app, appeal),
            });
            message(app, &recipient, kind, data, &agency.time_zone, Some(appeal.id), cause, now)
        })
        .collect()
}
