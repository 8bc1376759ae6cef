//! The trace half of the one [`Store`](crate::Store) implementation: runs,
//! spans, stored bodies and costs, stamped onto each backend by
//! `impl_traces!` as inherent methods that the trait's methods call (see the
//! parent module for why a macro).

macro_rules! impl_traces {
    ($store:ty, $connection:ty) => {
        impl $store {
            /// Returns the stored start of a run, or `UnknownTrace`.
            async fn trace_started_at(
                &self,
                conn: &mut $connection,
                id: &slipway_types::TraceId,
            ) -> Result<jiff::Timestamp, $crate::StoreError> {
                let started = sqlx::query_scalar::<_, String>($crate::sql::TRACE_STARTED_AT)
                    .bind(id.as_str())
                    .fetch_optional(conn)
                    .await
                    .map_err(self.ctx("cannot look up the run"))?
                    .ok_or_else(|| $crate::StoreError::UnknownTrace { id: id.clone() })?;
                $crate::time::from_text(&started, &format!("trace {id}"))
            }

            /// Returns `UnknownContent` for the first of `ids` that is not stored.
            async fn missing_content(
                &self,
                conn: &mut $connection,
                ids: &[i64],
            ) -> $crate::StoreError {
                for id in ids {
                    match sqlx::query_scalar::<_, i64>($crate::sql::CONTENT_EXISTS)
                        .bind(*id)
                        .fetch_optional(&mut *conn)
                        .await
                    {
                        Ok(Some(_)) => {}
                        Ok(None) => {
                            return $crate::StoreError::UnknownContent {
                                id: slipway_types::ContentId(*id),
                            };
                        }
                        Err(err) => return self.ctx("cannot look up a body")(err),
                    }
                }
                $crate::StoreError::corrupt_row(
                    "contents",
                    "a body was counted missing but is stored",
                )
            }

            /// Returns the trace a span belongs to, or `UnknownSpan`.
            async fn span_trace(
                &self,
                conn: &mut $connection,
                id: &slipway_types::SpanId,
            ) -> Result<slipway_types::TraceId, $crate::StoreError> {
                sqlx::query_scalar::<_, String>($crate::sql::SPAN_TRACE)
                    .bind(id.as_str())
                    .fetch_optional(conn)
                    .await
                    .map_err(self.ctx("cannot look up the span"))?
                    .map(slipway_types::TraceId)
                    .ok_or_else(|| $crate::StoreError::UnknownSpan { id: id.clone() })
            }

            async fn connection(
                &self,
                context: &'static str,
            ) -> Result<
                sqlx::pool::PoolConnection<<$connection as sqlx::Connection>::Database>,
                $crate::StoreError,
            > {
                self.pool.acquire().await.map_err(self.ctx(context))
            }

            async fn trace_start(
                &self,
                trace: &slipway_types::Trace,
            ) -> Result<(), $crate::StoreError> {
                use $crate::recording::{duration_us, storable, storable_opt};
                if let Some(task) = trace.task_id {
                    let found = sqlx::query_scalar::<_, i64>($crate::sql::TASK_EXISTS)
                        .bind(task.0)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(self.ctx("cannot look up the run's task"))?;
                    if found.is_none() {
                        return Err($crate::StoreError::UnknownTask { id: task });
                    }
                }
                let started_at = $crate::time::truncate(trace.started_at);
                let ended_at = trace.ended_at.map($crate::time::truncate);
                let [input, cache_read, cache_write, output, reasoning] =
                    $crate::rows::token_columns(&trace.tokens);
                let (role, model) = (storable(&trace.role), storable(&trace.model));
                let error = storable_opt(trace.error.as_deref());
                sqlx::query($crate::sql::INSERT_TRACE)
                    .bind(trace.id.as_str())
                    .bind(trace.task_id.map(|task| task.0))
                    .bind(role.as_ref())
                    .bind(model.as_ref())
                    .bind(trace.status.as_str())
                    .bind($crate::time::to_text(started_at))
                    .bind(ended_at.map($crate::time::to_text))
                    .bind(ended_at.map(|end| duration_us(started_at, end)))
                    .bind(input)
                    .bind(cache_read)
                    .bind(cache_write)
                    .bind(output)
                    .bind(reasoning)
                    .bind(trace.cost_micros)
                    .bind(error.as_deref())
                    .execute(&self.pool)
                    .await
                    .map_err(self.ctx("cannot record the start of the run"))?;
                Ok(())
            }

            async fn trace_finish(
                &self,
                id: &slipway_types::TraceId,
                end: &$crate::TraceEnd,
            ) -> Result<(), $crate::StoreError> {
                let mut conn = self.connection("cannot record the end of the run").await?;
                let started_at = self.trace_started_at(&mut conn, id).await?;
                let ended_at = $crate::time::truncate(end.ended_at);
                let [input, cache_read, cache_write, output, reasoning] =
                    $crate::rows::token_columns(&end.tokens);
                let error = $crate::recording::storable_opt(end.error.as_deref());
                let done = sqlx::query($crate::sql::FINISH_TRACE)
                    .bind(id.as_str())
                    .bind(end.status.as_str())
                    .bind($crate::time::to_text(ended_at))
                    .bind($crate::recording::duration_us(started_at, ended_at))
                    .bind(input)
                    .bind(cache_read)
                    .bind(cache_write)
                    .bind(output)
                    .bind(reasoning)
                    .bind(end.cost_micros)
                    .bind(error.as_deref())
                    .execute(&mut *conn)
                    .await
                    .map_err(self.ctx("cannot record the end of the run"))?;
                if done.rows_affected() == 0 {
                    return Err($crate::StoreError::UnknownTrace { id: id.clone() });
                }
                Ok(())
            }

            async fn span_start(
                &self,
                span: &slipway_types::Span,
            ) -> Result<(), $crate::StoreError> {
                let mut conn = self
                    .connection("cannot record the start of the span")
                    .await?;
                self.trace_started_at(&mut conn, &span.trace_id).await?;
                if let Some(parent) = &span.parent_id
                    && self.span_trace(&mut conn, parent).await? != span.trace_id
                {
                    return Err($crate::StoreError::UnknownSpan { id: parent.clone() });
                }
                drop(conn);
                // The same statements a batch writes its spans with.
                let batch = $crate::TraceBatch {
                    spans: vec![span.clone()],
                    ..$crate::TraceBatch::default()
                };
                self.write_rows(&batch).await.map(drop)
            }

            async fn span_finish(
                &self,
                id: &slipway_types::SpanId,
                end: &$crate::SpanEnd,
            ) -> Result<(), $crate::StoreError> {
                let mut conn = self.connection("cannot record the end of the span").await?;
                self.span_finish_on(&mut conn, id, end).await
            }

            /// Records a span's end on `conn` (a connection or a transaction).
            async fn span_finish_on(
                &self,
                conn: &mut $connection,
                id: &slipway_types::SpanId,
                end: &$crate::SpanEnd,
            ) -> Result<(), $crate::StoreError> {
                let (started_at, attributes) =
                    sqlx::query_as::<_, (String, String)>($crate::sql::SPAN_FOR_FINISH)
                        .bind(id.as_str())
                        .fetch_optional(&mut *conn)
                        .await
                        .map_err(self.ctx("cannot look up the span"))?
                        .ok_or_else(|| $crate::StoreError::UnknownSpan { id: id.clone() })?;
                let context = format!("span {id}");
                let started_at = $crate::time::from_text(&started_at, &context)?;
                let mut attributes = $crate::rows::attributes(&attributes, &context)?;
                attributes.extend(end.attributes.clone());
                let ended_at = $crate::time::truncate(end.ended_at);
                let [input, cache_read, cache_write, output, reasoning] =
                    $crate::rows::token_columns(&end.tokens);
                let error = $crate::recording::storable_opt(end.error.as_deref());
                let done = sqlx::query($crate::sql::FINISH_SPAN)
                    .bind(id.as_str())
                    .bind(end.status.as_str())
                    .bind($crate::time::to_text(ended_at))
                    .bind($crate::recording::duration_us(started_at, ended_at))
                    .bind(error.as_deref())
                    .bind(input)
                    .bind(cache_read)
                    .bind(cache_write)
                    .bind(output)
                    .bind(reasoning)
                    .bind(end.cost_micros)
                    .bind($crate::recording::attributes_text(&attributes))
                    .execute(&mut *conn)
                    .await
                    .map_err(self.ctx("cannot record the end of the span"))?;
                if done.rows_affected() == 0 {
                    return Err($crate::StoreError::UnknownSpan { id: id.clone() });
                }
                Ok(())
            }

            async fn batch_write(
                &self,
                batch: &$crate::TraceBatch,
            ) -> Result<Vec<slipway_types::ContentId>, $crate::StoreError> {
                if batch.is_empty() {
                    return Ok(Vec::new());
                }
                let body_ids = self.write_rows(batch).await?;
                self.after_trace_write();
                Ok(body_ids)
            }

            async fn content_put(
                &self,
                kind: slipway_types::ContentKind,
                body: &str,
            ) -> Result<slipway_types::ContentId, $crate::StoreError> {
                let hash = $crate::recording::content_hash(kind, body);
                let by_hash = || {
                    sqlx::query_scalar::<_, i64>($crate::sql::CONTENT_BY_HASH)
                        .bind(hash.as_str())
                        .fetch_optional(&self.pool)
                };
                // Most bodies were sent before (the conversation so far): a read, no write.
                if let Some(id) = by_hash().await.map_err(self.ctx("cannot look up a body"))? {
                    return Ok(slipway_types::ContentId(id));
                }
                let stored = $crate::recording::storable(body);
                let inserted = sqlx::query_scalar::<_, i64>($crate::sql::INSERT_CONTENT)
                    .bind(hash.as_str())
                    .bind(kind.as_str())
                    .bind(stored.as_ref())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(self.ctx("cannot store a body"))?;
                // No row: another writer stored it between our read and our insert.
                let id = match inserted {
                    Some(id) => Some(id),
                    None => by_hash().await.map_err(self.ctx("cannot look up a body"))?,
                };
                id.map(slipway_types::ContentId).ok_or_else(|| {
                    $crate::StoreError::corrupt_row(
                        format!("content {hash}"),
                        "it is neither new nor stored",
                    )
                })
            }

            async fn contents_link(
                &self,
                span: &slipway_types::SpanId,
                direction: slipway_types::ContentDirection,
                contents: &[slipway_types::ContentId],
            ) -> Result<(), $crate::StoreError> {
                type Db = <$connection as sqlx::Connection>::Database;
                // Rows per statement: four parameters each, well under both backends' limits.
                const CHUNK: usize = 500;
                let mut tx = self.begin_write().await?;
                self.span_trace(&mut tx, span).await?;
                let wanted: std::collections::BTreeSet<i64> =
                    contents.iter().map(|c| c.0).collect();
                for chunk in wanted.iter().copied().collect::<Vec<_>>().chunks(CHUNK) {
                    let mut query = sqlx::QueryBuilder::<Db>::new(
                        "SELECT COUNT(*) FROM contents WHERE id IN (",
                    );
                    let mut ids = query.separated(", ");
                    for id in chunk {
                        ids.push_bind(*id);
                    }
                    query.push(")");
                    let found: i64 = query
                        .build_query_scalar()
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(self.ctx("cannot look up the bodies"))?;
                    if usize::try_from(found).ok() != Some(chunk.len()) {
                        return Err(self.missing_content(&mut tx, chunk).await);
                    }
                }
                let mut position = sqlx::query_scalar::<_, i64>($crate::sql::NEXT_CONTENT_POSITION)
                    .bind(span.as_str())
                    .bind(direction.as_str())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(self.ctx("cannot read the span's bodies"))?;
                for chunk in contents.chunks(CHUNK) {
                    let mut query = sqlx::QueryBuilder::<Db>::new(
                        "INSERT INTO span_contents (span_id, direction, position, content_id) ",
                    );
                    let first = position;
                    query.push_values(chunk.iter().zip(first..), |mut row, (content, at)| {
                        row.push_bind(span.as_str())
                            .push_bind(direction.as_str())
                            .push_bind(at)
                            .push_bind(content.0);
                    });
                    query
                        .build()
                        .execute(&mut *tx)
                        .await
                        .map_err(self.ctx("cannot link the bodies to the span"))?;
                    position += i64::try_from(chunk.len()).unwrap_or(i64::MAX);
                }
                tx.commit()
                    .await
                    .map_err(self.ctx("cannot commit the span's bodies"))
            }

            async fn traces_newest(
                &self,
                limit: u32,
            ) -> Result<Vec<slipway_types::Trace>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::rows::TraceRow>($crate::sql::TRACES)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(self.ctx("cannot list runs"))?
                    .into_iter()
                    .map($crate::rows::trace)
                    .collect()
            }

            async fn trace_with_spans(
                &self,
                id: &slipway_types::TraceId,
            ) -> Result<(slipway_types::Trace, Vec<slipway_types::Span>), $crate::StoreError> {
                let mut conn = self.connection("cannot read the run").await?;
                let row = sqlx::query_as::<_, $crate::rows::TraceRow>($crate::sql::TRACE)
                    .bind(id.as_str())
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(self.ctx("cannot read the run"))?
                    .ok_or_else(|| $crate::StoreError::UnknownTrace { id: id.clone() })?;
                let spans = sqlx::query_as::<_, $crate::rows::SpanRow>($crate::sql::SPANS_OF_TRACE)
                    .bind(id.as_str())
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(self.ctx("cannot read the run's spans"))?
                    .into_iter()
                    .map($crate::rows::span)
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(($crate::rows::trace(row)?, spans))
            }

            async fn contents_of_span(
                &self,
                span: &slipway_types::SpanId,
            ) -> Result<
                Vec<(slipway_types::ContentDirection, slipway_types::ContentRef)>,
                $crate::StoreError,
            > {
                let mut conn = self.connection("cannot read the span's bodies").await?;
                self.span_trace(&mut conn, span).await?;
                sqlx::query_as::<_, $crate::rows::ContentRow>($crate::sql::SPAN_CONTENTS)
                    .bind(span.as_str())
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(self.ctx("cannot read the span's bodies"))?
                    .into_iter()
                    .map($crate::rows::content)
                    .collect()
            }

            async fn costs(
                &self,
                group: $crate::CostGroup,
                since: Option<jiff::Timestamp>,
            ) -> Result<Vec<$crate::CostRow>, $crate::StoreError> {
                let sql = match group {
                    $crate::CostGroup::Model => $crate::sql::COST_BY_MODEL,
                    $crate::CostGroup::Role => $crate::sql::COST_BY_ROLE,
                    $crate::CostGroup::Task => $crate::sql::COST_BY_TASK,
                    $crate::CostGroup::Day => $crate::sql::COST_BY_DAY,
                };
                let mut rows = sqlx::query_as::<_, $crate::rows::CostRowRaw>(sql)
                    .bind(since.map($crate::time::to_text))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(self.ctx("cannot add up costs"))?
                    .into_iter()
                    .map($crate::rows::cost_row)
                    .collect::<Result<Vec<_>, _>>()?;
                $crate::rows::order_cost_rows(group, &mut rows);
                Ok(rows)
            }
        }
    };
}

pub(crate) use impl_traces;
