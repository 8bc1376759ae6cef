//! `slipway guard scan FILE|-`: the injection detector on a file or standard
//! input, the same function that every piece of untrusted text passes.

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use slipway_policy::detect_injection;

use crate::{Outcome, output};

#[derive(Debug, Subcommand)]
pub(crate) enum GuardCommand {
    /// Print likely prompt injections in FILE (or `-` for standard input); exit 1 if any
    Scan {
        /// The file to scan, or `-`
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(cmd: &GuardCommand) -> Result<Outcome> {
    let GuardCommand::Scan { file, json } = cmd;
    let bytes = if file.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("cannot read standard input")?;
        bytes
    } else {
        std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?
    };
    let text = String::from_utf8_lossy(&bytes);
    let found = detect_injection(&text);
    if *json {
        output::json(&found)?;
    } else {
        let rows: Vec<Vec<String>> = found
            .iter()
            .map(|d| {
                let (line, column) = line_and_column(&text, d.offset);
                vec![
                    format!("{line}:{column}"),
                    d.offset.to_string(),
                    d.kind.as_str().to_owned(),
                    d.reason.clone(),
                ]
            })
            .collect();
        if rows.is_empty() {
            println!("clean: no likely injection found");
        } else {
            output::table(&["LINE:COL", "OFFSET", "KIND", "REASON"], &rows)?;
        }
    }
    Ok(if found.is_empty() {
        Outcome::Success
    } else {
        Outcome::Problems
    })
}

/// 1-based line and character column of byte `offset`.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}
