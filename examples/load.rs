//! Load generator for the load harness (benches/load/run.sh runs it; the results live in
//! docs/benchmarks.md). Two shapes of load against a running server:
//!
//! - closed loop (`rate` absent): `clients` tasks, each sending its next request as soon as
//!   the previous one is answered, for `seconds`: the saturation throughput;
//! - open loop (`rate=R`): requests start at a fixed R per second whatever the server does,
//!   and each latency is measured from the instant the request was *due* to start, not from
//!   when it could be sent, so a stalled server shows up in the figures (no coordinated
//!   omission).
//!
//! What is sent:
//! - `file`: `POST /api/v1/appeals` as citizens (one access token per line of `tokens`, used
//!   in turn), each with a distinct `Idempotency-Key` and a realistic Tajik or Russian body
//!   over the server's own categories and districts;
//! - `get`: `GET path` with one bearer token.
//!
//! Usage:
//!   load BASE file tokens=FILE [clients=16] [seconds=30] [rate=R] [warmup=2] [label=...]
//!   load BASE get path=/api/v1/... token=T [clients=16] [seconds=30] [warmup=2] [label=...]
//! Prints one Markdown table row:
//!   | label | requests | failed | req/s | p50 ms | p99 ms | p99.9 ms | max ms |
//! and the answers' status codes to standard error. Exits 1 when any request failed.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: load BASE (file tokens=FILE | get path=P token=T) [clients=] [seconds=] [rate=]");
        std::process::exit(2);
    }
    let base = args[1].trim_end_matches('/').to_owned();
    let options: HashMap<&str, &str> = args[3..].iter().filter_map(|a| a.split_once('=')).collect();
    let number = |key: &str, default: f64| -> f64 {
        options
            .get(key)
            .map_or(default, |v| v.parse().unwrap_or_else(|_| panic!("{key}={v} is not a number")))
    };
    let clients = number("clients", 16.0) as usize;
    let seconds = number("seconds", 30.0);
    let warmup = number("warmup", 2.0);
    let rate = options.get("rate").map(|_| number("rate", 0.0));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(4096)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("an HTTP client");

    let request: Arc<dyn MakeRequest> = match args[2].as_str() {
        "file" => {
            let file = options.get("tokens").expect("file needs tokens=FILE");
            let tokens: Vec<String> = std::fs::read_to_string(file)
                .expect("the tokens file is readable")
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned)
                .collect();
            assert!(!tokens.is_empty(), "the tokens file holds no token");
            Arc::new(Filing::load(&client, &base, tokens).await)
        }
        "get" => {
            let path = options.get("path").expect("get needs path=");
            let token = options.get("token").expect("get needs token=");
            Arc::new(Get { url: format!("{base}{path}"), token: (*token).to_owned() })
        }
        other => panic!("unknown mode {other}"),
    };
    let label = options.get("label").map_or_else(|| args[2].clone(), |l| (*l).to_owned());

    if warmup > 0.0 {
        run(&client, &request, clients, warmup, rate).await;
    }
    let outcome = run(&client, &request, clients, seconds, rate).await;
    outcome.print(&label);
    if outcome.failed() > 0 {
        std::process::exit(1);
    }
}

/// Builds one request; `n` numbers the requests of a run.
trait MakeRequest: Send + Sync {
    fn build(&self, client: &reqwest::Client, n: u64) -> reqwest::RequestBuilder;
}

struct Get {
    url: String,
    token: String,
}

impl MakeRequest for Get {
    fn build(&self, client: &reqwest::Client, _: u64) -> reqwest::RequestBuilder {
        client.get(&self.url).bearer_auth(&self.token)
    }
}

/// Citizens filing appeals over the server's categories and districts.
struct Filing {
    url: String,
    tokens: Vec<String>,
    categories: Vec<String>,
    /// (region, district) pairs.
    places: Vec<(String, String)>,
}

impl Filing {
    async fn load(client: &reqwest::Client, base: &str, tokens: Vec<String>) -> Self {
        let items = |path: &'static str| {
            let url = format!("{base}{path}");
            async move {
                let page: Value =
                    client.get(&url).send().await.expect("reference data").json().await.expect("JSON");
                page["items"].as_array().cloned().unwrap_or_default()
            }
        };
        let categories: Vec<String> = items("/api/v1/categories")
            .await
            .iter()
            .filter(|c| !c["parent"].is_null())
            .filter_map(|c| c["code"].as_str().map(str::to_owned))
            .collect();
        let territories = items("/api/v1/territories").await;
        let places: Vec<(String, String)> = territories
            .iter()
            .filter_map(|t| Some((t["parent"].as_str()?.to_owned(), t["code"].as_str()?.to_owned())))
            .collect();
        assert!(!categories.is_empty() && !places.is_empty(), "the server has categories and districts");
        Self { url: format!("{base}/api/v1/appeals"), tokens, categories, places }
    }

    fn body(&self, n: u64) -> Value {
        let mut rng = rand::rng();
        let category = &self.categories[rng.random_range(0..self.categories.len())];
        let (region, district) = &self.places[rng.random_range(0..self.places.len())];
        let kind = ["complaint", "application", "request", "proposal"][rng.random_range(0..4)];
        let house = rng.random_range(1..200);
        let (language, subject, text) = if n.is_multiple_of(3) {
            (
                "ru",
                format!("Обращение жителей дома {house} по вопросу: {category}"),
                format!(
                    "Здравствуйте. Жители дома {house} обращаются к вам уже не в первый раз. \
                     Проблема ({category}) не решается больше месяца: мы писали в районную \
                     администрацию, звонили на горячую линию, но ответа не получили. Просим \
                     принять меры и сообщить нам о результатах в установленный законом срок. \
                     Прилагаем описание ситуации и подписи соседей."
                ),
            )
        } else {
            (
                "tg",
                format!("Муроҷиати сокинони хонаи {house} оид ба масъалаи {category}"),
                format!(
                    "Ассалому алейкум. Мо, сокинони хонаи {house}, бори чандум ба шумо муроҷиат \
                     мекунем. Масъала ({category}) зиёда аз як моҳ ҳал намешавад: ба ҳукумати \
                     ноҳия навиштем, ба хати боварӣ занг задем, вале ҷавоб нагирифтем. Хоҳиш \
                     менамоем, ки чора андешед ва дар мӯҳлати муқаррарнамудаи қонун моро огоҳ \
                     созед."
                ),
            )
        };
        json!({
            "kind": kind,
            "subject": subject,
            "text": text,
            "category": category,
            "region": region,
            "district": district,
            "language": language,
        })
    }
}

impl MakeRequest for Filing {
    fn build(&self, client: &reqwest::Client, n: u64) -> reqwest::RequestBuilder {
        client
            .post(&self.url)
            .bearer_auth(&self.tokens[n as usize % self.tokens.len()])
            .header("idempotency-key", uuid::Uuid::now_v7().to_string())
            .json(&self.body(n))
    }
}

/// One answered (or failed) request: its latency in milliseconds and its status (0: no answer).
type Sample = (f64, u16);

async fn send(client: &reqwest::Client, request: &dyn MakeRequest, n: u64, due: Instant) -> Sample {
    let status = match request.build(client, n).send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            match response.bytes().await {
                Ok(_) => status,
                Err(_) => 0,
            }
        }
        Err(_) => 0,
    };
    (due.elapsed().as_secs_f64() * 1000.0, status)
}

async fn run(
    client: &reqwest::Client,
    request: &Arc<dyn MakeRequest>,
    clients: usize,
    seconds: f64,
    rate: Option<f64>,
) -> Outcome {
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(seconds);
    let samples = match rate {
        None => closed_loop(client, request, clients, until).await,
        Some(rate) => open_loop(client, request, rate, started, until).await,
    };
    Outcome { samples, seconds: started.elapsed().as_secs_f64() }
}

async fn closed_loop(
    client: &reqwest::Client,
    request: &Arc<dyn MakeRequest>,
    clients: usize,
    until: Instant,
) -> Vec<Sample> {
    let workers: Vec<_> = (0..clients as u64)
        .map(|worker| {
            let (client, request) = (client.clone(), request.clone());
            tokio::spawn(async move {
                let mut samples = Vec::new();
                let mut n = worker;
                while Instant::now() < until {
                    samples.push(send(&client, request.as_ref(), n, Instant::now()).await);
                    n += clients as u64;
                }
                samples
            })
        })
        .collect();
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.expect("a worker finishes"));
    }
    all
}

async fn open_loop(
    client: &reqwest::Client,
    request: &Arc<dyn MakeRequest>,
    rate: f64,
    started: Instant,
    until: Instant,
) -> Vec<Sample> {
    let (sender, mut receiver) = mpsc::unbounded_channel();
    let mut n = 0u64;
    loop {
        let due = started + Duration::from_secs_f64(n as f64 / rate);
        if due >= until {
            break;
        }
        tokio::time::sleep_until(due).await;
        let (client, request, sender) = (client.clone(), request.clone(), sender.clone());
        tokio::spawn(async move {
            let _ = sender.send(send(&client, request.as_ref(), n, due).await);
        });
        n += 1;
    }
    drop(sender);
    let mut all = Vec::with_capacity(n as usize);
    while let Some(sample) = receiver.recv().await {
        all.push(sample);
    }
    all
}

struct Outcome {
    samples: Vec<Sample>,
    seconds: f64,
}

impl Outcome {
    fn failed(&self) -> usize {
        self.samples.iter().filter(|(_, status)| !(200..300).contains(status)).count()
    }

    /// Prints the row: the latency percentiles are those of the answered (2xx) requests; the
    /// others (refused, failed or unanswered) are counted in the "failed" column.
    fn print(&self, label: &str) {
        let mut millis: Vec<f64> = self
            .samples
            .iter()
            .filter(|(_, status)| (200..300).contains(status))
            .map(|(ms, _)| *ms)
            .collect();
        millis.sort_by(f64::total_cmp);
        let at = |q: f64| {
            let rank = ((millis.len() as f64 * q).ceil() as usize).clamp(1, millis.len().max(1));
            millis.get(rank - 1).copied().unwrap_or(f64::NAN)
        };
        let ok = self.samples.len() - self.failed();
        println!(
            "| {label} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} |",
            self.samples.len(),
            self.failed(),
            ok as f64 / self.seconds,
            at(0.50),
            at(0.99),
            at(0.999),
            millis.last().copied().unwrap_or(f64::NAN),
        );
        let mut statuses = BTreeMap::new();
        for (_, status) in &self.samples {
            *statuses.entry(*status).or_insert(0u64) += 1;
        }
        eprintln!("{label}: statuses {statuses:?} (0 = no answer)");
    }
}
