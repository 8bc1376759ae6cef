//! `slipway config show`: the resolved configuration, defaults filled in.

use anyhow::Result;
use clap::Subcommand;
use serde_json::json;

use crate::commands::GlobalArgs;
use crate::project::{Project, store_location};
use crate::{Outcome, output};

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Print the resolved configuration with defaults filled in
    Show {
        /// Print JSON instead of TOML
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(cmd: &ConfigCommand, global: &GlobalArgs) -> Result<Outcome> {
    let ConfigCommand::Show { json } = cmd;
    let project = Project::open(global)?;
    let store = store_location(&project.root, global).describe();
    let env: Vec<_> = slipway_config::ENV_VARS
        .iter()
        .map(|var| {
            let set = std::env::var_os(var.name).is_some_and(|v| !v.is_empty());
            (var.name, set, var.what)
        })
        .collect();
    if *json {
        let env: serde_json::Map<String, serde_json::Value> = env
            .iter()
            .map(|(name, set, _)| ((*name).to_owned(), json!(set)))
            .collect();
        output::json(&json!({
            "file": project.config.file(),
            "store": store,
            "config": project.config,
            "environment": env,
        }))?;
        return Ok(Outcome::Success);
    }
    output::line(format!(
        "# {} (resolved, defaults filled in)",
        project.config.file().display()
    ))?;
    output::line(format!("# store: {store}"))?;
    for (name, set, what) in env {
        let state = if set { "set" } else { "not set" };
        output::line(format!("# {name}: {state} ({what})"))?;
    }
    if project.config.gates.tests.trim().is_empty() {
        output::line("# warning: [gates] tests is empty: set the command that runs your tests")?;
    }
    output::line("")?;
    output::line(project.config.to_toml().trim_end())?;
    Ok(Outcome::Success)
}
