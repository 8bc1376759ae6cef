//! The human gates run as work the server owns, one at a time: a gate
//! started by a request goes on to its end when the browser goes away (a
//! closed tab must not stop an approval between its merge and its record, nor
//! leave the promotion lease held by a live process).

use std::sync::{Mutex, PoisonError};

use crate::error::ApiError;

/// The one gate at a time.
#[derive(Default)]
pub(crate) struct Gates {
    turn: std::sync::Arc<tokio::sync::Mutex<()>>,
    running: Mutex<Option<String>>,
}

impl Gates {
    /// Runs `work` (described as `what`, e.g. "approve task 5") on its own
    /// task and returns its result; 409 while another gate runs.
    pub(crate) async fn run<T, F>(
        self: &std::sync::Arc<Self>,
        what: String,
        work: F,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, ApiError>> + Send + 'static,
    {
        let Ok(turn) = std::sync::Arc::clone(&self.turn).try_lock_owned() else {
            let running = self.running().unwrap_or_else(|| "another gate".to_owned());
            return Err(ApiError::conflict(format!(
                "{running} is still running: wait for it, then look again"
            )));
        };
        *self.running.lock().unwrap_or_else(PoisonError::into_inner) = Some(what);
        let label = Clear(std::sync::Arc::clone(self));
        let job = tokio::spawn(async move {
            // Cleared however the work ends, a panic included.
            let _label = label;
            let _turn = turn;
            work.await
        });
        job.await
            .map_err(|e| ApiError::internal(format!("the gate's task failed: {e}")))?
    }

    /// Returns what gate is running, if any.
    #[must_use]
    pub(crate) fn running(&self) -> Option<String> {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until no gate runs.
    pub(crate) async fn wait_idle(&self) {
        drop(self.turn.lock().await);
    }
}

/// Clears the running gate's label when dropped.
struct Clear(std::sync::Arc<Gates>);

impl Drop for Clear {
    fn drop(&mut self) {
        *self
            .0
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }
}
