//! Load generator for the login-flood check (benches/login_flood.sh runs it; the results
//! live in docs/benchmarks.md). Measures the latency of `/healthz` and of an authenticated
//! `GET /api/v1/me` with no load, then again while `clients` tasks hammer
//! `POST /api/v1/auth/login` with unknown accounts (credential stuffing: each attempt that
//! gets past the rate limits costs the server one argon2 verification).
//!
//! Usage: login_flood BASE_URL EMAIL PASSWORD [CLIENTS] [SAMPLES]
//! Prints Markdown table rows.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: login_flood BASE_URL EMAIL PASSWORD [CLIENTS] [SAMPLES]");
        std::process::exit(2);
    }
    let base = args[1].trim_end_matches('/').to_owned();
    let clients: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(50);
    let samples: usize = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let probe = reqwest::Client::new();
    let login: Value = probe
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": args[2], "password": args[3]}))
        .send()
        .await
        .expect("the server answers")
        .json()
        .await
        .expect("a JSON login answer");
    let token = login["access_token"].as_str().expect("the demo login works").to_owned();

    let idle_health = measure(&probe, &format!("{base}/healthz"), None, samples).await;
    let idle_me = measure(&probe, &format!("{base}/api/v1/me"), Some(&token), samples).await;

    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(StatusCounts::default());
    let started = Instant::now();
    let flood: Vec<_> = (0..clients)
        .map(|n| {
            let (stop, counts, base) = (stop.clone(), counts.clone(), base.clone());
            tokio::spawn(async move {
                // One connection per client, as 50 separate attackers would have.
                let client = reqwest::Client::new();
                let mut attempt = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    attempt += 1;
                    let body = json!({"email": format!("victim{n}-{attempt}@example.tj"), "password": "hunter2-hunter2"});
                    match client.post(format!("{base}/api/v1/auth/login")).json(&body).send().await {
                        Ok(response) => counts.record(response.status().as_u16()),
                        Err(_) => counts.errors.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    // Let the flood fill the server's queues before sampling.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let flood_health = measure(&probe, &format!("{base}/healthz"), None, samples).await;
    let flood_me = measure(&probe, &format!("{base}/api/v1/me"), Some(&token), samples).await;
    stop.store(true, Ordering::Relaxed);
    for task in flood {
        let _ = task.await;
    }
    let elapsed = started.elapsed().as_secs_f64();

    println!("| request | load | p50 ms | p99 ms | max ms |");
    println!("|---|---|---:|---:|---:|");
    for (name, load, stats) in [
        ("GET /healthz", "none", &idle_health),
        ("GET /api/v1/me", "none", &idle_me),
        ("GET /healthz", "login flood", &flood_health),
        ("GET /api/v1/me", "login flood", &flood_me),
    ] {
        println!("| {name} | {load} | {:.2} | {:.2} | {:.2} |", stats.p50, stats.p99, stats.max);
    }
    let total = counts.total();
    println!();
    println!(
        "Flood: {clients} clients, {total} login attempts in {elapsed:.1} s ({:.0}/s): {} answered 401 \
         (argon2 verified), {} answered 429 (rate limited), {} other, {} connection errors.",
        total as f64 / elapsed,
        counts.unauthorized.load(Ordering::Relaxed),
        counts.limited.load(Ordering::Relaxed),
        counts.other.load(Ordering::Relaxed),
        counts.errors.load(Ordering::Relaxed),
    );
}

#[derive(Default)]
struct StatusCounts {
    unauthorized: AtomicU64,
    limited: AtomicU64,
    other: AtomicU64,
    errors: AtomicU64,
}

impl StatusCounts {
    fn record(&self, status: u16) -> u64 {
        let counter = match status {
            401 => &self.unauthorized,
            429 => &self.limited,
            _ => &self.other,
        };
        counter.fetch_add(1, Ordering::Relaxed)
    }

    fn total(&self) -> u64 {
        [&self.unauthorized, &self.limited, &self.other].iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }
}

struct Stats {
    p50: f64,
    p99: f64,
    max: f64,
}

/// `samples` sequential requests on one keep-alive connection; latencies in milliseconds.
async fn measure(client: &reqwest::Client, url: &str, token: Option<&str>, samples: usize) -> Stats {
    let mut millis = Vec::with_capacity(samples);
    for _ in 0..samples {
        let mut request = client.get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let started = Instant::now();
        let response = request.send().await.expect("the server answers");
        assert!(response.status().is_success(), "{url}: {}", response.status());
        let _ = response.bytes().await;
        millis.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    millis.sort_by(f64::total_cmp);
    let at =
        |q: f64| millis[((millis.len() as f64 * q).ceil() as usize).saturating_sub(1).min(millis.len() - 1)];
    Stats { p50: at(0.50), p99: at(0.99), max: millis[millis.len() - 1] }
}
