//! Sandbox start cost: `true` run in the full sandbox (namespaces, mounts,
//! Landlock, limits, user switch), beside the same command spawned directly,
//! one after the other in one process so both see the same machine.
//!
//! `cargo bench -p slipway-sandbox --bench start` (as root). Prints the
//! median, p95 and max of each and the ratio of the medians.
#![allow(clippy::unwrap_used, reason = "a benchmark stops at its first failure")]

use std::time::{Duration, Instant};

use slipway_sandbox::{DEFAULT_USER, Helper, Sandbox, SpecBuilder, User, hand_over};

const RUNS: usize = 300;

/// The nearest-rank percentile `p` (in percent) of sorted samples.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let clone = tempfile::tempdir().unwrap();
    let user = User::lookup(DEFAULT_USER).unwrap();
    hand_over(clone.path(), &user).unwrap();
    let spec = SpecBuilder::new(vec!["true".into()], clone.path(), user)
        .build()
        .unwrap();
    let sandbox = Sandbox::new(Helper::new(env!("CARGO_BIN_EXE_slipway-sandbox-helper"))).unwrap();
    let direct = Sandbox::unsandboxed();
    let mut sandboxed = Vec::with_capacity(RUNS);
    let mut plain = Vec::with_capacity(RUNS);
    runtime.block_on(async {
        for _ in 0..10 {
            assert!(sandbox.run(&spec).await.unwrap().exit.success());
        }
        for _ in 0..RUNS {
            let started = Instant::now();
            let out = sandbox.run(&spec).await.unwrap();
            sandboxed.push(started.elapsed());
            assert!(out.exit.success() && out.landlock == "full");
            let started = Instant::now();
            assert!(direct.run(&spec).await.unwrap().exit.success());
            plain.push(started.elapsed());
        }
    });
    sandboxed.sort();
    plain.sort();
    for (name, times) in [("sandboxed", &sandboxed), ("direct", &plain)] {
        println!(
            "{name:<10} runs {RUNS}  median {:.2} ms  p95 {:.2} ms  max {:.2} ms",
            ms(percentile(times, 50)),
            ms(percentile(times, 95)),
            ms(times[times.len() - 1])
        );
    }
    println!(
        "sandboxed / direct, median: {:.1}x",
        ms(percentile(&sandboxed, 50)) / ms(percentile(&plain, 50))
    );
}
