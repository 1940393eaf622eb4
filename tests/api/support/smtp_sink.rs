//! A small SMTP server for the integration tests: plain TCP on 127.0.0.1, no TLS, no auth.
//! It keeps every message it accepts, can be stopped and started again on the same port
//! (to test outages), and can be told to refuse recipients (to test failure handling).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

/// One message the sink accepted: the SMTP envelope and the DATA exactly as received
/// (dot-stuffing undone).
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The MAIL FROM address.
    pub mail_from: String,
    /// Every RCPT TO address, in order.
    pub rcpt_to: Vec<String>,
    /// The message (headers and body).
    pub data: String,
}

impl ReceivedMail {
    /// The raw value of the first header called `name` (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        let mut found: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(value) = found.as_mut() {
                if line.starts_with([' ', '\t']) {
                    value.push_str(line);
                    continue;
                }
                break;
            }
            if let Some((key, value)) = line.split_once(':')
                && key.eq_ignore_ascii_case(name)
            {
                found = Some(value.trim_start().to_owned());
            }
        }
        found
    }

    /// The Message-ID header.
    pub fn message_id(&self) -> Option<String> {
        self.header("Message-ID")
    }

    /// The Subject header with RFC 2047 encoded words decoded.
    pub fn subject(&self) -> Option<String> {
        self.header("Subject").map(|s| decode_words(&s))
    }

    /// The decoded body of the first part with this content type (e.g. `text/plain`).
    pub fn part(&self, content_type: &str) -> Option<String> {
        let start = self.data.find(&format!("Content-Type: {content_type}"))?;
        let rest = &self.data[start..];
        let (head, body) = rest.split_once("\r\n\r\n")?;
        let body = body.split("\r\n--").next().unwrap_or(body);
        let encoding = head
            .split("\r\n")
            .find_map(|l| l.strip_prefix("Content-Transfer-Encoding:"))
            .map(|e| e.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let bytes = match encoding.as_str() {
            "base64" => base64::engine::general_purpose::STANDARD
                .decode(body.split_whitespace().collect::<String>())
                .ok()?,
            "quoted-printable" => decode_quoted_printable(body),
            _ => body.as_bytes().to_vec(),
        };
        String::from_utf8(bytes).ok()
    }
}

/// Decodes `=?utf-8?b?...?=` words; other text is kept (whitespace between words dropped).
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    for (i, token) in value.split_whitespace().enumerate() {
        let decoded = token
            .strip_prefix("=?")
            .and_then(|t| t.strip_suffix("?="))
            .and_then(|t| {
                let mut parts = t.splitn(3, '?');
                let (_charset, kind, text) = (parts.next()?, parts.next()?, parts.next()?);
                match kind {
                    "b" | "B" => base64::engine::general_purpose::STANDARD.decode(text).ok(),
                    "q" | "Q" => Some(decode_quoted_printable(&text.replace('_', " "))),
                    _ => None,
                }
            })
            .and_then(|bytes| String::from_utf8(bytes).ok());
        match decoded {
            Some(word) => out.push_str(&word),
            None => {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(token);
            }
        }
    }
    out
}

fn decode_quoted_printable(text: &str) -> Vec<u8> {
    let bytes = text.replace("=\r\n", "").into_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'=')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

#[derive(Default)]
struct Shared {
    messages: Vec<ReceivedMail>,
    rcpt_reply: Option<&'static str>,
}

type State = Arc<Mutex<Shared>>;

fn lock(state: &State) -> std::sync::MutexGuard<'_, Shared> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running (or stopped) sink. Stops when dropped.
pub struct SmtpSink {
    addr: SocketAddr,
    state: State,
    running: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

impl SmtpSink {
    /// Starts a sink on a free port of 127.0.0.1.
    pub async fn start() -> SmtpSink {
        let mut sink =
            SmtpSink { addr: SocketAddr::from(([127, 0, 0, 1], 0)), state: State::default(), running: None };
        sink.listen().await;
        sink
    }

    /// The port the sink listens on; stays the same across restarts.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every message accepted so far, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        lock(&self.state).messages.clone()
    }

    /// Forgets the messages received so far.
    pub fn forget_messages(&self) {
        lock(&self.state).messages.clear();
    }

    /// How many times each Message-ID arrived.
    pub fn count_by_message_id(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for mail in lock(&self.state).messages.iter() {
            *counts.entry(mail.message_id().unwrap_or_default()).or_insert(0) += 1;
        }
        counts
    }

    /// Makes RCPT TO answer with this line (e.g. `"550 5.1.1 no such user"`); `None`
    /// restores `250 OK`.
    pub fn reply_to_rcpt(&self, reply: Option<&'static str>) {
        lock(&self.state).rcpt_reply = reply;
    }

    /// Closes the listener and every open connection; the port refuses connections.
    pub async fn stop(&mut self) {
        if let Some((stop, task)) = self.running.take() {
            let _ = stop.send(());
            let _ = task.await;
        }
    }

    /// Listens again on the same port, keeping the messages received so far.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.listen().await;
    }

    async fn listen(&mut self) {
        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        socket.bind(self.addr).expect("bind sink port");
        let listener = socket.listen(64).expect("listen");
        self.addr = listener.local_addr().expect("local addr");
        let (stop, mut stopped) = oneshot::channel::<()>();
        let state = self.state.clone();
        let task = tokio::spawn(async move {
            // Connections live in this set, so stopping the sink also cuts them.
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    accepted = listener.accept() => {
                        if let Ok((stream, _)) = accepted {
                            // Answer at once: with Nagle's algorithm each reply would wait
                            // for the client's delayed ACK (about 40 ms per command).
                            let _ = stream.set_nodelay(true);
                            connections.spawn(serve(stream, state.clone()));
                        }
                    }
                }
            }
            connections.shutdown().await;
        });
        self.running = Some((stop, task));
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some((stop, task)) = self.running.take() {
            let _ = stop.send(());
            task.abort();
        }
    }
}

fn angle_address(argument: &str) -> String {
    let start = argument.find('<').map_or(0, |i| i + 1);
    let end = argument[start..].find('>').map_or(argument.len(), |i| start + i);
    argument[start..end].trim().to_owned()
}

fn reply(text: &str) -> Vec<u8> {
    format!("{text}\r\n").into_bytes()
}

async fn serve(stream: TcpStream, state: State) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut out = reply("220 sink.localhost ESMTP test sink");
    let (mut from, mut to) = (String::new(), Vec::new());
    loop {
        if write.write_all(&out).await.is_err() {
            return;
        }
        let mut line = String::new();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let line = line.trim_end_matches(['\r', '\n']);
        let (verb, argument) = line.split_once([' ', ':']).unwrap_or((line, ""));
        out = match verb.to_ascii_uppercase().as_str() {
            "EHLO" => b"250-sink.localhost\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n".to_vec(),
            "HELO" => reply("250 sink.localhost"),
            "MAIL" => {
                (from, to) = (angle_address(argument), Vec::new());
                reply("250 2.1.0 OK")
            }
            "RCPT" => match lock(&state).rcpt_reply {
                Some(refusal) => reply(refusal),
                None => {
                    to.push(angle_address(argument));
                    reply("250 2.1.5 OK")
                }
            },
            "DATA" if to.is_empty() => reply("554 5.5.1 no valid recipients"),
            "DATA" => {
                if write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await.is_err() {
                    return;
                }
                let mut data = String::new();
                loop {
                    let mut line = String::new();
                    match lines.read_line(&mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                let mail = ReceivedMail {
                    mail_from: std::mem::take(&mut from),
                    rcpt_to: std::mem::take(&mut to),
                    data,
                };
                lock(&state).messages.push(mail);
                reply("250 2.0.0 queued")
            }
            "RSET" => {
                (from, to) = (String::new(), Vec::new());
                reply("250 2.0.0 OK")
            }
            "NOOP" => reply("250 2.0.0 OK"),
            "QUIT" => {
                let _ = write.write_all(b"221 2.0.0 bye\r\n").await;
                return;
            }
            _ => reply("502 5.5.2 command not implemented"),
        };
    }
}
