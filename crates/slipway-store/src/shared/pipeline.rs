//! The pipeline half of the one [`Store`](crate::Store) implementation: the
//! seams of a task, stage results with their findings, and releases, stamped
//! onto each backend by `impl_pipeline!` as inherent methods that the trait's
//! methods call (see the parent module for why a macro).

macro_rules! impl_pipeline {
    ($store:ty, $connection:ty) => {
        impl $store {
            /// Returns `UnknownTask` unless the task exists.
            async fn require_task(
                &self,
                conn: &mut $connection,
                id: slipway_types::TaskId,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query_scalar::<_, i64>($crate::sql::TASK_EXISTS)
                    .bind(id.0)
                    .fetch_optional(conn)
                    .await
                    .map_err(self.ctx("cannot look up the task"))?
                    .map(|_| ())
                    .ok_or($crate::StoreError::UnknownTask { id })
            }

            async fn seams_set(
                &self,
                id: slipway_types::TaskId,
                seams: &[String],
            ) -> Result<(), $crate::StoreError> {
                let seams = $crate::pipeline::seam_list(seams);
                let mut tx = self.begin_write().await?;
                self.require_task(&mut tx, id).await?;
                sqlx::query($crate::sql::DELETE_TASK_SEAMS)
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(self.ctx("cannot replace the task's seams"))?;
                for seam in &seams {
                    sqlx::query($crate::sql::INSERT_TASK_SEAM)
                        .bind(id.0)
                        .bind(seam)
                        .execute(&mut *tx)
                        .await
                        .map_err(self.ctx("cannot record a seam of the task"))?;
                }
                tx.commit()
                    .await
                    .map_err(self.ctx("cannot commit the task's seams"))
            }

            async fn seams_of(
                &self,
                id: slipway_types::TaskId,
            ) -> Result<Vec<String>, $crate::StoreError> {
                let mut conn = self.connection("cannot read the task's seams").await?;
                self.require_task(&mut conn, id).await?;
                let mut seams = sqlx::query_scalar::<_, String>($crate::sql::TASK_SEAMS)
                    .bind(id.0)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(self.ctx("cannot read the task's seams"))?;
                seams.sort_unstable();
                Ok(seams)
            }

            async fn stage_finish(
                &self,
                result: &slipway_types::StageResult,
                change: Option<&$crate::StateChange>,
            ) -> Result<slipway_types::StageRecord, $crate::StoreError> {
                let id = result.task_id;
                let at = $crate::time::truncate(change.map_or_else(jiff::Timestamp::now, |c| c.at));
                let stored = $crate::pipeline::stored_result(result);
                let [tests_passed, tests_failed, tests_skipped] =
                    $crate::pipeline::test_columns(stored.tests);
                let mut tx = self.begin_write().await?;
                match change {
                    Some(change) => self.change_state(&mut tx, id, change).await?,
                    None => self.require_task(&mut tx, id).await?,
                }
                let result_id = sqlx::query_scalar::<_, i64>($crate::sql::INSERT_STAGE_RESULT)
                    .bind(id.0)
                    .bind($crate::time::to_text(at))
                    .bind(&stored.stage)
                    .bind(stored.passed)
                    .bind(&stored.summary)
                    .bind(&stored.body)
                    .bind(stored.sha.as_deref())
                    .bind(stored.trace_id.as_ref().map(slipway_types::TraceId::as_str))
                    .bind(tests_passed)
                    .bind(tests_failed)
                    .bind(tests_skipped)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(self.ctx("cannot record the stage result"))?;
                // One statement each, in order: ids rise in the order given.
                for finding in &stored.findings {
                    sqlx::query($crate::sql::INSERT_FINDING)
                        .bind(result_id)
                        .bind(id.0)
                        .bind(finding.severity.as_str())
                        .bind(&finding.title)
                        .bind(&finding.detail)
                        .bind(&finding.location)
                        .execute(&mut *tx)
                        .await
                        .map_err(self.ctx("cannot record a finding"))?;
                }
                tx.commit()
                    .await
                    .map_err(self.ctx("cannot commit the stage result"))?;
                Ok(slipway_types::StageRecord {
                    id: result_id,
                    at,
                    result: stored,
                })
            }

            async fn stage_records_of(
                &self,
                id: slipway_types::TaskId,
            ) -> Result<Vec<slipway_types::StageRecord>, $crate::StoreError> {
                let mut conn = self.connection("cannot read the stage results").await?;
                self.require_task(&mut conn, id).await?;
                // Results first: findings written after this read belong to
                // results it did not see, and are left out with them.
                let results =
                    sqlx::query_as::<_, $crate::pipeline::StageRow>($crate::sql::STAGE_RESULTS)
                        .bind(id.0)
                        .fetch_all(&mut *conn)
                        .await
                        .map_err(self.ctx("cannot read the stage results"))?;
                let findings =
                    sqlx::query_as::<_, $crate::pipeline::FindingRow>($crate::sql::FINDINGS)
                        .bind(id.0)
                        .fetch_all(&mut *conn)
                        .await
                        .map_err(self.ctx("cannot read the findings"))?;
                $crate::pipeline::stage_records(results, findings)
            }

            async fn release_record(
                &self,
                release: &slipway_types::NewRelease,
                at: jiff::Timestamp,
            ) -> Result<slipway_types::Release, $crate::StoreError> {
                let at = $crate::time::truncate(at);
                let stored = $crate::pipeline::stored_release(release);
                let mut tx = self.begin_write().await?;
                let release_id = sqlx::query_scalar::<_, i64>($crate::sql::INSERT_RELEASE)
                    .bind($crate::time::to_text(at))
                    .bind(stored.kind.as_str())
                    .bind(stored.number)
                    .bind(&stored.sha)
                    .bind(&stored.tag)
                    .bind(&stored.note)
                    .bind(&stored.actor)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(self.ctx("cannot record the release"))?
                    .ok_or($crate::StoreError::ReleaseExists {
                        number: stored.number,
                    })?;
                for task in &stored.tasks {
                    match stored.kind {
                        slipway_types::ReleaseKind::Release => {
                            let change = $crate::StateChange {
                                to: slipway_types::TaskState::Released,
                                actor: stored.actor.clone(),
                                reason: $crate::pipeline::released_reason(stored.number),
                                at,
                                expected_from: Some(slipway_types::TaskState::Staged),
                            };
                            self.change_state(&mut tx, *task, &change).await?;
                        }
                        // A rollback lists the tasks of the release it undid; they stay.
                        slipway_types::ReleaseKind::Rollback => {
                            self.require_task(&mut tx, *task).await?;
                        }
                    }
                    sqlx::query($crate::sql::INSERT_RELEASE_TASK)
                        .bind(release_id)
                        .bind(task.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(self.ctx("cannot record a task of the release"))?;
                }
                tx.commit()
                    .await
                    .map_err(self.ctx("cannot commit the release"))?;
                Ok(slipway_types::Release {
                    id: release_id,
                    at,
                    release: stored,
                })
            }

            async fn releases_newest(
                &self,
            ) -> Result<Vec<slipway_types::Release>, $crate::StoreError> {
                let mut conn = self.connection("cannot read the releases").await?;
                // Releases first: tasks of releases recorded after this read are left out with them.
                let releases =
                    sqlx::query_as::<_, $crate::pipeline::ReleaseRow>($crate::sql::RELEASES)
                        .fetch_all(&mut *conn)
                        .await
                        .map_err(self.ctx("cannot read the releases"))?;
                let tasks = sqlx::query_as::<_, $crate::pipeline::ReleaseTaskRow>(
                    $crate::sql::RELEASE_TASKS,
                )
                .fetch_all(&mut *conn)
                .await
                .map_err(self.ctx("cannot read the releases' tasks"))?;
                $crate::pipeline::releases(releases, tasks)
            }
        }
    };
}

pub(crate) use impl_pipeline;
