//! `slipway up`: the whole product in one process. The web UI and JSON API
//! (slipway-server), and the scheduler `slipway run` would be, side by side.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use slipway_pipeline::{PipelineError, RunSettings};
use slipway_runtime::Cancel;
use slipway_server::{AppState, WebConfig};

use crate::Outcome;
use crate::agents::{Confinement, Printed, pipeline};
use crate::commands::GlobalArgs;
use crate::project::{Project, actor};

const UP_HELP: &str = "\
Open the printed address and log in with the printed token (it is in .slipway/token, mode 0600).
Scripts call the API with `Authorization: Bearer TOKEN`; its OpenAPI document is at
/api/v1/openapi.json. Ctrl-C stops the server and the scheduler: stages in flight resume at the
next start.";

/// How long the scheduler waits before trying again for a lease another process holds.
const LEASE_RETRY: Duration = Duration::from_secs(30);

#[derive(Debug, Args)]
#[command(after_help = UP_HELP)]
pub(crate) struct UpArgs {
    /// Listen on this address and port (port 0: any free port)
    #[arg(long, default_value = "127.0.0.1:7777", value_name = "ADDR:PORT")]
    listen: SocketAddr,
    /// Work on up to N tasks at once
    #[arg(long, default_value_t = 4, value_name = "N")]
    agents: usize,
    /// Serve only: run no scheduler in this process
    #[arg(long)]
    no_run: bool,
    /// Run the tests and the agents' commands WITHOUT the sandbox, as this user (when it cannot start here)
    #[arg(long)]
    no_sandbox: bool,
    /// Listen on an address other machines can reach (plain HTTP: put a TLS proxy in front)
    #[arg(long)]
    allow_remote: bool,
}

pub(crate) async fn run(args: &UpArgs, global: &GlobalArgs) -> Result<Outcome> {
    let project = Project::open(global)?;
    if args.agents == 0 {
        bail!("--agents must be at least 1");
    }
    let loopback = args.listen.ip().is_loopback();
    let token = token_for(args, &project.root)?;
    let confinement = Confinement::for_scheduler(args.no_sandbox);
    let cancel = Arc::new(Cancel::default());
    // The gates act for the person at the browser; the scheduler for itself.
    // Each has its own store connections, so a busy page never starves the
    // scheduler's lease heartbeat.
    let gates = pipeline(
        &project,
        confinement,
        format!("{}@web", actor(&project.root)),
        Arc::new(Printed),
        BTreeMap::new(),
        Arc::clone(&cancel),
    )
    .await?;
    let store = Arc::from(project.store().await?);
    let mut config = WebConfig::new(token.clone());
    config.loopback = loopback;
    let state = AppState::new(store, Some(Arc::new(gates)), &config);

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}: is another `slipway up` running there? pass --listen ADDR:PORT", args.listen))?;
    let addr = listener.local_addr()?;
    println!("Slipway is up at http://{addr}/");
    if loopback {
        println!(
            "log in with the token {token} (it is in {})",
            slipway_server::TOKEN_FILE
        );
    } else {
        // What a server others reach prints often ends up in shared logs.
        println!("log in with the token in {}", slipway_server::TOKEN_FILE);
    }

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let scheduler = if args.no_run {
        state.set_scheduler_status("not run by this server (--no-run)");
        None
    } else {
        let scheduler = pipeline(
            &project,
            confinement,
            "scheduler".to_owned(),
            Arc::new(Printed),
            BTreeMap::new(),
            Arc::clone(&cancel),
        )
        .await
        .context("the scheduler cannot start (or pass --no-run to serve only)")?;
        let state = state.clone();
        let settings = RunSettings {
            agents: args.agents,
            until_idle: false,
            holder: slipway_pipeline::holder_name("scheduler"),
        };
        Some(tokio::spawn(async move {
            schedule(Arc::new(scheduler), &settings, &state, stop_rx).await;
        }))
    };

    let shutdown = {
        let cancel = Arc::clone(&cancel);
        async move {
            let _ = tokio::signal::ctrl_c().await;
            eprintln!(
                "· stopping: the stages in flight are cancelled and resume at the next start"
            );
            cancel.cancel();
            let _ = stop_tx.send(true);
        }
    };
    slipway_server::serve(listener, state, shutdown)
        .await
        .context("the server stopped")?;
    if let Some(scheduler) = scheduler {
        let _ = scheduler.await;
    }
    Ok(Outcome::Success)
}

/// Returns the token the server asks for: made when missing on loopback,
/// required (with `--allow-remote`) on an address other machines reach.
fn token_for(args: &UpArgs, root: &std::path::Path) -> Result<String> {
    if args.listen.ip().is_loopback() {
        let (token, made) = slipway_server::ensure_token(root)?;
        if made {
            eprintln!("made the access token {}", slipway_server::TOKEN_FILE);
        }
        return Ok(token);
    }
    if !args.allow_remote {
        bail!(
            "{} can be reached from other machines, over plain HTTP: pass --allow-remote to mean it (and put a TLS proxy in front), or listen on 127.0.0.1",
            args.listen
        );
    }
    slipway_server::read_token(root)?.with_context(|| {
        format!(
            "listening on {} needs a token, and there is none: run `slipway init` to make {}",
            args.listen,
            slipway_server::TOKEN_FILE
        )
    })
}

/// Runs the scheduler until `stop`, waiting while another process holds its
/// lease; says what it is doing on every page.
async fn schedule(
    pipeline: Arc<slipway_pipeline::Pipeline>,
    settings: &RunSettings,
    state: &AppState,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        state.set_scheduler_status("running");
        match pipeline.run(settings, stop.clone()).await {
            Ok(_) => {
                state.set_scheduler_status("stopped");
                return;
            }
            Err(PipelineError::SchedulerBusy { holder, until }) => {
                state.set_scheduler_status(format!(
                    "waiting: another scheduler ({holder}) holds this project until {until}"
                ));
                tokio::select! {
                    () = tokio::time::sleep(LEASE_RETRY) => {}
                    _ = stop.changed() => return,
                }
            }
            Err(e) => {
                eprintln!("the scheduler stopped: {e}");
                state.set_scheduler_status(format!("stopped: {e}"));
                return;
            }
        }
    }
}
