//! The web UI in a real browser: headless Chromium driven by playwright-core
//! (`tests/browser/ui.mjs`) against `slipway up` serving the demo project.
//! Login, the board and its live updates, a task's findings, a run's
//! waterfall and a span's content, compare, cost, then approve, release and
//! roll back from the browser, checked in git; and a finding whose title is
//! markup shown as text, with no script run. Screenshots go to
//! `target/browser-artifacts/`.
//!
//! Without node, the script's `node_modules` or `/usr/bin/chromium` the test
//! is skipped, unless `CI` is set: then it fails, since `.ci/run` installs them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use slipway_store::StoreLocation;
use slipway_types::{Finding, Severity, StageResult, TaskId};

use super::cli::slipway_in;
use super::up::Up;

const CHROMIUM: &str = "/usr/bin/chromium";
const XSS: &str = "<img src=x onerror=alert(1)>";

/// Returns the workspace's root (crates/slipway-cli/../..).
fn workspace() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .unwrap_or(manifest)
        .to_path_buf()
}

/// Returns what is missing to run the browser tests, if anything.
fn missing(browser: &Path) -> Vec<String> {
    let mut missing = Vec::new();
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !node.is_ok_and(|s| s.success()) {
        missing.push("node (Node.js 20 or later)".to_owned());
    }
    if !browser.join("node_modules/playwright-core").is_dir() {
        missing.push(format!(
            "{} (`npm ci --prefix tests/browser`)",
            browser.join("node_modules").display()
        ));
    }
    if !Path::new(CHROMIUM).exists() {
        missing.push(format!("{CHROMIUM} (Debian's `chromium` package)"));
    }
    missing
}

/// Records a passed code review of task 1 with one low finding whose title is markup.
fn add_markup_finding(dir: &Path) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let location = StoreLocation::Sqlite(dir.join(".slipway/slipway.db"));
        let store = slipway_store::open(&location).await.unwrap();
        let mut result = StageResult::new(TaskId(1), "code_review", true, "one low finding");
        result.findings.push(Finding {
            severity: Severity::Low,
            title: XSS.to_owned(),
            detail: String::new(),
            location: String::new(),
        });
        store.finish_stage(&result, None).await.unwrap();
    });
}

#[test]
fn the_web_ui_works_in_a_browser_and_runs_no_injected_script() {
    let root = workspace();
    let browser = root.join("tests/browser");
    let missing = missing(&browser);
    if !missing.is_empty() {
        let what = missing.join(", ");
        assert!(
            std::env::var_os("CI").is_none(),
            "the browser tests need {what}: .ci/run installs them \
             (`apt-get install -y chromium`, `npm ci --prefix tests/browser`)"
        );
        eprintln!("skipped: the browser tests need {what}");
        return;
    }

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tally");
    slipway_in(tmp.path(), &["demo", "--dir", dir.to_str().unwrap()], &[]).ok();
    add_markup_finding(&dir);
    let server = Up::start(&dir, &["--no-run"]);

    let artifacts = root.join("target/browser-artifacts");
    let _ = std::fs::remove_dir_all(&artifacts);
    std::fs::create_dir_all(&artifacts).unwrap();
    let out = Command::new("node")
        .arg(browser.join("ui.mjs"))
        .env("SLIPWAY_URL", server.url())
        .env("SLIPWAY_TOKEN", &server.token)
        .env("SLIPWAY_PROJECT", &dir)
        .env("SLIPWAY_ARTIFACTS", &artifacts)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdin(Stdio::null())
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser tests failed ({}); screenshots in {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status,
        artifacts.display()
    );
    assert!(
        stdout.contains("no dialog, no page error"),
        "the browser tests did not finish:\n{stdout}\n{stderr}"
    );
    println!("{stdout}");
    drop(server);
}
