//! Push jobs ("notifications" on the wire, `/notifications`): what a job must say, and its state
//! machine. Pure; the service reads a job, asks [`transition`] and writes what it answers.
//!
//! # States ([`JobStatus`], the wire's `status`)
//!
//! Feishu documents the steps but not the numbers, except draft = 0; the SDKs treat `status` as
//! an opaque int. larkdesk numbers them: 0 draft, 1 pending approval, 2 approved, 3 rejected,
//! 4 scheduled, 5 sending, 6 sent, 7 cancelled, 8 recalled.
//!
//! # Transitions ([`transition`])
//!
//! | action | allowed from | to |
//! |---|---|---|
//! | `Edit` (PATCH) | draft, rejected | draft |
//! | `Preview` | any | unchanged |
//! | `Submit` (submit_approve) | draft, rejected | pending approval |
//! | `CancelApproval` (cancel_approve) | pending approval, approved | draft |
//! | `Approve` (the approver, admin API) | pending approval | approved |
//! | `Reject` (the approver, admin API) | pending approval | rejected |
//! | `Schedule` (execute_send) | approved, scheduled (a new time) | scheduled |
//! | `StartSending` (the clock reached `send_at`) | scheduled | sending |
//! | `FinishSending` (every recipient has the message) | sending | sent |
//! | `CancelSend { recall }` (cancel_send) | approved, scheduled | cancelled |
//! | | sending | recalled with `recall`, else cancelled |
//! | | sent, with `recall` only | recalled |
//!
//! Anything else is refused with [`TransitionError`] and changes nothing. `Approve`, `Reject`
//! and `CancelApproval` push `helpdesk.notification.approve_v1` with `approve_status`
//! `APPROVED`, `REJECTED` and `CANCELED` ([`approve_status`]).
//!
//! # Content ([`check_job`], Feishu's rules for the push enums)
//!
//! - `job_name` and `push_content` must not be blank.
//! - `push_type` 0 (scheduled push) or 1 (new-hire push); `push_scope_type` 0 (everyone),
//!   1 (no members: chats only), 2 (some members) or 3 (new hires).
//! - `push_type` 0 must not use scope 3; `push_type` 1 must use scope 1 or 3 and set
//!   `new_staff_scope_type` 0 (all new hires) or 1 (of `new_staff_scope_department_list`, which
//!   must then not be empty).
//! - Scope 0 and 1 take no `user_list` or `department_list`; scope 1 needs a `chat_list`;
//!   scope 2 needs a `user_list` or a `department_list`.

use std::fmt;

/// A push job's state (see the module doc for the numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    Draft = 0,
    PendingApproval = 1,
    Approved = 2,
    Rejected = 3,
    Scheduled = 4,
    Sending = 5,
    Sent = 6,
    Cancelled = 7,
    Recalled = 8,
}

impl JobStatus {
    pub const ALL: [JobStatus; 9] = [
        Self::Draft,
        Self::PendingApproval,
        Self::Approved,
        Self::Rejected,
        Self::Scheduled,
        Self::Sending,
        Self::Sent,
        Self::Cancelled,
        Self::Recalled,
    ];

    pub fn code(self) -> i64 {
        self as i64
    }

    pub fn from_code(code: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::PendingApproval => "pending approval",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Scheduled => "scheduled",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Cancelled => "cancelled",
            Self::Recalled => "recalled",
        }
    }
}

/// Something done to a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobAction {
    Edit,
    Preview,
    Submit,
    CancelApproval,
    Approve,
    Reject,
    Schedule,
    StartSending,
    FinishSending,
    CancelSend { recall: bool },
}

impl JobAction {
    pub fn name(self) -> &'static str {
        match self {
            Self::Edit => "update",
            Self::Preview => "preview",
            Self::Submit => "submit_approve",
            Self::CancelApproval => "cancel_approve",
            Self::Approve => "approve",
            Self::Reject => "reject",
            Self::Schedule => "execute_send",
            Self::StartSending => "start sending",
            Self::FinishSending => "finish sending",
            Self::CancelSend { recall: false } => "cancel_send",
            Self::CancelSend { recall: true } => "cancel_send with is_recall",
        }
    }
}

/// A refused transition: nothing changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub struct TransitionError {
    pub from: JobStatus,
    pub action: JobAction,
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the notification is {} (status {}): {} is not allowed",
            self.from.name(),
            self.from.code(),
            self.action.name()
        )
    }
}

/// The state after `action` on a job in `from` (see the module doc's table).
pub fn transition(from: JobStatus, action: JobAction) -> Result<JobStatus, TransitionError> {
    use JobAction as A;
    use JobStatus as S;
    let to = match (from, action) {
        (S::Draft | S::Rejected, A::Edit) => S::Draft,
        (any, A::Preview) => any,
        (S::Draft | S::Rejected, A::Submit) => S::PendingApproval,
        (S::PendingApproval | S::Approved, A::CancelApproval) => S::Draft,
        (S::PendingApproval, A::Approve) => S::Approved,
        (S::PendingApproval, A::Reject) => S::Rejected,
        (S::Approved | S::Scheduled, A::Schedule) => S::Scheduled,
        (S::Scheduled, A::StartSending) => S::Sending,
        (S::Sending, A::FinishSending) => S::Sent,
        (S::Approved | S::Scheduled, A::CancelSend { .. }) => S::Cancelled,
        (S::Sending, A::CancelSend { recall }) => {
            if recall {
                S::Recalled
            } else {
                S::Cancelled
            }
        }
        (S::Sent, A::CancelSend { recall: true }) => S::Recalled,
        _ => return Err(TransitionError { from, action }),
    };
    Ok(to)
}

/// The `approve_status` of the `helpdesk.notification.approve_v1` event an action pushes.
pub fn approve_status(action: JobAction) -> Option<&'static str> {
    match action {
        JobAction::Approve => Some("APPROVED"),
        JobAction::Reject => Some("REJECTED"),
        JobAction::CancelApproval => Some("CANCELED"),
        _ => None,
    }
}

/// What [`check_job`] looks at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobShape {
    pub job_name: String,
    pub push_content: String,
    pub push_type: Option<i64>,
    pub push_scope_type: Option<i64>,
    pub new_staff_scope_type: Option<i64>,
    pub new_staff_departments: usize,
    pub users: usize,
    pub departments: usize,
    pub chats: usize,
}

/// Feishu's rules for a job's content (see the module doc); the reason when broken.
pub fn check_job(job: &JobShape) -> Result<(), String> {
    if job.job_name.trim().is_empty() {
        return Err("job_name is required".into());
    }
    if job.push_content.trim().is_empty() {
        return Err("push_content is required".into());
    }
    let push_type = job.push_type.ok_or("push_type is required")?;
    let scope = job.push_scope_type.ok_or("push_scope_type is required")?;
    if !(0..=1).contains(&push_type) {
        return Err("push_type must be 0 (scheduled) or 1 (new hires)".into());
    }
    if !(0..=3).contains(&scope) {
        return Err("push_scope_type must be 0, 1, 2 or 3".into());
    }
    match push_type {
        0 if scope == 3 => return Err("push_type 0 cannot use push_scope_type 3".into()),
        1 => {
            if scope != 1 && scope != 3 {
                return Err("push_type 1 needs push_scope_type 1 or 3".into());
            }
            match job.new_staff_scope_type {
                None => return Err("push_type 1 needs new_staff_scope_type".into()),
                Some(0) => {}
                Some(1) if job.new_staff_departments > 0 => {}
                Some(1) => {
                    return Err("new_staff_scope_type 1 needs new_staff_scope_department_list".into());
                }
                Some(_) => return Err("new_staff_scope_type must be 0 or 1".into()),
            }
        }
        _ => {}
    }
    match scope {
        0 | 1 if job.users + job.departments > 0 => Err(format!(
            "push_scope_type {scope} takes no user_list or department_list"
        )),
        1 if job.chats == 0 => Err("push_scope_type 1 needs chat_list".into()),
        2 if job.users + job.departments == 0 => {
            Err("push_scope_type 2 needs user_list or department_list".into())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use JobAction as A;
    use JobStatus as S;

    const ACTIONS: [JobAction; 11] = [
        A::Edit,
        A::Preview,
        A::Submit,
        A::CancelApproval,
        A::Approve,
        A::Reject,
        A::Schedule,
        A::StartSending,
        A::FinishSending,
        A::CancelSend { recall: false },
        A::CancelSend { recall: true },
    ];

    /// Every allowed (from, action, to); every pair not listed must be refused.
    const ALLOWED: &[(JobStatus, JobAction, JobStatus)] = &[
        (S::Draft, A::Edit, S::Draft),
        (S::Rejected, A::Edit, S::Draft),
        (S::Draft, A::Preview, S::Draft),
        (S::PendingApproval, A::Preview, S::PendingApproval),
        (S::Approved, A::Preview, S::Approved),
        (S::Rejected, A::Preview, S::Rejected),
        (S::Scheduled, A::Preview, S::Scheduled),
        (S::Sending, A::Preview, S::Sending),
        (S::Sent, A::Preview, S::Sent),
        (S::Cancelled, A::Preview, S::Cancelled),
        (S::Recalled, A::Preview, S::Recalled),
        (S::Draft, A::Submit, S::PendingApproval),
        (S::Rejected, A::Submit, S::PendingApproval),
        (S::PendingApproval, A::CancelApproval, S::Draft),
        (S::Approved, A::CancelApproval, S::Draft),
        (S::PendingApproval, A::Approve, S::Approved),
        (S::PendingApproval, A::Reject, S::Rejected),
        (S::Approved, A::Schedule, S::Scheduled),
        (S::Scheduled, A::Schedule, S::Scheduled),
        (S::Scheduled, A::StartSending, S::Sending),
        (S::Sending, A::FinishSending, S::Sent),
        (S::Approved, A::CancelSend { recall: false }, S::Cancelled),
        (S::Approved, A::CancelSend { recall: true }, S::Cancelled),
        (S::Scheduled, A::CancelSend { recall: false }, S::Cancelled),
        (S::Scheduled, A::CancelSend { recall: true }, S::Cancelled),
        (S::Sending, A::CancelSend { recall: false }, S::Cancelled),
        (S::Sending, A::CancelSend { recall: true }, S::Recalled),
        (S::Sent, A::CancelSend { recall: true }, S::Recalled),
    ];

    #[test]
    fn every_transition() {
        for from in S::ALL {
            for action in ACTIONS {
                let want = ALLOWED
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action)
                    .map(|(_, _, to)| *to);
                match (transition(from, action), want) {
                    (Ok(got), Some(want)) => assert_eq!(got, want, "{from:?} {action:?}"),
                    (Err(e), None) => {
                        assert_eq!(e, TransitionError { from, action });
                        assert!(e.to_string().contains(from.name()), "{e}");
                    }
                    (got, want) => panic!("{from:?} {action:?}: got {got:?}, want {want:?}"),
                }
            }
        }
    }

    #[test]
    fn codes_round_trip_and_draft_is_zero() {
        assert_eq!(S::Draft.code(), 0);
        for s in S::ALL {
            assert_eq!(S::from_code(s.code()), Some(s));
        }
        assert_eq!(S::from_code(9), None);
        assert_eq!(S::from_code(-1), None);
    }

    #[test]
    fn approve_events() {
        assert_eq!(approve_status(A::Approve), Some("APPROVED"));
        assert_eq!(approve_status(A::Reject), Some("REJECTED"));
        assert_eq!(approve_status(A::CancelApproval), Some("CANCELED"));
        for a in ACTIONS {
            if !matches!(a, A::Approve | A::Reject | A::CancelApproval) {
                assert_eq!(approve_status(a), None, "{a:?}");
            }
        }
    }

    fn shape(push_type: i64, scope: i64) -> JobShape {
        JobShape {
            job_name: "job".into(),
            push_content: "{}".into(),
            push_type: Some(push_type),
            push_scope_type: Some(scope),
            ..JobShape::default()
        }
    }

    #[test]
    fn job_content_rules() {
        let with = |mut s: JobShape, f: fn(&mut JobShape)| {
            f(&mut s);
            s
        };
        let cases: Vec<(JobShape, bool)> = vec![
            (shape(0, 0), true),
            (with(shape(0, 0), |s| s.chats = 2), true),
            (with(shape(0, 0), |s| s.users = 1), false),
            (shape(0, 1), false),
            (with(shape(0, 1), |s| s.chats = 1), true),
            (
                with(shape(0, 1), |s| {
                    s.chats = 1;
                    s.departments = 1;
                }),
                false,
            ),
            (shape(0, 2), false),
            (with(shape(0, 2), |s| s.users = 1), true),
            (with(shape(0, 2), |s| s.departments = 1), true),
            (shape(0, 3), false),
            (shape(0, 4), false),
            (shape(2, 0), false),
            (with(shape(1, 3), |s| s.new_staff_scope_type = Some(0)), true),
            (shape(1, 3), false),
            (with(shape(1, 3), |s| s.new_staff_scope_type = Some(1)), false),
            (
                with(shape(1, 3), |s| {
                    s.new_staff_scope_type = Some(1);
                    s.new_staff_departments = 1;
                }),
                true,
            ),
            (with(shape(1, 3), |s| s.new_staff_scope_type = Some(2)), false),
            (
                with(shape(1, 2), |s| {
                    s.new_staff_scope_type = Some(0);
                    s.users = 1;
                }),
                false,
            ),
            (
                with(shape(1, 1), |s| {
                    s.new_staff_scope_type = Some(0);
                    s.chats = 1;
                }),
                true,
            ),
            (with(shape(0, 0), |s| s.job_name = " ".into()), false),
            (with(shape(0, 0), |s| s.push_content = String::new()), false),
            (with(shape(0, 0), |s| s.push_type = None), false),
            (with(shape(0, 0), |s| s.push_scope_type = None), false),
        ];
        for (job, ok) in cases {
            assert_eq!(check_job(&job).is_ok(), ok, "{job:?}: {:?}", check_job(&job));
        }
    }

    fn action() -> impl Strategy<Value = JobAction> {
        (0..ACTIONS.len()).prop_map(|i| ACTIONS[i])
    }

    proptest! {
        /// Whatever happens, a job never leaves a final state except by recalling what was
        /// sent, and a refused action changes nothing (the caller keeps `from`).
        #[test]
        fn walks_stay_in_the_machine(actions in proptest::collection::vec(action(), 0..40)) {
            let mut status = S::Draft;
            let mut approved_once = false;
            for a in actions {
                if let Ok(next) = transition(status, a) {
                    if matches!(status, S::Cancelled | S::Recalled) {
                        prop_assert_eq!(next, status);
                    }
                    if next == S::Scheduled {
                        prop_assert!(approved_once, "scheduled without an approval");
                    }
                    if next == S::Approved {
                        approved_once = true;
                    }
                    if next == S::Draft {
                        approved_once = false;
                    }
                    status = next;
                }
            }
        }
    }
}
