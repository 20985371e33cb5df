//! Agents, their schedules and skills, and FAQ categories, as lark-oapi 1.7.5 and node-sdk
//! 1.74.0 model them. Every field is always sent (the SDKs mark none required in responses,
//! and sending them all is safe); `selected_operator` is left out of the rule catalogue, where
//! no rule has one selected yet.

use serde::{Deserialize, Serialize};

/// An agent as schedules and skills show them (`AgentUser`; skills' `Agent` has the same
/// fields).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentUser {
    pub id: String,
    pub avatar_url: String,
    pub name: String,
    pub email: String,
    pub department: String,
    pub company_name: String,
}

/// One entry of a weekly schedule: `weekday` 1–7 (Monday–Sunday), 9 every day, 10 Monday to
/// Friday, 11 the weekend; times `"HH:MM"`, `end_time` up to `"24:00"`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WeekdaySchedule {
    #[serde(default)]
    pub start_time: String,
    #[serde(default)]
    pub end_time: String,
    #[serde(default)]
    pub weekday: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentSkillLessInfo {
    pub id: String,
    pub name: String,
    pub is_default: bool,
}

/// `GET /agents/:agent_id/schedules` (`agent_schedule`) and `GET /agent_schedules` items.
/// `status`: 1 online, 2 offline (set by the agent), 3 off duty (outside the schedule),
/// 4 removed (the schedule was deleted).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentSchedule {
    pub status: i64,
    pub agent: AgentUser,
    pub schedule: Vec<WeekdaySchedule>,
    pub agent_skills: Vec<AgentSkillLessInfo>,
}

/// A skill rule. `operand` is a string in every official SDK (JSON text such as
/// `{"selected_departments":[{"id":"…","name":"IT"}]}`); requests may send an object, which is
/// kept as its JSON text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentSkillRule {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected_operator: Option<i64>,
    pub operator_options: Vec<i64>,
    pub operand: String,
    pub category: i64,
    pub display_name: String,
}

/// `GET /agent_skills/:id` (`agent_skill`) and `GET /agent_skills` items. `id` and
/// `agent_skill_id` are the same (the newer SDKs have the second).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentSkill {
    pub id: String,
    pub helpdesk_id: String,
    pub name: String,
    pub rules: Vec<AgentSkillRule>,
    pub agent_ids: Vec<String>,
    pub is_default: bool,
    pub agents: Vec<AgentUser>,
    pub agent_skill_id: String,
}

/// A FAQ category. `children` only in `GET /categories` (the tree); `GET /categories/:id`
/// answers [`CategoryFlat`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Category {
    pub category_id: String,
    pub id: String,
    pub name: String,
    pub parent_id: String,
    pub helpdesk_id: String,
    pub language: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(no_recursion)]
    pub children: Option<Vec<Category>>,
}

/// `GET /categories/:id`: the category flat in `data`, without `parent_id` (all SDKs agree).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CategoryFlat {
    pub category_id: String,
    pub id: String,
    pub name: String,
    pub helpdesk_id: String,
    pub language: String,
}

impl From<Category> for CategoryFlat {
    fn from(c: Category) -> Self {
        Self {
            category_id: c.category_id,
            id: c.id,
            name: c.name,
            helpdesk_id: c.helpdesk_id,
            language: c.language,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_schedule_serializes_as_the_sdks_parse_it() {
        let s = AgentSchedule {
            status: 1,
            agent: AgentUser {
                id: "ou_1".into(),
                ..Default::default()
            },
            schedule: vec![WeekdaySchedule {
                start_time: "00:00".into(),
                end_time: "24:00".into(),
                weekday: 9,
            }],
            agent_skills: vec![],
        };
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({"status": 1, "agent": {"id": "ou_1", "avatar_url": "", "name": "", "email": "",
                   "department": "", "company_name": ""},
                   "schedule": [{"start_time": "00:00", "end_time": "24:00", "weekday": 9}],
                   "agent_skills": []})
        );
    }

    #[test]
    fn the_catalogue_leaves_out_selected_operator_and_lists_omit_children_when_flat() {
        let rule = AgentSkillRule {
            id: "3".into(),
            operator_options: vec![5, 6],
            ..Default::default()
        };
        assert!(
            serde_json::to_value(&rule)
                .unwrap()
                .get("selected_operator")
                .is_none()
        );
        let c = Category::default();
        assert!(serde_json::to_value(&c).unwrap().get("children").is_none());
    }
}
