//! Agents, schedules, skills and skill rules: `/agents/:agent_id`, `/agent_emails`,
//! `/agents/:agent_id/schedules`, `/agent_schedules`, `/agent_skills`, `/agent_skill_rules`.
//! Bodies are taken the way lark-oapi and node-sdk send them; read-only fields that SDKs send
//! with whole objects (ids, `agents`, `is_default`, …) are ignored.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use larkdesk_service::agents::{RuleInput, ScheduleInput, SkillPatch};
use larkdesk_wire::agents::WeekdaySchedule;
use serde::Deserialize;
use serde_json::json;

use super::tickets::Body;
use crate::auth::CallerHeaders;
use crate::endpoints::Endpoint;
use crate::error::{ApiError, ApiResult};
use crate::json::{parse_body, required, success};
use crate::query::QueryParams;
use crate::state::SharedState;

fn path_id(path: Result<Path<String>, PathRejection>) -> ApiResult<String> {
    let Path(id) = path.map_err(|_| ApiError::bad_request())?;
    if id.is_empty() {
        return Err(ApiError::bad_request().with_message("the path id is empty"));
    }
    Ok(id)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = AgentStatus)]
pub(crate) struct StatusBody {
    /// 1 online, 2 offline.
    #[schema(value_type = i64, required = true)]
    status: Option<i64>,
}

/// `PATCH /agents/:agent_id {"status": 1|2}`
pub async fn patch_agent(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult<Response> {
    let caller = state.auth.helpdesk_caller(&headers, Endpoint::PatchAgent).await?;
    let agent_id = path_id(path)?;
    let req: StatusBody = parse_body(body)?;
    state
        .services
        .agents
        .set_status(&caller, &agent_id, req.status)
        .await?;
    Ok(success(json!({})))
}

/// `GET /agent_emails`: `data.agents` is a string (see README).
pub async fn agent_emails(State(state): State<SharedState>, headers: CallerHeaders) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::AgentEmails)
        .await?;
    let agents = state.services.agents.emails(&caller).await?;
    Ok(success(json!({ "agents": agents })))
}

/// `GET /agents/:agent_id/schedules`
pub async fn get_schedules(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::GetAgentSchedules)
        .await?;
    let agent_id = path_id(path)?;
    let agent_schedule = state.services.agents.schedule(&caller, &agent_id).await?;
    Ok(success(json!({ "agent_schedule": agent_schedule })))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct ScheduleBody {
    agent_id: Option<String>,
    schedule: Option<Vec<WeekdaySchedule>>,
    agent_skill_ids: Option<Vec<String>>,
}

impl From<ScheduleBody> for ScheduleInput {
    fn from(b: ScheduleBody) -> Self {
        Self {
            agent_id: b.agent_id,
            schedule: b.schedule,
            agent_skill_ids: b.agent_skill_ids,
        }
    }
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct PatchSchedulesBody {
    #[schema(value_type = ScheduleBody, required = true)]
    agent_schedule: Option<ScheduleBody>,
}

/// `PATCH /agents/:agent_id/schedules {"agent_schedule": {schedule, agent_skill_ids}}`
pub async fn patch_schedules(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::PatchAgentSchedules)
        .await?;
    let agent_id = path_id(path)?;
    let req: PatchSchedulesBody = parse_body(body)?;
    let input = required(req.agent_schedule, "agent_schedule")?;
    state
        .services
        .agents
        .set_schedule(&caller, &agent_id, input.into())
        .await?;
    Ok(success(json!({})))
}

/// `DELETE /agents/:agent_id/schedules`
pub async fn delete_schedules(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::DeleteAgentSchedules)
        .await?;
    let agent_id = path_id(path)?;
    state.services.agents.delete_schedule(&caller, &agent_id).await?;
    Ok(success(json!({})))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct CreateSchedulesBody {
    #[schema(value_type = Vec<ScheduleBody>, required = true)]
    agent_schedules: Option<Vec<ScheduleBody>>,
}

/// `POST /agent_schedules {"agent_schedules": [{agent_id, schedule, agent_skill_ids}]}`
pub async fn create_schedules(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    body: Body,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::CreateAgentSchedules)
        .await?;
    let req: CreateSchedulesBody = parse_body(body)?;
    let inputs = required(req.agent_schedules, "agent_schedules")?;
    state
        .services
        .agents
        .create_schedules(&caller, inputs.into_iter().map(Into::into).collect())
        .await?;
    Ok(success(json!({})))
}

/// `GET /agent_schedules?status=1&status=2`
pub async fn list_schedules(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::ListAgentSchedules)
        .await?;
    let statuses = QueryParams::parse(raw.as_deref()).ints("status")?;
    let agent_schedules = state.services.agents.schedules(&caller, &statuses).await?;
    Ok(success(json!({ "agent_schedules": agent_schedules })))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct RuleBody {
    id: Option<String>,
    selected_operator: Option<i64>,
    #[serde(default)]
    operand: serde_json::Value,
}

/// A rule's operand: a string as the SDKs send it, or the object Feishu's examples show (kept
/// as its JSON text).
fn rule_inputs(rules: Vec<RuleBody>) -> Vec<RuleInput> {
    rules
        .into_iter()
        .map(|r| RuleInput {
            id: r.id,
            selected_operator: r.selected_operator,
            operand: match r.operand {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            },
        })
        .collect()
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct SkillBody {
    name: Option<String>,
    rules: Option<Vec<RuleBody>>,
    agent_ids: Option<Vec<String>>,
}

/// `POST /agent_skills {name, rules, agent_ids}`
pub async fn create_skill(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    body: Body,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::CreateAgentSkill)
        .await?;
    let req: SkillBody = parse_body(body)?;
    let name = required(req.name.filter(|n| !n.is_empty()), "name")?;
    let agent_skill_id = state
        .services
        .agents
        .create_skill(
            &caller,
            name,
            rule_inputs(req.rules.unwrap_or_default()),
            req.agent_ids.unwrap_or_default(),
        )
        .await?;
    Ok(success(json!({ "agent_skill_id": agent_skill_id })))
}

/// `GET /agent_skills`
pub async fn list_skills(State(state): State<SharedState>, headers: CallerHeaders) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::ListAgentSkills)
        .await?;
    let agent_skills = state.services.agents.skills(&caller).await?;
    Ok(success(json!({ "agent_skills": agent_skills })))
}

/// `GET /agent_skills/:agent_skill_id`
pub async fn get_skill(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::GetAgentSkill)
        .await?;
    let id = path_id(path)?;
    let agent_skill = state.services.agents.skill(&caller, &id).await?;
    Ok(success(json!({ "agent_skill": agent_skill })))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct PatchSkillBody {
    #[schema(value_type = SkillBody, required = true)]
    agent_skill: Option<SkillBody>,
}

/// `PATCH /agent_skills/:agent_skill_id {"agent_skill": {name, rules, agent_ids}}`
pub async fn patch_skill(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::PatchAgentSkill)
        .await?;
    let id = path_id(path)?;
    let req: PatchSkillBody = parse_body(body)?;
    let skill = required(req.agent_skill, "agent_skill")?;
    if skill.name.as_deref() == Some("") {
        return Err(ApiError::bad_request().with_message("name must not be empty"));
    }
    let patch = SkillPatch {
        name: skill.name,
        rules: skill.rules.map(rule_inputs),
        agent_ids: skill.agent_ids,
    };
    state.services.agents.update_skill(&caller, &id, patch).await?;
    Ok(success(json!({})))
}

/// `DELETE /agent_skills/:agent_skill_id`
pub async fn delete_skill(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::DeleteAgentSkill)
        .await?;
    let id = path_id(path)?;
    state.services.agents.delete_skill(&caller, &id).await?;
    Ok(success(json!({})))
}

/// `GET /agent_skill_rules`: the rule catalogue.
pub async fn list_skill_rules(
    State(state): State<SharedState>,
    headers: CallerHeaders,
) -> ApiResult<Response> {
    state
        .auth
        .helpdesk_caller(&headers, Endpoint::ListAgentSkillRules)
        .await?;
    Ok(success(
        json!({ "rules": state.services.agents.rule_catalogue() }),
    ))
}
