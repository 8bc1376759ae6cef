//! Speed of the MECE check on a monorepo-shaped tree: 100,000 tracked paths,
//! 20 lanes and a handful of seams. Target: `check` under 1 s.
//!
//! Run with `cargo bench -p slipway-policy --bench lanes`. Plain `std::time`,
//! no harness: it prints min, median and p95 over the iterations.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::hint::black_box;
use std::time::{Duration, Instant};

use slipway_policy::{LaneSpec, Ownership};

const PATHS: usize = 100_000;
const ITERATIONS: usize = 10;

/// A small deterministic generator (xorshift64*), so every run checks the same tree.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let wide = u128::from(self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)) * n as u128;
        usize::try_from(wide >> 64).unwrap_or(0)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Returns `PATHS` distinct paths: Rust crates, web packages, Go services,
/// docs, tools and the odd root file, several directories deep.
fn monorepo() -> Vec<String> {
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let modules = ["core", "api", "db", "auth", "util", "net", "io", "cli"];
    let components = ["button", "form", "table", "modal", "nav", "chart"];
    let layers = [
        "cmd",
        "internal/store",
        "internal/http",
        "pkg/client",
        "api",
    ];
    let sections = ["guide", "reference", "adr", "howto"];
    let mut paths: Vec<String> = [
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "Makefile",
        "go.work",
        "slipway.toml",
        "AGENTS.md",
        ".github/workflows/ci.yml",
    ]
    .iter()
    .map(|&p| p.to_owned())
    .collect();
    let mut n = 0usize;
    while paths.len() < PATHS {
        n += 1;
        let path = match rng.below(20) {
            0..=7 => {
                let krate = rng.below(40);
                match rng.below(12) {
                    0 => format!("crates/c{krate:02}/Cargo.toml{n}"),
                    1 => format!("crates/c{krate:02}/tests/suite/t{n}.rs"),
                    2 => format!("crates/c{krate:02}/benches/b{n}.rs"),
                    _ => {
                        let (a, b) = (rng.pick(&modules), rng.pick(&modules));
                        format!("crates/c{krate:02}/src/{a}/{b}/f{n}.rs")
                    }
                }
            }
            8..=13 => {
                let pkg = rng.below(30);
                let component = rng.pick(&components);
                let ext = rng.pick(&["tsx", "ts", "css", "test.tsx", "snap"]);
                match rng.below(15) {
                    0 => format!("web/packages/p{pkg:02}/package.json{n}"),
                    _ => format!("web/packages/p{pkg:02}/src/components/{component}/f{n}.{ext}"),
                }
            }
            14..=16 => {
                let service = rng.below(20);
                let layer = rng.pick(&layers);
                let ext = rng.pick(&["go", "go", "go", "proto", "yaml"]);
                format!("services/s{service:02}/{layer}/f{n}.{ext}")
            }
            17 => format!("docs/{}/page{n}.md", rng.pick(&sections)),
            18 => format!(
                "tools/{}/script{n}.py",
                rng.pick(&["release", "lint", "gen"])
            ),
            _ => format!("schema/v{}/table{n}.sql", rng.below(4)),
        };
        paths.push(path);
    }
    paths
}

/// Twenty lanes that partition the tree, with ranges, `**` and negations.
fn lanes() -> (Vec<LaneSpec>, Vec<String>) {
    let mut lanes = Vec::new();
    let mut lane = |name: String, owns: &[String]| {
        lanes.push(LaneSpec {
            name,
            owns: owns.to_vec(),
        });
    };
    for group in 0..8 {
        let (tens, low) = (group / 2, group % 2 == 0);
        let range = if low { "[0-4]" } else { "[5-9]" };
        lane(
            format!("crates-{group}"),
            &[
                format!("/crates/c{tens}{range}/"),
                format!("!/crates/c{tens}{range}/benches/"),
            ],
        );
    }
    for group in 0..6 {
        let (tens, low) = (group / 2, group % 2 == 0);
        let range = if low { "[0-4]" } else { "[5-9]" };
        lane(
            format!("web-{group}"),
            &[
                format!("web/packages/p{tens}{range}/src/**"),
                format!("web/packages/p{tens}{range}/package.json*"),
            ],
        );
    }
    for group in 0..4 {
        lane(
            format!("services-{group}"),
            &[format!(
                "services/s{}[{}-{}]/**",
                group / 2,
                (group % 2) * 5,
                (group % 2) * 5 + 4
            )],
        );
    }
    lane(
        "docs".to_owned(),
        &[
            "/docs/".to_owned(),
            "/README.md".to_owned(),
            "*.adr.md".to_owned(),
        ],
    );
    lane(
        "tools".to_owned(),
        &[
            "tools/".to_owned(),
            "/Makefile".to_owned(),
            ".github/".to_owned(),
            "**/benches/*.rs".to_owned(),
        ],
    );
    let seams = [
        "Cargo.toml",
        "/Cargo.lock",
        "go.work",
        "*.proto",
        "/schema/",
        "*.snap",
    ]
    .iter()
    .map(|&s| s.to_owned())
    .collect();
    (lanes, seams)
}

#[expect(clippy::cast_precision_loss, reason = "path counts are far below 2^52")]
fn summarize(label: &str, mut times: Vec<Duration>, paths: Option<usize>) {
    times.sort();
    let min = times[0];
    let median = times[times.len() / 2];
    let p95 = times[(times.len() * 95).div_ceil(100) - 1];
    let per_path = paths.map_or_else(String::new, |paths| {
        format!(
            "  ({:.0} ns per path)",
            median.as_secs_f64() * 1e9 / paths as f64
        )
    });
    println!("{label:<20} min {min:>10.2?}  median {median:>10.2?}  p95 {p95:>10.2?}{per_path}");
}

fn main() {
    let paths = monorepo();
    let (lanes, seams) = lanes();
    let globs: usize = lanes.iter().map(|l| l.owns.len()).sum::<usize>() + seams.len();
    println!(
        "{} paths, {} lanes, {globs} globs (seams included), {ITERATIONS} iterations",
        paths.len(),
        lanes.len()
    );

    let mut build = Vec::new();
    let mut check = Vec::new();
    let mut owner = Vec::new();
    let mut last = None;
    for _ in 0..ITERATIONS {
        let start = Instant::now();
        let ownership = match Ownership::new(black_box(&lanes), black_box(&seams)) {
            Ok(ownership) => ownership,
            Err(err) => {
                eprintln!("the benchmark's lanes do not compile: {err}");
                std::process::exit(1);
            }
        };
        build.push(start.elapsed());

        let start = Instant::now();
        let report = ownership.check(black_box(paths.iter().map(String::as_str)));
        check.push(start.elapsed());

        let start = Instant::now();
        for path in &paths {
            black_box(ownership.owner(black_box(path)));
        }
        owner.push(start.elapsed());
        last = Some(report);
    }
    summarize("Ownership::new", build, None);
    summarize("check", check, Some(paths.len()));
    summarize("owner() on each", owner, Some(paths.len()));
    if let Some(report) = last {
        println!(
            "report: mece={} overlaps={} orphans={} unmatched={} checked={}",
            report.is_mece(),
            report.overlaps.len(),
            report.orphans.len(),
            report.unmatched.len(),
            report.checked
        );
    }
}
