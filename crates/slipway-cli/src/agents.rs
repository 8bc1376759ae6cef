//! The pipeline's agents as the configuration names them: for each stage's
//! job, the role's model (or one the demo scripts), the role's tools on the
//! task's clone, `run_command` in the sandbox for roles that write, and the
//! same run settings `slipway agent run` uses.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, Result};
use async_trait::async_trait;
use slipway_config::{Config, ModelRef};
use slipway_llm::Provider;
use slipway_pipeline::{AgentJob, Agents, Parts, Pipeline, PipelineError, Progress};
use slipway_policy::{AgentRole, Grant, Ownership};
use slipway_runtime::{Agent, Cancel, Quiet, RunReport, SubAgents, system_prompt};
use slipway_sandbox::{Helper, Sandbox};
use slipway_store::Store;
use slipway_tools::{Commands, ToolBox, Workspace};

use crate::commands::agent::{provider, run_options, secret_values, task_budget};
use crate::project::Project;

/// Runs the pipeline's agents with the project's configuration.
pub(crate) struct ConfiguredAgents {
    config: Arc<Config>,
    /// The project's root: the main repository, which no command may see.
    root: std::path::PathBuf,
    store: Arc<dyn Store>,
    ownership: Arc<Ownership>,
    sandbox: Arc<Sandbox>,
    agents_md: Option<String>,
    /// Providers by role that replace the configured ones (the demo's scripted models).
    scripted: BTreeMap<AgentRole, Arc<dyn Provider>>,
    cancel: Arc<Cancel>,
}

impl ConfiguredAgents {
    fn model(&self, role: AgentRole) -> Result<ModelRef, PipelineError> {
        self.config
            .model_for(&role.to_string())
            .cloned()
            .ok_or_else(|| PipelineError::Other(format!("no model for the {role}: add `{role} = \"provider:model\"` or `default` to [models] in slipway.toml")))
    }

    fn provider(
        &self,
        role: AgentRole,
        model: &ModelRef,
    ) -> Result<Arc<dyn Provider>, PipelineError> {
        if let Some(scripted) = self.scripted.get(&role) {
            return Ok(Arc::clone(scripted));
        }
        provider(&self.config, model).map_err(|e| PipelineError::Other(format!("{e:#}")))
    }

    fn options(
        &self,
        task: Option<slipway_types::TaskId>,
        role: AgentRole,
        model: &ModelRef,
        budget: Option<slipway_runtime::TaskBudget>,
    ) -> slipway_runtime::RunOptions {
        let mut options = run_options(&self.config, task, true, budget, role, model);
        options.secrets = secret_values(&self.config);
        options
    }

    /// Returns the tool box of `job`'s role on its clone.
    fn tools(&self, job: &AgentJob) -> Result<ToolBox, PipelineError> {
        let workspace =
            Workspace::open(&job.workdir).map_err(|e| PipelineError::Other(format!("{e}")))?;
        let mut grant = Grant::new(job.role);
        if job.role.writes_lane() {
            grant = grant
                .with_lane(job.lane.clone())
                .with_seams(job.seams.iter().cloned());
        }
        let mut tools = ToolBox::new(workspace, grant, Arc::clone(&self.ownership));
        if job.role.writes_lane() && self.sandbox.is_isolated() {
            let settings = &self.config.sandbox;
            let template = crate::commands::sandbox::spec_builder(
                settings,
                Vec::new(),
                &job.workdir,
                &self.root,
            )?;
            let limits = crate::commands::sandbox::limits(settings, None);
            tools = tools.with_commands(Commands::new((*self.sandbox).clone(), template, limits));
        }
        Ok(tools)
    }
}

#[async_trait]
impl Agents for ConfiguredAgents {
    async fn run(&self, job: &AgentJob) -> Result<RunReport, PipelineError> {
        let budget = task_budget(self.store.as_ref(), job.task, self.config.budget.task_usd)
            .await
            .map_err(|e| PipelineError::Other(format!("{e:#}")))?;
        self.run_for(job, Some(job.task), budget).await
    }
}

impl ConfiguredAgents {
    /// Runs `job`, counting it toward `task` when there is one; `slipway plan`
    /// runs its planner for no task.
    pub(crate) async fn run_for(
        &self,
        job: &AgentJob,
        task: Option<slipway_types::TaskId>,
        budget: Option<slipway_runtime::TaskBudget>,
    ) -> Result<RunReport, PipelineError> {
        let model = self.model(job.role)?;
        let helper_model = self.model(AgentRole::Explorer)?;
        let helper_workspace =
            Workspace::open(&job.workdir).map_err(|e| PipelineError::Other(format!("{e}")))?;
        let helper = Agent::new(
            self.provider(AgentRole::Explorer, &helper_model)?,
            Arc::new(ToolBox::new(
                helper_workspace,
                Grant::new(AgentRole::Explorer),
                Arc::clone(&self.ownership),
            )),
            Arc::clone(&self.store),
            Arc::new(self.config.prices.clone()),
            system_prompt(AgentRole::Explorer, self.agents_md.as_deref()),
            self.options(task, AgentRole::Explorer, &helper_model, budget),
        );
        let tools = self
            .tools(job)?
            .with_delegate(Arc::new(SubAgents::new(helper, self.agents_md.clone())));
        let agent = Agent::new(
            self.provider(job.role, &model)?,
            Arc::new(tools),
            Arc::clone(&self.store),
            Arc::new(self.config.prices.clone()),
            system_prompt(job.role, self.agents_md.as_deref()),
            self.options(task, job.role, &model, budget),
        );
        Ok(agent.run(&job.prompt, &Quiet, &self.cancel).await?)
    }
}

/// Returns the agents of `project` on `store`.
pub(crate) fn configured(
    project: &Project,
    store: Arc<dyn Store>,
    sandbox: Arc<Sandbox>,
    scripted: BTreeMap<AgentRole, Arc<dyn Provider>>,
    cancel: Arc<Cancel>,
) -> Result<ConfiguredAgents> {
    Ok(ConfiguredAgents {
        config: Arc::new(project.config.clone()),
        root: project.root.clone(),
        store,
        ownership: Arc::new(project.ownership()?),
        sandbox,
        agents_md: std::fs::read_to_string(project.root.join("AGENTS.md")).ok(),
        scripted,
        cancel,
    })
}

/// How the pipeline runs commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Confinement {
    Sandbox,
    /// `--no-sandbox`: commands run as this user; agents get no command tool.
    None,
}

impl Confinement {
    /// Returns how the scheduler's commands run, warning loudly about `--no-sandbox`.
    pub(crate) fn for_scheduler(no_sandbox: bool) -> Self {
        if no_sandbox {
            eprintln!(
                "WARNING: --no-sandbox: the tests run UNCONFINED, as this user, with this machine's files and network; agents get no command tool"
            );
            Self::None
        } else {
            Self::Sandbox
        }
    }
}

/// Builds the pipeline over `project`.
pub(crate) async fn pipeline(
    project: &Project,
    confinement: Confinement,
    actor: String,
    progress: Arc<dyn Progress>,
    scripted: BTreeMap<AgentRole, Arc<dyn Provider>>,
    cancel: Arc<Cancel>,
) -> Result<Pipeline> {
    let store: Arc<dyn Store> = Arc::from(project.store().await?);
    let config = Arc::new(project.config.clone());
    let ownership = Arc::new(project.ownership()?);
    let sandbox = Arc::new(match confinement {
        Confinement::Sandbox => Sandbox::new(Helper::current_exe()?).context(
            "the sandbox cannot start here; run as root, or pass --no-sandbox to run agents' commands and the tests unconfined",
        )?,
        Confinement::None => Sandbox::unsandboxed(),
    });
    let repo = slipway_git::Repo::open(&project.root).await?;
    let agents = Arc::new(configured(
        project,
        Arc::clone(&store),
        Arc::clone(&sandbox),
        scripted,
        cancel,
    )?);
    Ok(Pipeline::new(Parts {
        store,
        repo,
        config,
        ownership,
        sandbox,
        agents,
        progress,
        actor,
    }))
}

/// Prints the pipeline's progress on stderr, one line per step.
pub(crate) struct Printed;

impl Progress for Printed {
    fn note(&self, task: Option<slipway_types::TaskId>, text: &str) {
        match task {
            Some(id) => eprintln!("task {id} · {}", crate::output::clean(text)),
            None => eprintln!("· {}", crate::output::clean(text)),
        }
    }
}
