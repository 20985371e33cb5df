//! Notifications (push jobs of the helpdesk's push center): `/notifications`. Their times are
//! millisecond epochs **as strings**, unlike tickets (ms integers) and FAQs (second integers).

use serde::{Deserialize, Serialize};

pub const NOTIFICATION_APPROVE: &str = "helpdesk.notification.approve_v1";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NotificationUser {
    #[serde(default)]
    pub user_id: String,
    #[serde(default)]
    pub avatar_url: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NotificationDepartment {
    #[serde(default)]
    pub department_id: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NotificationChat {
    #[serde(default)]
    pub chat_id: String,
    #[serde(default)]
    pub name: String,
}

/// A push job as `GET /notifications/:id` returns it (`data.notification`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Notification {
    pub id: String,
    pub job_name: String,
    pub status: i64,
    pub create_user: NotificationUser,
    /// ms epoch as a string.
    pub created_at: String,
    pub update_user: NotificationUser,
    /// ms epoch as a string.
    pub updated_at: String,
    pub target_user_count: i64,
    pub sent_user_count: i64,
    pub read_user_count: i64,
    /// ms epoch as a string; `""` until `execute_send`.
    pub send_at: String,
    pub push_content: String,
    pub push_type: i64,
    pub push_scope_type: i64,
    pub new_staff_scope_type: i64,
    pub new_staff_scope_department_list: Vec<NotificationDepartment>,
    pub user_list: Vec<NotificationUser>,
    pub department_list: Vec<NotificationDepartment>,
    pub chat_list: Vec<NotificationChat>,
    pub ext: String,
}

/// `data` of `POST /notifications`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreateNotificationData {
    pub notification_id: String,
    pub status: i64,
}

/// `data` of `GET /notifications/:id`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GetNotificationData {
    pub notification: Notification,
    pub approval_app_link: String,
}

/// `data` of `POST /notifications/:id/submit_approve`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SubmitApproveData {
    pub has_access: bool,
}

/// The `event` of `helpdesk.notification.approve_v1`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NotificationApproved {
    pub notification_id: String,
    pub helpdesk_id: String,
    /// `APPROVED`, `REJECTED`, `CANCELED` or `DELETED`.
    pub approve_status: String,
}
