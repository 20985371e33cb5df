//! Rows of the console-side entities (tenants, apps, helpdesks).

use larkdesk_domain::credentials::SecretHash;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: i64,
    pub tenant_key: String,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppType {
    /// A self-built app ("Custom App"), the only kind the helpdesk API accepts.
    Custom,
    /// An app-store app.
    Store,
}

impl AppType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Custom => "custom",
            Self::Store => "store",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "custom" => Some(Self::Custom),
            "store" => Some(Self::Store),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct App {
    pub id: i64,
    pub app_id: String,
    pub tenant_id: i64,
    pub name: String,
    pub app_type: AppType,
    pub scopes: Vec<String>,
    pub secret_hash: SecretHash,
}

#[derive(Debug, Clone)]
pub struct NewApp {
    pub app_id: String,
    pub tenant_id: i64,
    pub name: String,
    pub app_type: AppType,
    pub scopes: Vec<String>,
    pub secret_hash: SecretHash,
}

#[derive(Debug, Clone)]
pub struct Helpdesk {
    pub id: i64,
    pub helpdesk_id: String,
    pub tenant_id: i64,
    pub name: String,
    pub token_hash: SecretHash,
}

#[derive(Debug, Clone)]
pub struct NewHelpdesk {
    pub helpdesk_id: String,
    pub tenant_id: i64,
    pub name: String,
    pub token_hash: SecretHash,
}
