//! Event settings, subscriptions and the delivery outbox (rows are written into the outbox by
//! ticket write transactions; see `tickets.rs`).

use async_trait::async_trait;
use larkdesk_domain::ids::AppRowId;

use super::SqlStore;
use crate::backend::{Backend, Builder, Columns, sql};
use crate::rows;
use crate::{Delivery, DeliveryOutcome, DeliveryRecord, EventSettings, EventStore, Helpdesk, StoreResult};

#[async_trait]
impl<DB: Backend> EventStore for SqlStore<DB> {
    async fn set_event_settings(&self, app: AppRowId, settings: Option<&EventSettings>) -> StoreResult<()> {
        match settings {
            None => sql("DELETE FROM app_event_settings WHERE app_id = $1").bind(app),
            Some(s) => sql(
                "INSERT INTO app_event_settings (app_id, request_url, verification_token, encrypt_key)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (app_id) DO UPDATE SET request_url = excluded.request_url,
                   verification_token = excluded.verification_token, encrypt_key = excluded.encrypt_key",
            )
            .bind(app)
            .bind(&s.request_url)
            .bind(&s.verification_token)
            .bind(&s.encrypt_key),
        }
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn event_settings(&self, app: AppRowId) -> StoreResult<Option<EventSettings>> {
        let row = sql(
            "SELECT request_url, verification_token, encrypt_key FROM app_event_settings WHERE app_id = $1",
        )
        .bind(app)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(EventSettings {
                request_url: r.text("request_url")?,
                verification_token: r.text("verification_token")?,
                encrypt_key: r.opt_text("encrypt_key")?,
            })
        })
        .transpose()
    }

    async fn subscribe_events(
        &self,
        app: AppRowId,
        helpdesk: &Helpdesk,
        event_types: &[&str],
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        for event_type in event_types {
            sql(
                "INSERT INTO event_subscriptions (app_id, helpdesk_id, event_type) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
            )
            .bind(app)
            .bind(helpdesk.id)
            .bind(*event_type)
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn unsubscribe_events(
        &self,
        app: AppRowId,
        helpdesk: &Helpdesk,
        event_types: &[&str],
    ) -> StoreResult<()> {
        let mut q = Builder::new::<DB>("DELETE FROM event_subscriptions WHERE app_id = ");
        q.arg(app)
            .push(" AND helpdesk_id = ")
            .arg(helpdesk.id)
            .push(" AND event_type IN (")
            .args(event_types.iter().copied())
            .push(")");
        q.build().execute(&self.writer).await?;
        Ok(())
    }

    async fn claim_deliveries(&self, now_ms: i64, lease_ms: i64, limit: i64) -> StoreResult<Vec<Delivery>> {
        // One statement: claiming is atomic, so two workers never take the same row.
        let rows = sql(format!(
            "UPDATE event_outbox SET lease_until = $1
             WHERE id IN (SELECT id FROM event_outbox
                          WHERE status = 'pending' AND next_attempt_at <= $2 AND lease_until <= $2
                          ORDER BY next_attempt_at, id LIMIT $3{})
             RETURNING id, event_id, app_id, event_type, body, attempts",
            DB::SKIP_LOCKED
        ))
        .bind(now_ms + lease_ms)
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&self.writer)
        .await?;
        let mut out = rows.iter().map(rows::delivery).collect::<StoreResult<Vec<_>>>()?;
        out.sort_by_key(|d| d.id);
        Ok(out)
    }

    async fn finish_delivery(&self, id: i64, outcome: &DeliveryOutcome) -> StoreResult<()> {
        let query = match outcome {
            DeliveryOutcome::Delivered { at_ms } => sql(
                "UPDATE event_outbox SET status = 'delivered', delivered_at = $2, lease_until = 0, last_error = ''
                 WHERE id = $1",
            )
            .bind(id)
            .bind(*at_ms),
            DeliveryOutcome::Retry { at_ms, error } => sql(
                "UPDATE event_outbox SET attempts = attempts + 1, next_attempt_at = $2, lease_until = 0,
                   last_error = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(*at_ms)
            .bind(error),
            DeliveryOutcome::Failed { error } => sql(
                "UPDATE event_outbox SET status = 'failed', attempts = attempts + 1, lease_until = 0,
                   last_error = $2 WHERE id = $1",
            )
            .bind(id)
            .bind(error),
        };
        query.execute(&self.writer).await?;
        Ok(())
    }

    async fn outbox_pending(&self) -> StoreResult<i64> {
        sql("SELECT count(*) AS n FROM event_outbox WHERE status = 'pending'")
            .fetch_one(&self.pool)
            .await?
            .int("n")
    }

    async fn retry_delivery(&self, event_id: &str, now_ms: i64) -> StoreResult<bool> {
        let done = sql("UPDATE event_outbox SET status = 'pending', next_attempt_at = $2
             WHERE event_id = $1 AND status IN ('pending', 'failed')")
        .bind(event_id)
        .bind(now_ms)
        .execute(&self.writer)
        .await?;
        Ok(done > 0)
    }

    async fn deliveries(&self, app_id: Option<&str>, limit: i64) -> StoreResult<Vec<DeliveryRecord>> {
        let mut q = Builder::new::<DB>(
            "SELECT o.event_id, a.app_id AS public_app_id, o.event_type, o.status, o.attempts, o.created_at,
                    o.next_attempt_at, o.delivered_at, o.last_error
             FROM event_outbox o JOIN apps a ON a.id = o.app_id",
        );
        if let Some(app_id) = app_id {
            q.push(" WHERE a.app_id = ").arg(app_id);
        }
        q.push(" ORDER BY o.id DESC LIMIT ").arg(limit);
        let rows = q.build().fetch_all(&self.pool).await?;
        rows.iter().map(rows::delivery_record).collect()
    }
}
