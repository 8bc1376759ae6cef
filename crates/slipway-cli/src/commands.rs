//! The subcommands, one per file, and the arguments every command shares.

pub(crate) mod agent;
mod config;
mod context;
mod cost;
mod demo;
mod guard;
mod init;
mod lanes;
mod log;
mod plan;
mod promote;
pub(crate) mod run;
pub(crate) mod sandbox;
mod status;
mod task;
pub(crate) mod trace;
mod up;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use crate::Outcome;

/// The help heading of the options every command takes, listed after its own.
const GLOBAL: &str = "Global options";

/// Arguments every command takes.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Run as if started in DIR
    #[arg(
        short = 'C',
        long = "project",
        value_name = "DIR",
        global = true,
        help_heading = GLOBAL
    )]
    pub(crate) project: Option<PathBuf>,
    /// PostgreSQL URL of the store, instead of SQLite in .slipway/slipway.db
    #[arg(
        long,
        value_name = "URL",
        env = "SLIPWAY_DATABASE_URL",
        global = true,
        hide_env_values = true,
        help_heading = GLOBAL
    )]
    pub(crate) database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Set up Slipway in the current git repository
    Init(init::InitArgs),
    /// Show the resolved configuration
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Check and query lane ownership
    #[command(subcommand)]
    Lanes(lanes::LanesCommand),
    /// Add, list, show and cancel tasks
    #[command(subcommand)]
    Task(task::TaskCommand),
    /// Print the task event log
    Log(log::LogArgs),
    /// Run an agent on this repository
    #[command(subcommand)]
    Agent(agent::AgentCommand),
    /// List and show traced runs
    #[command(subcommand)]
    Trace(trace::TraceCommand),
    /// Show spend by model, role, task or day
    Cost(cost::CostArgs),
    /// Run a command as an agent would, in the sandbox, and explain its rules
    #[command(subcommand)]
    Sandbox(sandbox::SandboxCommand),
    /// Scan text for likely prompt injections
    #[command(subcommand)]
    Guard(guard::GuardCommand),
    /// Have a planner split a spec into tasks, each in one lane; confirm, and they are created
    Plan(plan::PlanArgs),
    /// Run the pipeline: tasks through their stages, several agents at once
    Run(run::RunArgs),
    /// Merge a ready task's reviewed commit into staging, if its tests pass there
    Approve(promote::ApproveArgs),
    /// Send a ready task back to coding, with the reason
    Reject(promote::RejectArgs),
    /// Fast-forward production to staging and tag it release-N
    Release(promote::ReleaseArgs),
    /// Move production back to an earlier release (staging stays)
    Rollback(promote::RollbackArgs),
    /// List releases and rollbacks with their tasks
    Releases(promote::ReleasesArgs),
    /// Show tasks by lane and state, what waits on a person, spend and releases
    Status(status::StatusArgs),
    /// Keep AGENTS.md's State section true from the database
    #[command(subcommand)]
    Context(context::ContextCommand),
    /// Serve the web UI and JSON API, and run the scheduler beside them
    Up(up::UpArgs),
    /// Tour Slipway on a sample project it creates (no key, no network)
    Demo(demo::DemoArgs),
}

/// Runs `command`.
pub(crate) fn run(command: Command, global: &GlobalArgs) -> Result<Outcome> {
    match command {
        Command::Init(args) => block_on(init::run(&args, global)),
        Command::Config(cmd) => config::run(&cmd, global),
        Command::Lanes(cmd) => lanes::run(&cmd, global),
        Command::Task(cmd) => block_on(task::run(cmd, global)),
        Command::Log(args) => block_on(log::run(&args, global)),
        Command::Demo(args) => demo::run(&args, global),
        Command::Up(args) => block_on_threads(up::run(&args, global)),
        Command::Agent(cmd) => block_on(agent::run(cmd, global)),
        Command::Trace(cmd) => block_on(trace::run(cmd, global)),
        Command::Cost(args) => block_on(cost::run(&args, global)),
        Command::Sandbox(cmd) => block_on(sandbox::run(cmd, global)),
        Command::Guard(cmd) => guard::run(&cmd),
        Command::Plan(args) => block_on(plan::run(&args, global)),
        Command::Run(args) => block_on_threads(run::run(&args, global)),
        Command::Approve(args) => block_on(promote::approve(&args, global)),
        Command::Reject(args) => block_on(promote::reject(&args, global)),
        Command::Release(args) => block_on(promote::release(&args, global)),
        Command::Rollback(args) => block_on(promote::rollback(&args, global)),
        Command::Releases(args) => block_on(promote::releases(&args, global)),
        Command::Status(args) => block_on(status::run(&args, global)),
        Command::Context(cmd) => block_on(context::run(&cmd, global)),
    }
}

/// Runs `future` on a runtime with worker threads, for work that runs tasks side by side.
pub(crate) fn block_on_threads<F: Future<Output = Result<Outcome>>>(future: F) -> Result<Outcome> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(future)
}

pub(crate) fn block_on<F: Future<Output = Result<Outcome>>>(future: F) -> Result<Outcome> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(future)
}
