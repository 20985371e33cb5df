//! Customized field definitions. Note the string-typed `position` and string millisecond
//! `created_at`/`updated_at`, unlike the ticket's display items.

use serde::{Deserialize, Serialize};

use crate::ticket::TicketUser;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DropdownOption {
    pub tag: String,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(no_recursion)]
    pub children: Vec<DropdownOption>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DropdownOptions {
    #[serde(default)]
    pub children: Vec<DropdownOption>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TicketCustomizedField {
    pub ticket_customized_field_id: String,
    pub helpdesk_id: String,
    pub key_name: String,
    pub display_name: String,
    pub position: String,
    pub field_type: String,
    pub description: String,
    pub visible: bool,
    pub editable: bool,
    pub required: bool,
    pub created_at: String,
    pub updated_at: String,
    pub created_by: TicketUser,
    pub updated_by: TicketUser,
    pub dropdown_allow_multiple: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropdown_options: Option<DropdownOptions>,
}

/// `data` of `GET /ticket_customized_fields`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListTicketCustomizedFieldsData {
    pub has_more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
    pub items: Vec<TicketCustomizedField>,
}

/// `data` of `GET /customized_fields`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CustomizedFieldsData {
    pub user_customized_fields: Vec<serde_json::Value>,
    pub ticket_customized_fields: Vec<TicketCustomizedField>,
}
