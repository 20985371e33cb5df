//! Push jobs (`/notifications`): create and edit a job, have it approved, schedule it, send it
//! when the clock reaches `send_at`, cancel or recall it. Which step is allowed when is
//! `larkdesk_domain::push`'s state machine; every step locks the job, asks it, and writes the job
//! with what the step causes (the `helpdesk.notification.approve_v1` event, bot messages) in one
//! transaction.
//!
//! - With a user token, only agents create and manage jobs (405/154005); getting and previewing
//!   are open to every caller.
//! - There is no helpdesk owner in larkdesk, so a submitted job always waits for the approver:
//!   the admin API's approve/reject ([`Notifications::decide`]) stands for the approver acting in
//!   the Feishu app.
//! - Sending: a job whose `send_at` has come is sent by [`Notifications::send_due`] (the server
//!   runs it every second) or when it is next touched through the API, whichever is first. One
//!   transaction takes it through sending to sent, so "sending" is never seen from outside.
//! - Recipients: `user_list` users; the tenant's directory users whose `department` equals a
//!   `department_list` entry's id or name; everyone in the directory for scope 0; nobody for new
//!   hires (larkdesk has no hire dates). Each gets one bot message (`interactive`, the
//!   `push_content`), and each chat of `chat_list` one too. A recall deletes those messages.

use std::collections::BTreeSet;
use std::sync::Arc;

use larkdesk_domain::ids::{self, NotificationId};
use larkdesk_domain::notify;
use larkdesk_domain::push::{self, JobAction, JobShape, JobStatus};
use larkdesk_store::prelude::*;
use larkdesk_store::{BotMessage, Helpdesk, StoreError, StoredJob};
use larkdesk_wire::notifications::{
    NOTIFICATION_APPROVE, Notification, NotificationApproved, NotificationChat, NotificationDepartment,
    NotificationUser,
};

use crate::{Caller, Clock, Error, Result, outbox};

/// A job's content as a request gives it (create and PATCH send the whole object; read-only
/// fields are not part of it).
#[derive(Debug, Clone, Default)]
pub struct JobInput {
    pub job_name: Option<String>,
    pub push_content: Option<String>,
    pub push_type: Option<i64>,
    pub push_scope_type: Option<i64>,
    pub new_staff_scope_type: Option<i64>,
    pub new_staff_scope_department_list: Vec<NotificationDepartment>,
    pub user_list: Vec<NotificationUser>,
    pub department_list: Vec<NotificationDepartment>,
    pub chat_list: Vec<NotificationChat>,
    pub ext: Option<String>,
}

impl JobInput {
    fn shape(&self) -> JobShape {
        JobShape {
            job_name: self.job_name.clone().unwrap_or_default(),
            push_content: self.push_content.clone().unwrap_or_default(),
            push_type: self.push_type,
            push_scope_type: self.push_scope_type,
            new_staff_scope_type: self.new_staff_scope_type,
            new_staff_departments: self.new_staff_scope_department_list.len(),
            users: self.user_list.len(),
            departments: self.department_list.len(),
            chats: self.chat_list.len(),
        }
    }

    /// Write the input into a job.
    fn apply(self, n: &mut Notification) {
        n.job_name = self.job_name.unwrap_or_default();
        n.push_content = self.push_content.unwrap_or_default();
        n.push_type = self.push_type.unwrap_or_default();
        n.push_scope_type = self.push_scope_type.unwrap_or_default();
        n.new_staff_scope_type = self.new_staff_scope_type.unwrap_or_default();
        n.new_staff_scope_department_list = self.new_staff_scope_department_list;
        n.user_list = self
            .user_list
            .into_iter()
            .map(|u| NotificationUser {
                user_id: u.user_id,
                ..NotificationUser::default()
            })
            .collect();
        n.department_list = self.department_list;
        n.chat_list = self.chat_list;
        n.ext = self.ext.unwrap_or_default();
    }
}

/// What a step does besides changing the job: bot messages to send, and sent ones to take back.
#[derive(Debug, Default)]
struct Effects {
    send: Vec<BotMessage>,
    recall: Vec<String>,
}

/// A link to a job's approval in the helpdesk mini-app (larkdesk has none: a stable made-up one).
fn approval_link(helpdesk_id: &str, id: NotificationId) -> String {
    format!(
        "https://applink.feishu.cn/client/helpdesk/notification?helpdesk_id={helpdesk_id}&notification_id={id}"
    )
}

#[derive(Clone)]
pub struct Notifications {
    store: Arc<dyn Store>,
    clock: Clock,
}

impl Notifications {
    pub fn new(store: Arc<dyn Store>, clock: Clock) -> Self {
        Self { store, clock }
    }

    /// With a user token, only agents manage pushes (405/154005 otherwise, Feishu's "caller may
    /// not create pushes"); tenant tokens may.
    fn may_push(caller: &Caller) -> Result<()> {
        match &caller.user {
            Some(u) if !u.is_agent => Err(Error::MethodForbidden(
                "only agents of the helpdesk may create and manage pushes".into(),
            )),
            _ => Ok(()),
        }
    }

    pub async fn create(&self, caller: &Caller, input: JobInput) -> Result<(NotificationId, i64)> {
        Self::may_push(caller)?;
        push::check_job(&input.shape()).map_err(Error::Invalid)?;
        let id = NotificationId::generate();
        let now = self.clock.now_ms().to_string();
        let me = NotificationUser {
            user_id: caller.user_id(),
            ..NotificationUser::default()
        };
        let mut n = Notification {
            id: id.to_string(),
            status: JobStatus::Draft.code(),
            create_user: me.clone(),
            created_at: now.clone(),
            update_user: me,
            updated_at: now,
            ..Notification::default()
        };
        input.apply(&mut n);
        let job = StoredJob {
            notification: n,
            ..StoredJob::default()
        };
        self.store
            .create_notification(&caller.helpdesk, id, JobStatus::Draft.code(), &job)
            .await?;
        Ok((id, JobStatus::Draft.code()))
    }

    /// A job with its people's names and pictures from the directory, and its approval link.
    pub async fn get(&self, caller: &Caller, id: NotificationId) -> Result<(Notification, String)> {
        self.send_if_due(&caller.helpdesk, id).await?;
        let (_, job) = self.store.notification(&caller.helpdesk, id).await?;
        let mut n = job.notification;
        let tenant = caller.helpdesk.tenant_id;
        let mut people: Vec<&mut NotificationUser> = vec![&mut n.create_user, &mut n.update_user];
        people.extend(n.user_list.iter_mut());
        for person in people {
            if person.user_id.is_empty() {
                continue;
            }
            match self.store.user(tenant, &person.user_id).await {
                Ok(record) => {
                    person.name = record.user.name;
                    person.avatar_url = record.user.avatar_url;
                }
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok((n, approval_link(&caller.helpdesk.helpdesk_id, id)))
    }

    /// Take a job through `action` in one transaction: `change` edits the job (and its due time)
    /// once the state machine allows the action.
    async fn act(
        &self,
        helpdesk: &Helpdesk,
        id: NotificationId,
        action: JobAction,
        by: Option<&str>,
        change: impl FnOnce(&mut StoredJob, &mut Option<i64>) -> Result<Effects> + Send,
    ) -> Result<JobStatus> {
        let mut tx = self.store.begin_notification_write().await?;
        let locked = tx.lock(helpdesk, id).await?;
        let from = JobStatus::from_code(locked.status)
            .ok_or_else(|| Error::Storage(StoreError::Corrupt(format!("job status {}", locked.status))))?;
        let to = push::transition(from, action).map_err(|e| Error::invalid(e.to_string()))?;
        let mut job = locked.job;
        let mut send_at = locked.send_at;
        let effects = change(&mut job, &mut send_at)?;
        let now = self.clock.now_ms();
        job.notification.status = to.code();
        if let Some(by) = by {
            job.notification.updated_at = now.to_string();
            job.notification.update_user = NotificationUser {
                user_id: by.to_owned(),
                ..NotificationUser::default()
            };
        }
        if to != JobStatus::Scheduled {
            send_at = None;
        }
        tx.save(id, to.code(), send_at, &job).await?;
        if !effects.send.is_empty() {
            tx.record_bot_messages(helpdesk.id, &effects.send).await?;
        }
        if !effects.recall.is_empty() {
            tx.delete_bot_messages(helpdesk.id, &effects.recall).await?;
        }
        if let Some(approve_status) = push::approve_status(action) {
            let body = NotificationApproved {
                notification_id: id.to_string(),
                helpdesk_id: helpdesk.helpdesk_id.clone(),
                approve_status: approve_status.to_owned(),
            };
            let note = notify::Notification {
                event_type: NOTIFICATION_APPROVE,
                body: serde_json::to_value(&body).expect("event bodies serialize"),
            };
            let subscribers = tx.subscribers(helpdesk.id).await?;
            tx.enqueue(&outbox::entries(&subscribers, &[note], now)).await?;
        }
        tx.commit().await?;
        Ok(to)
    }

    /// `PATCH`: replace a draft's (or rejected job's) content; it is a draft again.
    pub async fn update(&self, caller: &Caller, id: NotificationId, input: JobInput) -> Result<()> {
        Self::may_push(caller)?;
        push::check_job(&input.shape()).map_err(Error::Invalid)?;
        let by = caller.user_id();
        self.act(&caller.helpdesk, id, JobAction::Edit, Some(&by), move |job, _| {
            input.apply(&mut job.notification);
            Ok(Effects::default())
        })
        .await?;
        Ok(())
    }

    /// `preview`: the push content goes to the calling user (a user token) as a bot message;
    /// with a tenant token there is nobody to show it to, and nothing is sent.
    pub async fn preview(&self, caller: &Caller, id: NotificationId) -> Result<()> {
        self.send_if_due(&caller.helpdesk, id).await?;
        let me = caller.user_id();
        let now = self.clock.now_ms();
        self.act(&caller.helpdesk, id, JobAction::Preview, None, move |job, _| {
            if me.is_empty() {
                return Ok(Effects::default());
            }
            Ok(Effects {
                send: vec![BotMessage {
                    message_id: ids::new_message_id(),
                    receiver_id: me,
                    receive_type: "open_id".into(),
                    msg_type: "interactive".into(),
                    content: job.notification.push_content.clone(),
                    at_ms: now,
                }],
                recall: Vec::new(),
            })
        })
        .await?;
        Ok(())
    }

    /// `submit_approve`: the job waits for the approver. Returns `has_access` (always true).
    pub async fn submit(&self, caller: &Caller, id: NotificationId, reason: String) -> Result<bool> {
        Self::may_push(caller)?;
        let by = caller.user_id();
        self.act(
            &caller.helpdesk,
            id,
            JobAction::Submit,
            Some(&by),
            move |job, _| {
                job.reason = reason;
                Ok(Effects::default())
            },
        )
        .await?;
        Ok(true)
    }

    pub async fn cancel_approval(&self, caller: &Caller, id: NotificationId) -> Result<()> {
        Self::may_push(caller)?;
        let by = caller.user_id();
        self.act(
            &caller.helpdesk,
            id,
            JobAction::CancelApproval,
            Some(&by),
            |_, _| Ok(Effects::default()),
        )
        .await?;
        Ok(())
    }

    /// The approver's decision (admin API).
    pub async fn decide(&self, helpdesk: &Helpdesk, id: NotificationId, approve: bool) -> Result<JobStatus> {
        let action = if approve {
            JobAction::Approve
        } else {
            JobAction::Reject
        };
        self.act(helpdesk, id, action, None, |_, _| Ok(Effects::default()))
            .await
    }

    /// `execute_send`: schedule an approved job at `send_at_ms` (a time already past sends it at
    /// once).
    pub async fn execute_send(&self, caller: &Caller, id: NotificationId, send_at_ms: i64) -> Result<()> {
        Self::may_push(caller)?;
        let by = caller.user_id();
        self.act(
            &caller.helpdesk,
            id,
            JobAction::Schedule,
            Some(&by),
            move |job, due| {
                job.notification.send_at = send_at_ms.to_string();
                *due = Some(send_at_ms);
                Ok(Effects::default())
            },
        )
        .await?;
        self.send_if_due(&caller.helpdesk, id).await?;
        Ok(())
    }

    /// `cancel_send`: stop a job; with `recall`, also take back what it sent.
    pub async fn cancel_send(&self, caller: &Caller, id: NotificationId, recall: bool) -> Result<()> {
        Self::may_push(caller)?;
        self.send_if_due(&caller.helpdesk, id).await?;
        let by = caller.user_id();
        self.act(
            &caller.helpdesk,
            id,
            JobAction::CancelSend { recall },
            Some(&by),
            |job, _| {
                let recall = if recall {
                    std::mem::take(&mut job.message_ids)
                } else {
                    Vec::new()
                };
                Ok(Effects {
                    send: Vec::new(),
                    recall,
                })
            },
        )
        .await?;
        Ok(())
    }

    /// Who a job reaches: open_ids of users (each once) and chat ids.
    async fn recipients(&self, helpdesk: &Helpdesk, n: &Notification) -> Result<(Vec<String>, Vec<String>)> {
        let mut users: BTreeSet<String> = n
            .user_list
            .iter()
            .map(|u| u.user_id.clone())
            .filter(|u| !u.is_empty())
            .collect();
        let everyone = n.push_scope_type == 0;
        if everyone || !n.department_list.is_empty() {
            for (user, _) in self.store.users(helpdesk.tenant_id).await? {
                let in_department = n.department_list.iter().any(|d| {
                    !user.department.is_empty()
                        && (d.department_id == user.department || d.name == user.department)
                });
                if everyone || in_department {
                    users.insert(user.id);
                }
            }
        }
        let chats = n
            .chat_list
            .iter()
            .map(|c| c.chat_id.clone())
            .filter(|c| !c.is_empty())
            .collect();
        Ok((users.into_iter().collect(), chats))
    }

    /// Send the job if it is scheduled and due.
    async fn send_if_due(&self, helpdesk: &Helpdesk, id: NotificationId) -> Result<()> {
        let now = self.clock.now_ms();
        let (status, job) = match self.store.notification(helpdesk, id).await {
            Ok(found) => found,
            Err(StoreError::NotFound) => return Err(Error::NotFound),
            Err(e) => return Err(e.into()),
        };
        let due = job.notification.send_at.parse::<i64>().is_ok_and(|at| at <= now);
        if status != JobStatus::Scheduled.code() || !due {
            return Ok(());
        }
        let (users, chats) = self.recipients(helpdesk, &job.notification).await?;
        let content = job.notification.push_content.clone();
        let message = |receiver_id: &str, receive_type: &str| BotMessage {
            message_id: ids::new_message_id(),
            receiver_id: receiver_id.to_owned(),
            receive_type: receive_type.to_owned(),
            msg_type: "interactive".to_owned(),
            content: content.clone(),
            at_ms: now,
        };
        let mut messages: Vec<BotMessage> = users.iter().map(|u| message(u, "open_id")).collect();
        messages.extend(chats.iter().map(|c| message(c, "chat_id")));
        let user_count = users.len() as i64;
        // Scheduled → sending → sent, in one transaction; a job changed meanwhile (cancelled,
        // rescheduled) is left alone: the state machine refuses the step, or it is not due.
        let mut tx = self.store.begin_notification_write().await?;
        let locked = tx.lock(helpdesk, id).await?;
        let still_due = locked.send_at.is_some_and(|at| at <= now);
        let sending = JobStatus::from_code(locked.status)
            .and_then(|s| push::transition(s, JobAction::StartSending).ok())
            .filter(|_| still_due);
        let Some(sending) = sending else {
            return Ok(());
        };
        let sent =
            push::transition(sending, JobAction::FinishSending).map_err(|e| Error::invalid(e.to_string()))?;
        let mut job = locked.job;
        job.notification.status = sent.code();
        job.notification.target_user_count = user_count;
        job.notification.sent_user_count = user_count;
        job.message_ids = messages.iter().map(|m| m.message_id.clone()).collect();
        tx.save(id, sent.code(), None, &job).await?;
        tx.record_bot_messages(helpdesk.id, &messages).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Send every job that is due (the server's sender calls this every second). Returns how
    /// many were looked at.
    pub async fn send_due(&self) -> Result<usize> {
        let due = self
            .store
            .due_notifications(JobStatus::Scheduled.code(), self.clock.now_ms(), 100)
            .await?;
        for (helpdesk_id, id) in &due {
            let helpdesk = self.store.helpdesk_by_public_id(helpdesk_id).await?;
            if let Err(e) = self.send_if_due(&helpdesk, *id).await {
                tracing::warn!(notification_id = %id, error = %e, "sending a push job failed");
            }
        }
        Ok(due.len())
    }
}
