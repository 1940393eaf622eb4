//! Email templates: one folder per message, one file per language, loaded once at start.
//!
//! `<dir>/<message>/<locale>.txt` starts with a `Subject:` line and a blank line; the rest is
//! the body. The body is rendered twice from the same source: as plain text (no escaping)
//! and as HTML (every value auto-escaped, paragraphs wrapped in `<p>`, the result placed in
//! `<dir>/_layout.html`). `<dir>/_footer/<locale>.txt` is appended to both. So a translator
//! edits one plain file per language and the two parts can never disagree.
//!
//! Besides the caller's data, every template sees `locale` and `time_zone`, and may use the
//! filters `datetime` and `date` (an RFC 3339 instant or a `YYYY-MM-DD` date, shown in the
//! agency's zone and the locale's style) and `link` (a URL; a hyperlink in HTML).

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, HtmlEscape, State, UndefinedBehavior, context};
use serde::Serialize;

use super::format::{format_date, format_datetime};
use crate::domain::appeal::vocabulary;
use crate::domain::locale::Locale;

vocabulary! {
    /// Every email the system sends; the name is also the template folder.
    MessageKind {
        /// A link to confirm the address of a new account.
        VerifyEmail = "verify_email",
        /// A link to choose a new password.
        PasswordReset = "password_reset",
        /// The appeal was registered: tracking number, agency, registration number, due date.
        AppealReceived = "appeal_received",
        /// A guest's secret access code to follow their appeal.
        GuestAccessCode = "guest_access_code",
        /// The official needs more information from the citizen.
        InformationRequested = "information_requested",
        /// The appeal went to another, competent agency.
        Forwarded = "forwarded",
        /// The deadline was extended.
        ExtensionGranted = "extension_granted",
        /// The final answer, and how to contest it.
        Answered = "answered",
        /// Left without consideration, with the lawful reason.
        Dismissed = "dismissed",
        /// The citizen's contest of an answer was received, and by when it is reviewed.
        ContestReceived = "contest_received",
        /// A contest was found justified: the agency considers the appeal again.
        Reopened = "reopened",
        /// The appeal closed: its contest window ended, a contest was rejected, the citizen
        /// withdrew it, or did not answer a request for information in time (`cause`).
        Closed = "closed",
        /// Staff wrote to the applicant on the appeal (a public message).
        MessageReceived = "message_received",
        /// An edit of the business calendar moved the appeal's deadline or one of the
        /// citizen's windows (to answer a request, to contest an answer).
        DatesChanged = "dates_changed",
        /// To the official and supervisor: an appeal is past its deadline.
        OverdueAlert = "overdue_alert",
        /// To the assignee: a deadline is near.
        DeadlineReminder = "deadline_reminder",
    }
}

/// A message ready to be put into an email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The subject, on one line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body: a complete document.
    pub html: String,
}

/// A template file that is missing or broken; the program should stop at start.
#[derive(Debug, thiserror::Error)]
#[error("email template {path}: {reason}")]
pub struct LoadError {
    /// The file at fault.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

/// A render that failed: data missing for the template, or a value a filter cannot read.
#[derive(Debug, thiserror::Error)]
#[error("cannot render email {message} in {locale}: {source:#}")]
pub struct RenderError {
    /// The message being rendered.
    pub message: MessageKind,
    /// The language being rendered.
    pub locale: Locale,
    /// The template engine's reason.
    pub source: Error,
}

/// Every message in every language, parsed and checked.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

const LAYOUT: &str = "_layout.html";

impl Templates {
    /// Loads and compiles all templates under `dir`. Fails, naming the file, if any message
    /// lacks any language, has no `Subject:` line, or does not parse.
    pub fn load(dir: &Path) -> Result<Self, LoadError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") { AutoEscape::Html } else { AutoEscape::None }
        });
        env.add_filter("datetime", datetime_filter);
        env.add_filter("date", date_filter);
        env.add_filter("link", link_filter);

        let mut add = |name: String, path: &Path, source: String| {
            env.add_template_owned(name, source)
                .map_err(|e| LoadError { path: path.to_owned(), reason: format!("{e:#}") })
        };
        let layout = dir.join(LAYOUT);
        add(LAYOUT.to_owned(), &layout, read(&layout)?)?;
        for locale in Locale::ALL {
            let path = dir.join("_footer").join(format!("{locale}.txt"));
            add(format!("_footer/{locale}.txt"), &path, read(&path)?)?;
            for message in MessageKind::ALL {
                let path = dir.join(message.as_str()).join(format!("{locale}.txt"));
                let (subject, body) = split_subject(&read(&path)?).ok_or_else(|| LoadError {
                    path: path.clone(),
                    reason: "must start with a \"Subject: ...\" line and a blank line".into(),
                })?;
                let stem = format!("{message}/{locale}");
                add(format!("{stem}.subject"), &path, subject)?;
                add(format!("{stem}.txt"), &path, body.clone())?;
                add(format!("{stem}.html"), &path, body)?;
            }
        }
        Ok(Self { env })
    }

    /// Renders `message` in `locale` with `data` (any serializable value, e.g. a
    /// `serde_json::Value` or a typed context), showing dates in `tz`.
    pub fn render(
        &self,
        message: MessageKind,
        locale: Locale,
        data: &impl Serialize,
        tz: Tz,
    ) -> Result<Rendered, RenderError> {
        let fail = |source| RenderError { message, locale, source };
        let ctx = context! {
            locale => locale.as_str(),
            time_zone => tz.name(),
            ..Value::from(Serde(data))
        };
        let stem = format!("{message}/{locale}");
        let render = |name: &str, ctx: &Value| self.env.get_template(name)?.render(ctx);

        let subject = super::email::single_line(&render(&format!("{stem}.subject"), &ctx).map_err(fail)?);
        let footer = render(&format!("_footer/{locale}.txt"), &ctx).map_err(fail)?;
        let text = render(&format!("{stem}.txt"), &ctx).map_err(fail)?;
        let body_html = render(&format!("{stem}.html"), &ctx).map_err(fail)?;
        let html = render(
            LAYOUT,
            &context! {
                lang => locale.as_str(),
                subject => &subject,
                content => Value::from_safe_string(paragraphs(&body_html)),
                footer => Value::from_safe_string(paragraphs(&HtmlEscape(&footer).to_string())),
            },
        )
        .map_err(fail)?;
        Ok(Rendered { subject, text: format!("{}\n\n-- \n{}\n", text.trim_end(), footer.trim()), html })
    }
}

fn read(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|e| LoadError { path: path.to_owned(), reason: e.to_string() })
}

/// Splits `Subject: ...\n\nbody` into its two templates.
fn split_subject(source: &str) -> Option<(String, String)> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source).replace("\r\n", "\n");
    let (first, rest) = source.split_once('\n')?;
    let subject = first.strip_prefix("Subject:")?.trim();
    let body = rest.strip_prefix('\n')?;
    (!subject.is_empty()).then(|| (subject.to_owned(), body.to_owned()))
}

/// Wraps already escaped text into HTML paragraphs: blank lines separate paragraphs, single
/// line breaks become `<br>`.
fn paragraphs(escaped: &str) -> String {
    escaped
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| format!("<p>{}</p>\n", p.lines().map(str::trim_end).collect::<Vec<_>>().join("<br>\n")))
        .collect()
}

fn render_locale(state: &State) -> Result<(Locale, Tz), Error> {
    let locale = state
        .lookup("locale")
        .and_then(|v| v.as_str().and_then(|s| s.parse::<Locale>().ok()))
        .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "no locale in context"))?;
    let tz = state
        .lookup("time_zone")
        .and_then(|v| v.as_str().and_then(|s| s.parse::<Tz>().ok()))
        .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "no time_zone in context"))?;
    Ok((locale, tz))
}

fn instant(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value).ok().map(|t| t.with_timezone(&Utc))
}

/// `{{ due_at|datetime }}`: an RFC 3339 instant as local date and time.
fn datetime_filter(state: &State, value: &str) -> Result<String, Error> {
    let (locale, tz) = render_locale(state)?;
    let at = instant(value).ok_or_else(|| {
        Error::new(ErrorKind::InvalidOperation, format!("datetime: not an RFC 3339 instant: {value:?}"))
    })?;
    Ok(format_datetime(at, locale, tz))
}

/// `{{ due_date|date }}`: a `YYYY-MM-DD` date, or an RFC 3339 instant's local date.
fn date_filter(state: &State, value: &str) -> Result<String, Error> {
    let (locale, tz) = render_locale(state)?;
    let date = match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        Ok(date) => date,
        Err(_) => instant(value)
            .map(|t| t.with_timezone(&tz).date_naive())
            .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, format!("date: not a date: {value:?}")))?,
    };
    Ok(format_date(date, locale))
}

/// `{{ url|link }}`: the URL itself in text; in HTML a hyperlink, but only for http(s) URLs
/// (anything else stays escaped text, so no `javascript:` link can be smuggled in).
fn link_filter(state: &State, url: &str) -> Value {
    let web = url.starts_with("https://") || url.starts_with("http://");
    match state.auto_escape() {
        AutoEscape::Html if web => {
            let escaped = HtmlEscape(url).to_string();
            Value::from_safe_string(format!("<a href=\"{escaped}\">{escaped}</a>"))
        }
        _ => Value::from(url),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value as Json, json};

    const DUSHANBE: Tz = chrono_tz::Asia::Dushanbe;

    fn template_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config/templates")
    }

    fn templates() -> Templates {
        Templates::load(&template_dir()).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Realistic data for each message, as the services will pass it.
    fn sample(message: MessageKind) -> Json {
        let appeal = "https://murojiat.tj/appeals/MRJ-2026-000123";
        match message {
            MessageKind::VerifyEmail => json!({
                "name": "Фотима Раҳимова",
                "verify_url": "https://murojiat.tj/verify?token=abc&lang=tg",
                "expires_at": "2026-03-18T13:00:00Z",
            }),
            MessageKind::PasswordReset => json!({
                "name": "Фотима Раҳимова",
                "reset_url": "https://murojiat.tj/reset?token=xyz",
                "expires_at": "2026-03-17T14:00:00Z",
            }),
            MessageKind::AppealReceived => json!({
                "name": "Фотима Раҳимова",
                "tracking_number": "MRJ-2026-000123",
                "agency": "Ҳукумати ноҳияи Рӯдакӣ",
                "registration_number": "РД-15/412",
                "due_date": "2026-04-16",
                "status_url": "https://murojiat.tj/track",
            }),
            MessageKind::GuestAccessCode => json!({
                "name": "Ҷамшед Назаров",
                "tracking_number": "MRJ-2026-000124",
                "access_code": "K7Q-4ZP-9MX",
                "status_url": "https://murojiat.tj/track",
            }),
            MessageKind::InformationRequested => json!({
                "name": "Фотима Раҳимова",
                "tracking_number": "MRJ-2026-000123",
                "agency": "Ҳукумати ноҳияи Рӯдакӣ",
                "question": "Лутфан нусхаи шартномаи обтаъминкуниро замима кунед.",
                "respond_by": "2026-03-27",
                "appeal_url": appeal,
            }),
            MessageKind::Forwarded => json!({
                "name": "Фотима Раҳимова",
                "tracking_number": "MRJ-2026-000123",
                "from_agency": "Ҳукумати ноҳияи Рӯдакӣ",
                "to_agency": "ДУК «Обу корези шаҳри Душанбе»",
                "reason": "Масъалаи обтаъминкунӣ ба салоҳияти корхона дахл дорад.",
                "appeal_url": appeal,
            }),
            MessageKind::ExtensionGranted => json!({
                "name": "Фотима Раҳимова",
                "tracking_number": "MRJ-2026-000123",
                "agency": "Ҳукумати ноҳияи Рӯдакӣ",
                "new_due_date": "2026-05-16",
                "reason": "Санҷиши иловагӣ дар ҷои ҳодиса лозим аст.",
                "paused": true,
            }),
            MessageKind::Answered => json!({
                "name": "Фотима Раҳимова",
                "tracking_number": "MRJ-2026-000123",
                "agency": "Ҳукумати ноҳияи Рӯдакӣ",
                "outcome": "Қисман қонеъ гардонида шуд",
                "answer": "Қубури об то 1 апрел таъмир карда мешавад.\n\nБо эҳтиром, раиси ноҳия.",
                "contest_until": "2026-06-15",
                "contest_url": "https://murojiat.tj/appeals/MRJ-2026-000123/contest",
            }),
            MessageKind::Dismissed => json!({
                "name": "Фотима Раҳимова",
                "tracking_number": "MRJ-2026-000123",
                "agency": "Ҳукумати ноҳияи Рӯдакӣ",
                "reason": "Муроҷиати беном (ному насаб ё суроға нишон дода нашудааст)",
                "comment": "Дар муроҷиат суроғаи почтавӣ нишон дода нашудааст.",
            }),
            MessageKind::ContestReceived => json!({
                "name": "Фотима Раҳимова",
                "tracking_number": "MRJ-2026-000123",
                "agency": "Ҳукумати ноҳияи Рӯдакӣ",
                "due_date": "2026-04-30",
                "appeal_url": appeal,
            }),
            MessageKind::Reopened => json!({
                "name": "Фотима Раҳимова",
                "tracking_number": "MRJ-2026-000123",
                "agency": "Ҳукумати ноҳияи Рӯдакӣ",
                "due_date": "2026-05-14",
                "comment": "Ҷавоб ба масъалаи қубури кӯча дахл надорад.",
                "appeal_url": appeal,
            }),
            MessageKind::Closed => json!({
                "name": "Фотима Раҳимова",
                "tracking_number": "MRJ-2026-000123",
                "agency": "Ҳукумати ноҳияи Рӯдакӣ",
                "cause": "abandon",
                "comment": null,
                "respond_by": "2026-03-27",
                "appeal_url": appeal,
            }),
            MessageKind::MessageReceived => json!({
                "name": "Фотима Раҳимова",
                "tracking_number": "MRJ-2026-000123",
                "agency": "Ҳукумати ноҳияи Рӯдакӣ",
                "text": "Фардо соати 10 мутахассис барои санҷиш меояд. Лутфан дар хона бошед.",
                "appeal_url": appeal,
            }),
            MessageKind::DatesChanged => json!({
                "name": "Фотима Раҳимова",
                "tracking_number": "MRJ-2026-000123",
                "agency": "Ҳукумати ноҳияи Рӯдакӣ",
                "old_due_date": "2026-05-27T18:59:59Z",
                "new_due_date": "2026-05-28T18:59:59Z",
                "old_respond_by": null,
                "new_respond_by": null,
                "old_contest_until": "2026-05-26T18:59:59Z",
                "new_contest_until": "2026-05-27T18:59:59Z",
                "appeal_url": appeal,
            }),
            MessageKind::OverdueAlert => json!({
                "name": "Абдуллоҳ Каримов",
                "registration_number": "РД-15/412",
                "appeal_subject": "Набудани оби нӯшокӣ дар деҳаи Чимтеппа",
                "assignee": "Зарина Саидова",
                "due_at": "2026-04-16T18:59:59Z",
                "appeal_url": appeal,
            }),
            MessageKind::DeadlineReminder => json!({
                "name": "Зарина Саидова",
                "registration_number": "РД-15/412",
                "appeal_subject": "Набудани оби нӯшокӣ дар деҳаи Чимтеппа",
                "due_at": "2026-04-16T12:00:00Z",
                "appeal_url": appeal,
            }),
        }
    }

    #[test]
    fn every_message_renders_in_every_language() {
        let templates = templates();
        for message in MessageKind::ALL {
            for locale in Locale::ALL {
                let rendered = templates
                    .render(*message, *locale, &sample(*message), DUSHANBE)
                    .unwrap_or_else(|e| panic!("{e}"));
                for part in [&rendered.subject, &rendered.text, &rendered.html] {
                    assert!(!part.contains("{{") && !part.contains("{%"), "{message}/{locale}");
                }
                if *locale == Locale::Tg {
                    let tajik = |c: char| "ғӣқӯҳҷҒӢҚӮҲҶ".contains(c);
                    assert!(rendered.text.chars().any(tajik), "{message}/tg is not Tajik");
                }
                insta::assert_snapshot!(
                    format!("{message}.{locale}"),
                    format!(
                        "Subject: {}\n\n===== text/plain =====\n{}\n===== text/html =====\n{}",
                        rendered.subject, rendered.text, rendered.html
                    )
                );
            }
        }
    }

    #[test]
    fn citizen_text_is_escaped_in_html_and_verbatim_in_text() {
        let mut data = sample(MessageKind::Answered);
        data["answer"] = json!("<script>alert('x')</script> & <b>\"bold\"</b>");
        data["agency"] = json!("Agency <img src=x onerror=alert(1)>");
        let rendered = templates()
            .render(MessageKind::Answered, Locale::En, &data, DUSHANBE)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!rendered.html.contains("<script>") && !rendered.html.contains("<img"));
        assert!(rendered.html.contains("&lt;script&gt;"));
        assert!(rendered.text.contains("<script>alert('x')</script> & <b>\"bold\"</b>"));
    }

    #[test]
    fn links_are_hyperlinks_only_for_web_urls() {
        let mut data = sample(MessageKind::VerifyEmail);
        let rendered = templates()
            .render(MessageKind::VerifyEmail, Locale::En, &data, DUSHANBE)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            rendered
                .html
                .contains("<a href=\"https:&#x2f;&#x2f;murojiat.tj&#x2f;verify?token=abc&amp;lang=tg\">")
        );
        assert!(rendered.text.contains("https://murojiat.tj/verify?token=abc&lang=tg"));

        data["verify_url"] = json!("javascript:alert(1)");
        let rendered = templates()
            .render(MessageKind::VerifyEmail, Locale::En, &data, DUSHANBE)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!rendered.html.contains("<a href=\"javascript"));
    }

    #[test]
    fn dates_are_shown_in_the_agency_zone_and_the_locale_style() {
        let templates = templates();
        let data = sample(MessageKind::DeadlineReminder);
        let render = |locale| {
            templates
                .render(MessageKind::DeadlineReminder, locale, &data, DUSHANBE)
                .unwrap_or_else(|e| panic!("{e}"))
                .text
        };
        assert!(render(Locale::Tg).contains("16.04.2026, 17:00"));
        assert!(render(Locale::En).contains("16 April 2026, 17:00"));
    }

    #[test]
    fn missing_data_is_an_error_not_a_blank() {
        let error = templates()
            .render(MessageKind::AppealReceived, Locale::Ru, &json!({ "name": "Анна" }), DUSHANBE)
            .map(|_| ())
            .err();
        assert!(error.is_some_and(|e| e.message == MessageKind::AppealReceived));
    }

    fn copy_templates() -> tempfile::TempDir {
        let copy = tempfile::tempdir().expect("temp dir");
        let mut stack = vec![template_dir()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("readable dir") {
                let path = entry.expect("dir entry").path();
                let target = copy.path().join(path.strip_prefix(template_dir()).expect("inside"));
                if path.is_dir() {
                    std::fs::create_dir_all(&target).expect("mkdir");
                    stack.push(path);
                } else {
                    std::fs::copy(&path, &target).expect("copy");
                }
            }
        }
        copy
    }

    #[test]
    fn a_missing_language_stops_loading_and_names_the_file() {
        let dir = copy_templates();
        let missing = dir.path().join("forwarded/tg.txt");
        std::fs::remove_file(&missing).expect("remove");
        let error = Templates::load(dir.path()).expect_err("load fails");
        assert_eq!(error.path, missing);
    }

    #[test]
    fn a_broken_template_stops_loading_and_names_the_file() {
        let dir = copy_templates();
        let broken = dir.path().join("answered/ru.txt");
        std::fs::write(&broken, "Subject: x\n\n{% if answer %}unclosed").expect("write");
        let error = Templates::load(dir.path()).expect_err("load fails");
        assert_eq!(error.path, broken);
        assert!(error.to_string().contains("answered/ru.txt"), "{error}");

        std::fs::write(&broken, "no subject line\n\nbody").expect("write");
        let error = Templates::load(dir.path()).expect_err("load fails");
        assert!(error.reason.contains("Subject:"), "{error}");
    }
}
