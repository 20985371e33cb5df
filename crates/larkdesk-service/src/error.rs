//! What a use case can refuse, typed; the HTTP layer maps each to Feishu's status and code in
//! one place (`larkdesk_api::error`).

use larkdesk_domain::lifecycle::LifecycleError;
use larkdesk_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The ticket, field, message… does not exist (for this caller).
    #[error("not found")]
    NotFound,
    /// Something the request names does not exist; the message says what.
    #[error("{0}")]
    Missing(String),
    /// The request is not acceptable as given; the message says why.
    #[error("{0}")]
    Invalid(String),
    /// A parameter Feishu answers with its older code 150001 ("param is invalis"): an agent
    /// status other than 1 or 2.
    #[error("{0}")]
    InvalidParam(String),
    /// The ticket's lifecycle refuses the change (nothing is written).
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    /// A unique name or id is taken.
    #[error("{0}")]
    Conflict(String),
    /// The caller may not do this; the message says why.
    #[error("{0}")]
    Forbidden(String),
    /// The caller may not use this method at all (Feishu's "Method Forbidden": a user who may
    /// not create pushes).
    #[error("{0}")]
    MethodForbidden(String),
    /// Storage failed (an outage, or data that does not decode): an internal error.
    #[error(transparent)]
    Storage(StoreError),
}

impl Error {
    pub fn invalid(why: impl Into<String>) -> Self {
        Self::Invalid(why.into())
    }
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Self::NotFound,
            StoreError::Conflict(what) => Self::Conflict(what),
            StoreError::BadInput(what) => Self::Invalid(what),
            other => Self::Storage(other),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
