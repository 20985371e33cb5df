//! Push jobs ("notifications").

use async_trait::async_trait;
use larkdesk_domain::ids::{HelpdeskRowId, NotificationId};

use super::tickets::{enqueue, record_bot_message, subscribers};
use super::{SqlStore, found};
use crate::backend::{Backend, Columns, WriteTx, sql};
use crate::rows::{json_column, to_json};
use crate::{
    BotMessage, Helpdesk, LockedJob, NotificationStore, NotificationWrite, OutboxEntry, StoreResult,
    StoredJob, Subscriber,
};

#[async_trait]
impl<DB: Backend> NotificationStore for SqlStore<DB> {
    async fn create_notification(
        &self,
        helpdesk: &Helpdesk,
        id: NotificationId,
        status: i64,
        job: &StoredJob,
    ) -> StoreResult<()> {
        sql("INSERT INTO notifications (notification_id, helpdesk_id, status, job) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(helpdesk.id)
            .bind(status)
            .bind(to_json(job))
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn notification(&self, helpdesk: &Helpdesk, id: NotificationId) -> StoreResult<(i64, StoredJob)> {
        let row =
            sql("SELECT status, job FROM notifications WHERE helpdesk_id = $1 AND notification_id = $2")
                .bind(helpdesk.id)
                .bind(id)
                .fetch_one(&self.pool)
                .await?;
        Ok((row.int("status")?, json_column(&row.text("job")?, "job")?))
    }

    async fn begin_notification_write(&self) -> StoreResult<Box<dyn NotificationWrite>> {
        Ok(Box::new(SqlJobWrite {
            tx: self.writer.begin().await?,
        }))
    }

    async fn due_notifications(
        &self,
        status: i64,
        now_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<(String, NotificationId)>> {
        let rows = sql(
            "SELECT h.helpdesk_id, n.notification_id FROM notifications n JOIN helpdesks h ON h.id = n.helpdesk_id
             WHERE n.status = $1 AND n.send_at <= $2 ORDER BY n.send_at, n.id LIMIT $3",
        )
        .bind(status)
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.text("helpdesk_id")?,
                    NotificationId::new(r.int("notification_id")?),
                ))
            })
            .collect()
    }
}

struct SqlJobWrite<DB: Backend> {
    tx: WriteTx<DB>,
}

#[async_trait]
impl<DB: Backend> NotificationWrite for SqlJobWrite<DB> {
    async fn lock(&mut self, helpdesk: &Helpdesk, id: NotificationId) -> StoreResult<LockedJob> {
        let row = sql(format!(
            "SELECT status, send_at, job FROM notifications WHERE helpdesk_id = $1 AND notification_id = $2{}",
            DB::FOR_UPDATE
        ))
        .bind(helpdesk.id)
        .bind(id)
        .fetch_one(&mut self.tx)
        .await?;
        Ok(LockedJob {
            status: row.int("status")?,
            send_at: row.opt_int("send_at")?,
            job: json_column(&row.text("job")?, "job")?,
        })
    }

    async fn save(
        &mut self,
        id: NotificationId,
        status: i64,
        send_at: Option<i64>,
        job: &StoredJob,
    ) -> StoreResult<()> {
        let changed =
            sql("UPDATE notifications SET status = $1, send_at = $2, job = $3 WHERE notification_id = $4")
                .bind(status)
                .bind(send_at)
                .bind(to_json(job))
                .bind(id)
                .execute(&mut self.tx)
                .await?;
        found(changed)
    }

    async fn subscribers(&mut self, helpdesk: HelpdeskRowId) -> StoreResult<Vec<Subscriber>> {
        subscribers(&mut self.tx, helpdesk).await
    }

    async fn enqueue(&mut self, entries: &[OutboxEntry]) -> StoreResult<()> {
        enqueue(&mut self.tx, entries).await
    }

    async fn record_bot_messages(
        &mut self,
        helpdesk: HelpdeskRowId,
        messages: &[BotMessage],
    ) -> StoreResult<()> {
        for m in messages {
            record_bot_message(&mut self.tx, helpdesk, m).await?;
        }
        Ok(())
    }

    async fn delete_bot_messages(
        &mut self,
        helpdesk: HelpdeskRowId,
        message_ids: &[String],
    ) -> StoreResult<()> {
        for id in message_ids {
            sql("DELETE FROM bot_messages WHERE helpdesk_id = $1 AND message_id = $2")
                .bind(helpdesk)
                .bind(id.as_str())
                .execute(&mut self.tx)
                .await?;
        }
        Ok(())
    }

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.tx.commit().await
    }
}
