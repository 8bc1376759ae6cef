//! Page rendering at scale: the board and a run's waterfall served through
//! the real router (authentication, security headers and all) over a store
//! holding 10,000 tasks and 1,000,000 spans, on SQLite and PostgreSQL.
//! Target: each page under 100 ms at p95.
//!
//! Run with `cargo bench -p slipway-server --bench pages [-- sqlite|postgres]`.
//! Plain `std::time`, no harness. The data comes from the generator beside
//! this file (`pages/generate.rs`, `pages/spans.rs`), written through the
//! `Store` trait; that takes minutes, and progress goes to stderr. For each
//! page it prints p50, p95 and max over the measured requests and the body's
//! size, and beside it the same percentiles of the store call behind the page
//! alone, so what the rest (rendering) costs can be read off.
//!
//! SQLite: a file in a temporary directory, or `$SLIPWAY_BENCH_KEEP/slipway.db`
//! when that variable names a directory: kept afterwards, and measured again
//! without generating when it exists already (delete it after changing the
//! generator). PostgreSQL: a fresh database on the server at
//! `SLIPWAY_BENCH_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), dropped afterwards; when the
//! server cannot be reached, PostgreSQL alone is skipped.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use slipway_server::{AppState, WebConfig};
use slipway_store::{Store, StoreLocation};
use slipway_test_support::{admin_connection, admin_execute, with_database};
use sqlx::Connection;
use tower::ServiceExt as _;

use crate::generate::{BenchResult, LANES, Plan, SPANS, TASKS};
use crate::spans::RUNS;

// Beside the bench, not in `benches/`, where Cargo would take them for benches of their own.
#[path = "pages/generate.rs"]
mod generate;
#[path = "pages/spans.rs"]
mod spans;

/// Requests before measuring, and measured requests, per page.
const WARMUP: usize = 5;
const ITERATIONS: usize = 100;
const TARGET: Duration = Duration::from_millis(100);
const TOKEN: &str = "bench-token";
/// What the board says when it has read every task.
const BOARD_SUMMARY: &str = "<p class=\"summary\">10000 tasks in 20 lanes</p>";

const KEEP_VAR: &str = "SLIPWAY_BENCH_KEEP";
const DATABASE_URL_VAR: &str = "SLIPWAY_BENCH_DATABASE_URL";

/// The nearest-rank percentile `p` (in percent) of sorted samples.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Returns p50, p95 and max.
fn summary(mut times: Vec<Duration>) -> (Duration, Duration, Duration) {
    times.sort();
    (
        percentile(&times, 50),
        percentile(&times, 95),
        times.last().copied().unwrap_or_default(),
    )
}

/// Times `page` and `store` `ITERATIONS` times each, one after the other so
/// that the machine's noise hits both alike, after `WARMUP` calls of each.
async fn time_both<P, PF, S, SF>(
    mut page: P,
    mut store: S,
) -> BenchResult<(Vec<Duration>, Vec<Duration>)>
where
    P: FnMut() -> PF,
    PF: Future<Output = BenchResult<()>>,
    S: FnMut() -> SF,
    SF: Future<Output = BenchResult<()>>,
{
    for _ in 0..WARMUP {
        page().await?;
        store().await?;
    }
    let mut pages = Vec::with_capacity(ITERATIONS);
    let mut stores = Vec::with_capacity(ITERATIONS);
    for _ in 0..ITERATIONS {
        let started = Instant::now();
        page().await?;
        pages.push(started.elapsed());
        let started = Instant::now();
        store().await?;
        stores.push(started.elapsed());
    }
    Ok((pages, stores))
}

/// One page to measure: its path, the store call behind it, and a check of what came back.
struct Page {
    name: String,
    path: String,
    store_call: StoreCall,
    /// A string the body must contain, and how many times.
    expect: (&'static str, usize),
}

enum StoreCall {
    Board,
    Trace(slipway_types::TraceId),
    /// The run, and the bodies of one of its spans.
    SpanContents(slipway_types::TraceId, slipway_types::SpanId),
}

impl StoreCall {
    async fn run(&self, store: &dyn Store) -> BenchResult<()> {
        match self {
            Self::Board => drop(store.board(20).await?),
            Self::Trace(id) => drop(store.trace(id).await?),
            Self::SpanContents(run, span) => {
                drop(store.trace(run).await?);
                drop(store.span_contents(span).await?);
            }
        }
        Ok(())
    }

    fn describe(&self) -> &'static str {
        match self {
            Self::Board => "board(20)",
            Self::Trace(_) => "trace(id)",
            Self::SpanContents(..) => "trace(id) + span_contents(span)",
        }
    }
}

fn pages(plan: &Plan) -> Vec<Page> {
    let typical = plan.typical();
    let largest = plan.largest();
    let run = |pick: &generate::Pick| format!("/runs/{}", pick.id.as_str());
    vec![
        Page {
            name: format!("board ({TASKS} tasks)"),
            path: "/".to_owned(),
            store_call: StoreCall::Board,
            expect: (BOARD_SUMMARY, 1),
        },
        Page {
            name: format!("run ({} spans)", typical.spans),
            path: run(&typical),
            store_call: StoreCall::Trace(typical.id.clone()),
            expect: ("data-testid=\"span\"", typical.spans),
        },
        Page {
            name: format!("run ({} spans), largest", largest.spans),
            path: run(&largest),
            store_call: StoreCall::Trace(largest.id.clone()),
            expect: ("data-testid=\"span\"", largest.spans),
        },
        Page {
            name: format!(
                "run ({} spans) ?span= (last model call, {} bodies)",
                typical.spans, typical.open_links
            ),
            path: format!("{}?span={}", run(&typical), typical.open.as_str()),
            store_call: StoreCall::SpanContents(typical.id.clone(), typical.open.clone()),
            expect: ("data-testid=\"content\"", typical.open_links),
        },
    ]
}

/// Requests `path` through the router and returns the body.
async fn get(router: &axum::Router, path: &str) -> BenchResult<String> {
    let request = Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())?;
    let response = router.clone().oneshot(request).await?;
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    if status != StatusCode::OK {
        return Err(format!("GET {path}: {status}: {}", String::from_utf8_lossy(&body)).into());
    }
    Ok(String::from_utf8(body.to_vec())?)
}

/// Measures every page on `store`; returns true when every p95 is within the target.
async fn measure(backend: &str, store: Arc<dyn Store>, plan: &Plan) -> BenchResult<bool> {
    let router = slipway_server::router(AppState::new(
        Arc::clone(&store),
        None,
        &WebConfig::new(TOKEN.to_owned()),
    ));
    let mut met = true;
    println!("{backend:<10} load average before measuring: {}", load());
    for page in pages(plan) {
        let body = get(&router, &page.path).await?;
        let (needle, count) = page.expect;
        let found = body.matches(needle).count();
        if found != count {
            return Err(format!(
                "{}: {found} × `{needle}` in the page, expected {count}",
                page.name
            )
            .into());
        }
        let bytes = body.len();
        let (times, store_times) = time_both(
            || async {
                std::hint::black_box(get(&router, &page.path).await?);
                Ok(())
            },
            || page.store_call.run(store.as_ref()),
        )
        .await?;
        let (p50, p95, max) = summary(times);
        let (s50, s95, smax) = summary(store_times);
        met &= p95 <= TARGET;
        println!(
            "{backend:<10} {:<52} p50 {:>7.1} ms  p95 {:>7.1} ms  max {:>7.1} ms  body {:>9} bytes",
            page.name,
            ms(p50),
            ms(p95),
            ms(max),
            bytes
        );
        println!(
            "{backend:<10}   {:<50} p50 {:>7.1} ms  p95 {:>7.1} ms  max {:>7.1} ms",
            format!("store: {}", page.store_call.describe()),
            ms(s50),
            ms(s95),
            ms(smax)
        );
    }
    println!("{backend:<10} load average after measuring: {}", load());
    Ok(met)
}

/// Returns the 1, 5 and 15 minute load averages, when the system says them.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "unknown".to_owned(),
        |text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        },
    )
}

fn describe(plan: &Plan) {
    let states: Vec<String> = plan
        .states()
        .iter()
        .map(|(state, n)| format!("{} {n}", state.as_str()))
        .collect();
    let typical = plan.typical();
    let largest = plan.largest();
    println!(
        "data: {TASKS} tasks in {} lanes ({}), {} events, {} releases; {RUNS} runs with {SPANS} \
         spans (typical run {} spans, largest {}); bodies kept for {} runs",
        LANES.len(),
        states.join(", "),
        plan.events,
        plan.releases,
        typical.spans,
        largest.spans,
        plan.captured_runs()
    );
    println!(
        "states: the newest tasks queued; before them one task per lane in a work stage; \
         staged, ready, needs_human and failed drawn from the 1,000 tasks before those; \
         cancelled drawn from all older ones; the rest released, {} at a time; every task \
         created and moved one store call at a time, so each move is an event",
        generate::PER_RELEASE
    );
    let (fewest, median, most) = plan.run_sizes();
    println!("spans per run: fewest {fewest}, median {median}, most {most}");
    println!(
        "runs: an invoke_agent root, chat spans with tokens and cost, 1-3 execute_tool spans \
         after each, now and then a delegate call running a helper agent one level deeper; \
         written {} spans per write_batch",
        generate::BATCH_SPANS
    );
    println!(
        "{ITERATIONS} requests per page after {WARMUP} warm-up requests, one at a time, \
         through the router with a bearer token; the body read whole each time"
    );
}

async fn generate(store: &Arc<dyn Store>, plan: &Plan, backend: &str) -> BenchResult<()> {
    eprintln!("{backend}: generating (this takes minutes)");
    let started = Instant::now();
    plan.write(store).await?;
    println!(
        "{backend:<10} generated in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn sqlite(plan: &Plan) -> BenchResult<bool> {
    let temp = tempfile::tempdir()?;
    let (path, reuse) = match std::env::var_os(KEEP_VAR) {
        Some(dir) => {
            let path = PathBuf::from(dir).join("slipway.db");
            let exists = path.exists();
            (path, exists)
        }
        None => (temp.path().join("slipway.db"), false),
    };
    let store: Arc<dyn Store> =
        Arc::from(slipway_store::open(&StoreLocation::Sqlite(path.clone())).await?);
    if reuse {
        println!(
            "SQLite     reusing {} (delete it to generate again)",
            path.display()
        );
    } else {
        generate(&store, plan, "SQLite").await?;
    }
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    println!("SQLite     database file {:.0} MiB", mib(size));
    measure("SQLite", store, plan).await
}

#[expect(clippy::cast_precision_loss, reason = "a size to print")]
fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

async fn postgres(plan: &Plan) -> BenchResult<Option<bool>> {
    let base = std::env::var(DATABASE_URL_VAR)
        .unwrap_or_else(|_| slipway_test_support::DEFAULT_TEST_DATABASE_URL.to_owned());
    let shown = StoreLocation::Postgres(base.clone()).describe();
    let name = format!("slipway_bench_pages_{}", std::process::id());
    if let Err(err) = admin_execute(&base, &format!("CREATE DATABASE \"{name}\"")).await {
        println!(
            "PostgreSQL skipped: cannot create a database on {shown} ({err}); start the server \
             or set {DATABASE_URL_VAR} to one where this user may create databases"
        );
        return Ok(None);
    }
    let result = async {
        let url = with_database(&base, &name);
        let store: Arc<dyn Store> =
            Arc::from(slipway_store::open(&StoreLocation::Postgres(url.clone())).await?);
        generate(&store, plan, "PostgreSQL").await?;
        let size: i64 = {
            let mut conn = admin_connection(&url).await?;
            let size = sqlx::query_scalar("SELECT pg_database_size(current_database())")
                .fetch_one(&mut conn)
                .await?;
            conn.close().await?;
            size
        };
        println!(
            "PostgreSQL database size {:.0} MiB",
            mib(u64::try_from(size).unwrap_or(0))
        );
        let met = measure("PostgreSQL", Arc::clone(&store), plan).await;
        drop(store);
        met
    }
    .await;
    if let Err(err) = admin_execute(
        &base,
        &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
    )
    .await
    {
        eprintln!("warning: cannot drop the bench database {name} on {shown}: {err}");
    }
    result.map(Some)
}

fn main() -> BenchResult<()> {
    // `cargo bench` passes `--bench`; anything else names the backends to run.
    let chosen: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    for arg in &chosen {
        if arg != "sqlite" && arg != "postgres" {
            return Err(format!("unknown backend `{arg}`: use `sqlite` or `postgres`").into());
        }
    }
    let wants = |backend: &str| chosen.is_empty() || chosen.iter().any(|a| a == backend);
    // The server's runtime: `slipway up` runs on worker threads.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let plan = Plan::new();
    describe(&plan);
    let mut results = BTreeMap::new();
    if wants("sqlite") {
        results.insert("SQLite", runtime.block_on(sqlite(&plan))?);
    }
    if wants("postgres")
        && let Some(met) = runtime.block_on(postgres(&plan))?
    {
        results.insert("PostgreSQL", met);
    }
    for (backend, met) in results {
        println!(
            "target: every page under {TARGET:?} at p95 on {backend}: {}",
            if met { "met" } else { "NOT met" }
        );
    }
    Ok(())
}
