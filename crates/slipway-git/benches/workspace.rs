//! Speed of making a task's workspace (`Repo::create_workspace`: a
//! `--shared` clone and the checkout of its branch) in a repository of
//! 2,000 small files in nested directories, one commit.
//!
//! Run with `cargo bench -p slipway-git --bench workspace`. Plain
//! `std::time`, no harness: it prints the median and p95 over the runs.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark")]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use slipway_git::{Identity, Repo};
use slipway_test_support::TempRepo;

const FILES: usize = 2_000;
const RUNS: usize = 20;

/// Writes `FILES` files shaped like a small service: sources, tests and
/// docs a few directories deep, each a few hundred bytes to a few KiB.
fn fill(repo: &TempRepo) {
    let areas = ["src", "tests", "docs", "web/src", "tools"];
    let modules = ["core", "api", "db", "auth", "util", "net", "io", "cli"];
    for i in 0..FILES {
        let area = areas[i % areas.len()];
        let module = modules[(i / areas.len()) % modules.len()];
        let group = i % 7;
        let path = format!("{area}/{module}/g{group}/file_{i:04}.rs");
        let mut text = format!("//! Module {i} of {module}.\n\n");
        for line in 0..(8 + i % 60) {
            let _ = writeln!(
                text,
                "pub fn f_{i}_{line}(x: u64) -> u64 {{ x.wrapping_mul({line}) + {i} }}"
            );
        }
        repo.write(&path, &text);
    }
    repo.write("README.md", "# bench\n");
    repo.commit("2,000 files");
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let i = (sorted.len() * p).div_ceil(100).saturating_sub(1);
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let source = TempRepo::new();
    let started = Instant::now();
    fill(&source);
    println!("made a {FILES}-file repository in {:?}", started.elapsed());

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let work = tempfile::tempdir().expect("a temporary directory");
    let identity = Identity {
        name: "Bench".into(),
        email: "bench@slipway.invalid".into(),
    };
    let mut times = runtime.block_on(async {
        let repo = Repo::open(source.path()).await.expect("open");
        let base = repo.resolve("HEAD").await.expect("resolve").expect("HEAD");
        let mut times = Vec::with_capacity(RUNS);
        let mut baseline = Vec::with_capacity(RUNS);
        for run in 0..RUNS {
            let dir = work.path().join(format!("w{run}"));
            let started = Instant::now();
            repo.create_workspace(&dir, &format!("slipway/{run}"), &base, &identity, &[])
                .await
                .expect("create_workspace");
            times.push(started.elapsed());
            assert!(dir.join("README.md").is_file());
            // Beside it, in the same run: a plain `git clone --shared` with its
            // checkout, which copies no object, as the floor for 2,000 files.
            let plain = work.path().join(format!("p{run}"));
            let started = Instant::now();
            let status = std::process::Command::new("git")
                .args(["clone", "-q", "--shared"])
                .arg(source.path())
                .arg(&plain)
                .status()
                .expect("git clone");
            assert!(status.success());
            baseline.push(started.elapsed());
        }
        baseline.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "git clone --shared, same runs: min {:.1} ms, median {:.1} ms, p95 {:.1} ms",
            ms(baseline[0]),
            ms(percentile(&baseline, 50)),
            ms(percentile(&baseline, 95)),
        );
        times
    });
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "create_workspace ({FILES} files, {RUNS} runs): min {:.1} ms, median {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        ms(times[0]),
        ms(percentile(&times, 50)),
        ms(percentile(&times, 95)),
        ms(times[RUNS - 1]),
    );
}
