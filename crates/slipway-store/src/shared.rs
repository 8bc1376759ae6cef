//! The one implementation of [`Store`](crate::Store), written once and
//! stamped onto each backend's store type by `impl_store!`.
//!
//! A macro rather than a generic function: sqlx's generic bounds (an
//! `Executor` for every connection lifetime, `Type + Encode + Decode` for
//! every bound or read type) are not implied by a trait, so generic code would
//! repeat them on every function. `impl_store!(Store, Connection)` needs the
//! store type to have `pool` and `location` fields, `begin_write()` (a
//! transaction; SQLite's takes the write lock at once) and
//! `db_err(context, error)` (the backend's own error classification),
//! `write_rows(batch)` (a trace batch written whole, returning its bodies'
//! ids) and `after_trace_write()`, and
//! `Connection` to be the backend's sqlx connection type. The methods on
//! traces live in [`traces`], those on stage results, seams and releases in
//! [`pipeline`], stamped by the same call.

pub(crate) mod pipeline;
pub(crate) mod traces;

macro_rules! impl_store {
    ($store:ty, $connection:ty) => {
        $crate::shared::traces::impl_traces!($store, $connection);
        $crate::shared::pipeline::impl_pipeline!($store, $connection);

        impl $store {
            /// Returns a mapper from a sqlx error to this backend's `StoreError`.
            fn ctx(
                &self,
                context: &'static str,
            ) -> impl Fn(sqlx::Error) -> $crate::StoreError + '_ {
                move |err| self.db_err(context, err)
            }

            async fn read_task(
                &self,
                conn: &mut $connection,
                id: slipway_types::TaskId,
            ) -> Result<slipway_types::Task, $crate::StoreError> {
                let rows = sqlx::query_as::<_, $crate::rows::TaskRow>($crate::sql::TASK)
                    .bind(id.0)
                    .fetch_all(conn)
                    .await
                    .map_err(self.ctx("cannot read the task"))?;
                $crate::rows::tasks(rows)?
                    .pop()
                    .ok_or($crate::StoreError::UnknownTask { id })
            }

            /// Moves a task as `change` asks, within the caller's transaction:
            /// checks `expected_from` and the move, swaps the state (a
            /// compare-and-swap on the state read), appends the event.
            async fn change_state(
                &self,
                conn: &mut $connection,
                id: slipway_types::TaskId,
                change: &$crate::StateChange,
            ) -> Result<(), $crate::StoreError> {
                let read_state = |name: Option<String>| match name {
                    Some(name) => $crate::rows::state(&name, &format!("task {id}")),
                    None => Err($crate::StoreError::UnknownTask { id }),
                };
                let current = sqlx::query_scalar::<_, String>($crate::sql::TASK_STATE)
                    .bind(id.0)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(self.ctx("cannot read the task's state"))?;
                let current = read_state(current)?;
                if let Some(expected) = change.expected_from
                    && expected != current
                {
                    return Err($crate::StoreError::Conflict {
                        id,
                        expected,
                        actual: current,
                    });
                }
                let to = current.transition(change.to)?;
                let at_text = $crate::time::to_text(change.at);
                let swapped = sqlx::query($crate::sql::SWAP_STATE)
                    .bind(to.as_str())
                    .bind(&at_text)
                    .bind(id.0)
                    .bind(current.as_str())
                    .execute(&mut *conn)
                    .await
                    .map_err(self.ctx("cannot update the task's state"))?;
                if swapped.rows_affected() == 0 {
                    // Someone moved the task between our read and our write
                    // (PostgreSQL; on SQLite the write lock is held from the start).
                    let actual = sqlx::query_scalar::<_, String>($crate::sql::TASK_STATE)
                        .bind(id.0)
                        .fetch_optional(&mut *conn)
                        .await
                        .map_err(self.ctx("cannot read the task's state"))?;
                    return Err($crate::StoreError::Conflict {
                        id,
                        expected: current,
                        actual: read_state(actual)?,
                    });
                }
                sqlx::query($crate::sql::INSERT_EVENT)
                    .bind(id.0)
                    .bind(&at_text)
                    .bind(&change.actor)
                    .bind(current.as_str())
                    .bind(to.as_str())
                    .bind(&change.reason)
                    .execute(&mut *conn)
                    .await
                    .map_err(self.ctx("cannot record the event"))?;
                Ok(())
            }

            async fn read_lease(
                &self,
                name: &str,
            ) -> Result<Option<slipway_types::Lease>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::rows::LeaseRow>($crate::sql::LEASE)
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(self.ctx("cannot read the lease"))?
                    .map($crate::rows::lease)
                    .transpose()
            }
        }

        #[async_trait::async_trait]
        impl $crate::Store for $store {
            fn backend(&self) -> $crate::Backend {
                self.location.backend()
            }

            fn location(&self) -> &$crate::StoreLocation {
                &self.location
            }

            async fn schema_version(&self) -> Result<i64, $crate::StoreError> {
                sqlx::query_scalar::<_, i64>($crate::sql::SCHEMA_VERSION)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(self.ctx("cannot read the schema version"))
            }

            async fn create_task(
                &self,
                new: &slipway_types::NewTask,
                actor: &str,
                at: jiff::Timestamp,
            ) -> Result<slipway_types::Task, $crate::StoreError> {
                use slipway_types::TaskState;
                let deps = $crate::rows::dependency_list(&new.depends_on);
                // Tasks are never deleted, so a dependency seen now still exists at commit.
                for dep in &deps {
                    let found = sqlx::query_scalar::<_, i64>($crate::sql::TASK_EXISTS)
                        .bind(dep.0)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(self.ctx("cannot look up a dependency"))?;
                    if found.is_none() {
                        return Err($crate::StoreError::UnknownTask { id: *dep });
                    }
                }
                let at_text = $crate::time::to_text(at);
                let mut tx = self.begin_write().await?;
                let id = sqlx::query_scalar::<_, i64>($crate::sql::INSERT_TASK)
                    .bind(&new.title)
                    .bind(&new.body)
                    .bind(&new.lane)
                    .bind(TaskState::Queued.as_str())
                    .bind(&at_text)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(self.ctx("cannot create the task"))?;
                for dep in &deps {
                    sqlx::query($crate::sql::INSERT_DEPENDENCY)
                        .bind(id)
                        .bind(dep.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(self.ctx("cannot record a dependency"))?;
                }
                sqlx::query($crate::sql::INSERT_EVENT)
                    .bind(id)
                    .bind(&at_text)
                    .bind(actor)
                    .bind(None::<&str>)
                    .bind(TaskState::Queued.as_str())
                    .bind("created")
                    .execute(&mut *tx)
                    .await
                    .map_err(self.ctx("cannot record the task's first event"))?;
                tx.commit()
                    .await
                    .map_err(self.ctx("cannot commit the new task"))?;
                let at = $crate::time::truncate(at);
                Ok(slipway_types::Task {
                    id: slipway_types::TaskId(id),
                    title: new.title.clone(),
                    body: new.body.clone(),
                    lane: new.lane.clone(),
                    state: TaskState::Queued,
                    depends_on: deps,
                    created_at: at,
                    updated_at: at,
                })
            }

            async fn task(
                &self,
                id: slipway_types::TaskId,
            ) -> Result<slipway_types::Task, $crate::StoreError> {
                let mut conn = self
                    .pool
                    .acquire()
                    .await
                    .map_err(self.ctx("cannot read the task"))?;
                self.read_task(&mut conn, id).await
            }

            async fn tasks(
                &self,
                filter: &$crate::TaskFilter,
            ) -> Result<Vec<slipway_types::Task>, $crate::StoreError> {
                let rows = sqlx::query_as::<_, $crate::rows::TaskRow>($crate::sql::TASKS)
                    .bind(filter.state.map(slipway_types::TaskState::as_str))
                    .bind(filter.lane.as_deref())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(self.ctx("cannot list tasks"))?;
                $crate::rows::tasks(rows)
            }

            async fn board(&self, per_cell: u32) -> Result<$crate::Board, $crate::StoreError> {
                let mut conn = self.connection("cannot read the board").await?;
                let cards = sqlx::query_as::<_, $crate::rows::CardRow>($crate::sql::BOARD_CARDS)
                    .bind(i64::from(per_cell))
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(self.ctx("cannot read the board"))?;
                let counts = sqlx::query_as::<_, (String, String, i64)>($crate::sql::BOARD_COUNTS)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(self.ctx("cannot count the board's tasks"))?;
                $crate::rows::board(cards, counts)
            }

            async fn transition(
                &self,
                id: slipway_types::TaskId,
                change: &$crate::StateChange,
            ) -> Result<slipway_types::Task, $crate::StoreError> {
                let mut tx = self.begin_write().await?;
                self.change_state(&mut tx, id, change).await?;
                let task = self.read_task(&mut *tx, id).await?;
                tx.commit()
                    .await
                    .map_err(self.ctx("cannot commit the change of state"))?;
                Ok(task)
            }

            async fn events(
                &self,
                task: Option<slipway_types::TaskId>,
            ) -> Result<Vec<slipway_types::TaskEvent>, $crate::StoreError> {
                let rows = sqlx::query_as::<_, $crate::rows::EventRow>($crate::sql::EVENTS)
                    .bind(task.map(|id| id.0))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(self.ctx("cannot read events"))?;
                match task {
                    // Every task has its creation event.
                    Some(id) if rows.is_empty() => Err($crate::StoreError::UnknownTask { id }),
                    _ => $crate::rows::events(rows),
                }
            }

            async fn events_after(
                &self,
                after: i64,
                limit: u32,
            ) -> Result<Vec<slipway_types::TaskEvent>, $crate::StoreError> {
                let rows = sqlx::query_as::<_, $crate::rows::EventRow>($crate::sql::EVENTS_AFTER)
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(self.ctx("cannot read events"))?;
                $crate::rows::events(rows)
            }

            async fn last_event_id(&self) -> Result<i64, $crate::StoreError> {
                let (id,): (i64,) = sqlx::query_as($crate::sql::LAST_EVENT_ID)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(self.ctx("cannot read events"))?;
                Ok(id)
            }

            async fn acquire_lease(
                &self,
                name: &str,
                holder: &str,
                ttl: std::time::Duration,
                now: jiff::Timestamp,
            ) -> Result<$crate::LeaseGrant, $crate::StoreError> {
                $crate::error::check_lease(name, holder, ttl)?;
                let now = $crate::time::truncate(now);
                let expires = $crate::time::add(now, ttl);
                // Each retry means the lease changed hands between our two
                // statements; a handful is plenty.
                for _ in 0..16 {
                    let taken =
                        sqlx::query_as::<_, $crate::rows::LeaseRow>($crate::sql::ACQUIRE_LEASE)
                            .bind(name)
                            .bind(holder)
                            .bind($crate::time::to_text(now))
                            .bind($crate::time::to_text(expires))
                            .bind(expires.as_microsecond())
                            .bind(now.as_microsecond())
                            .fetch_optional(&self.pool)
                            .await
                            .map_err(self.ctx("cannot take the lease"))?;
                    if let Some(row) = taken {
                        return Ok($crate::LeaseGrant::Acquired($crate::rows::lease(row)?));
                    }
                    // Someone else held it a moment ago: report them, unless it
                    // was released since (or taken under our own name): try again.
                    if let Some(lease) = self.read_lease(name).await?
                        && lease.holder != holder
                    {
                        return Ok($crate::LeaseGrant::HeldBy(lease));
                    }
                }
                Err($crate::StoreError::corrupt_row(
                    format!("lease `{name}`"),
                    "it is neither free nor held by anyone",
                ))
            }

            async fn renew_lease(
                &self,
                name: &str,
                holder: &str,
                ttl: std::time::Duration,
                now: jiff::Timestamp,
            ) -> Result<slipway_types::Lease, $crate::StoreError> {
                $crate::error::check_lease(name, holder, ttl)?;
                let now = $crate::time::truncate(now);
                let expires = $crate::time::add(now, ttl);
                let renewed = sqlx::query_as::<_, $crate::rows::LeaseRow>($crate::sql::RENEW_LEASE)
                    .bind(name)
                    .bind(holder)
                    .bind($crate::time::to_text(expires))
                    .bind(expires.as_microsecond())
                    .bind(now.as_microsecond())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(self.ctx("cannot renew the lease"))?;
                match renewed {
                    Some(row) => $crate::rows::lease(row),
                    None => Err($crate::StoreError::LeaseLost {
                        name: name.to_owned(),
                        holder: holder.to_owned(),
                    }),
                }
            }

            async fn release_lease(
                &self,
                name: &str,
                holder: &str,
            ) -> Result<bool, $crate::StoreError> {
                let released = sqlx::query($crate::sql::RELEASE_LEASE)
                    .bind(name)
                    .bind(holder)
                    .execute(&self.pool)
                    .await
                    .map_err(self.ctx("cannot release the lease"))?;
                Ok(released.rows_affected() > 0)
            }

            async fn lease(
                &self,
                name: &str,
            ) -> Result<Option<slipway_types::Lease>, $crate::StoreError> {
                self.read_lease(name).await
            }

            async fn start_trace(
                &self,
                trace: &slipway_types::Trace,
            ) -> Result<(), $crate::StoreError> {
                self.trace_start(trace).await
            }

            async fn finish_trace(
                &self,
                id: &slipway_types::TraceId,
                end: &$crate::TraceEnd,
            ) -> Result<(), $crate::StoreError> {
                self.trace_finish(id, end).await
            }

            async fn start_span(
                &self,
                span: &slipway_types::Span,
            ) -> Result<(), $crate::StoreError> {
                self.span_start(span).await
            }

            async fn finish_span(
                &self,
                id: &slipway_types::SpanId,
                end: &$crate::SpanEnd,
            ) -> Result<(), $crate::StoreError> {
                self.span_finish(id, end).await
            }

            async fn put_content(
                &self,
                kind: slipway_types::ContentKind,
                body: &str,
            ) -> Result<slipway_types::ContentId, $crate::StoreError> {
                self.content_put(kind, body).await
            }

            async fn write_batch(
                &self,
                batch: &$crate::TraceBatch,
            ) -> Result<Vec<slipway_types::ContentId>, $crate::StoreError> {
                self.batch_write(batch).await
            }

            async fn link_contents(
                &self,
                span: &slipway_types::SpanId,
                direction: slipway_types::ContentDirection,
                contents: &[slipway_types::ContentId],
            ) -> Result<(), $crate::StoreError> {
                self.contents_link(span, direction, contents).await
            }

            async fn traces(
                &self,
                limit: u32,
            ) -> Result<Vec<slipway_types::Trace>, $crate::StoreError> {
                self.traces_newest(limit).await
            }

            async fn task_traces(
                &self,
                id: slipway_types::TaskId,
            ) -> Result<Vec<slipway_types::Trace>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::rows::TraceRow>($crate::sql::TRACES_OF_TASK)
                    .bind(id.0)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(self.ctx("cannot list the task's runs"))?
                    .into_iter()
                    .map($crate::rows::trace)
                    .collect()
            }

            async fn trace(
                &self,
                id: &slipway_types::TraceId,
            ) -> Result<(slipway_types::Trace, Vec<slipway_types::Span>), $crate::StoreError> {
                self.trace_with_spans(id).await
            }

            async fn span_contents(
                &self,
                span: &slipway_types::SpanId,
            ) -> Result<
                Vec<(slipway_types::ContentDirection, slipway_types::ContentRef)>,
                $crate::StoreError,
            > {
                self.contents_of_span(span).await
            }

            async fn cost_by(
                &self,
                group: $crate::CostGroup,
                since: Option<jiff::Timestamp>,
            ) -> Result<Vec<$crate::CostRow>, $crate::StoreError> {
                self.costs(group, since).await
            }

            async fn set_task_seams(
                &self,
                id: slipway_types::TaskId,
                seams: &[String],
            ) -> Result<(), $crate::StoreError> {
                self.seams_set(id, seams).await
            }

            async fn task_seams(
                &self,
                id: slipway_types::TaskId,
            ) -> Result<Vec<String>, $crate::StoreError> {
                self.seams_of(id).await
            }

            async fn finish_stage(
                &self,
                result: &slipway_types::StageResult,
                change: Option<&$crate::StateChange>,
            ) -> Result<slipway_types::StageRecord, $crate::StoreError> {
                self.stage_finish(result, change).await
            }

            async fn stage_results(
                &self,
                id: slipway_types::TaskId,
            ) -> Result<Vec<slipway_types::StageRecord>, $crate::StoreError> {
                self.stage_records_of(id).await
            }

            async fn record_release(
                &self,
                release: &slipway_types::NewRelease,
                at: jiff::Timestamp,
            ) -> Result<slipway_types::Release, $crate::StoreError> {
                self.release_record(release, at).await
            }

            async fn releases(&self) -> Result<Vec<slipway_types::Release>, $crate::StoreError> {
                self.releases_newest().await
            }
        }
    };
}

pub(crate) use impl_store;
