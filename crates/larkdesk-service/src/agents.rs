//! Agents of a helpdesk: their status, schedules and skills (`/agents`, `/agent_schedules`,
//! `/agent_skills`, `/agent_skill_rules`, `/agent_emails`), and the routing that uses them:
//! tickets waiting for a human go to an agent as `larkdesk_domain::routing` decides, through
//! the same `AgentEntered` event as a manual `agent_enter`.
//!
//! Routing runs when a ticket starts waiting (a guest asks for a human, its last agent leaves,
//! it is reopened without agents, or it is opened in the human stage) and whenever who could
//! take a ticket may have changed: an agent's status, schedules, skills, and the admin clock;
//! and every 30 s ([`run_routing`], started by `serve`), for schedules that open as time passes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use larkdesk_domain::events::{Actor, EventKind, TicketEvent};
use larkdesk_domain::ids::{self, TicketId};
use larkdesk_domain::routing::{self, Candidate, Facts, Queued, Rule};
use larkdesk_store::prelude::*;
use larkdesk_store::{AgentState, Helpdesk, ScheduleWrite, SkillRecord, StoreError, StoredRule, UserRecord};
use larkdesk_wire::agents::{
    AgentSchedule, AgentSkill, AgentSkillLessInfo, AgentSkillRule, AgentUser, WeekdaySchedule,
};
use larkdesk_wire::ticket::{Ticket, TicketUser};

use crate::tickets::{self, Acted, Action, Tickets};
use crate::{Caller, Clock, Error, Result};

/// A skill rule as a request gives it.
#[derive(Debug, Clone, Default)]
pub struct RuleInput {
    pub id: Option<String>,
    pub selected_operator: Option<i64>,
    /// The operand as JSON text (an object operand is given as its text).
    pub operand: String,
}

/// One agent's schedule as a request gives it.
#[derive(Debug, Clone, Default)]
pub struct ScheduleInput {
    pub agent_id: Option<String>,
    pub schedule: Option<Vec<WeekdaySchedule>>,
    pub agent_skill_ids: Option<Vec<String>>,
}

/// A change to a skill: the attributes given are replaced.
#[derive(Debug, Clone, Default)]
pub struct SkillPatch {
    pub name: Option<String>,
    pub rules: Option<Vec<RuleInput>>,
    pub agent_ids: Option<Vec<String>>,
}

#[derive(Clone)]
pub struct Agents {
    store: Arc<dyn Store>,
    clock: Clock,
    tickets: Tickets,
}

fn agent_user(u: &TicketUser) -> AgentUser {
    AgentUser {
        id: u.id.clone(),
        avatar_url: u.avatar_url.clone(),
        name: u.name.clone(),
        email: u.email.clone(),
        department: u.department.clone(),
        company_name: String::new(),
    }
}

fn waiting(t: &Ticket) -> bool {
    t.status == larkdesk_domain::status::TicketStatus::Queued.code() && t.agents.is_empty()
}

fn parse_slots(
    schedule: &[WeekdaySchedule],
) -> std::result::Result<Vec<routing::Slot>, routing::RoutingError> {
    routing::parse_schedule(
        schedule
            .iter()
            .map(|s| (s.weekday, s.start_time.as_str(), s.end_time.as_str())),
    )
}

fn rules(input: Vec<RuleInput>) -> Result<Vec<StoredRule>> {
    input
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let id =
                r.id.filter(|id| !id.is_empty())
                    .ok_or_else(|| Error::invalid(format!("rules[{i}].id is required")))?;
            let op = r
                .selected_operator
                .ok_or_else(|| Error::invalid(format!("rules[{i}].selected_operator is required")))?;
            routing::check_rule(&id, op).map_err(|e| Error::invalid(e.to_string()))?;
            Ok(StoredRule {
                id,
                selected_operator: op,
                operand: r.operand,
            })
        })
        .collect()
}

fn domain_rules(rules: &[StoredRule]) -> Vec<Rule> {
    rules
        .iter()
        .map(|r| Rule {
            id: r.id.clone(),
            operator: r.selected_operator,
            values: routing::operand_values(&r.operand),
        })
        .collect()
}

fn wire_rule(r: &StoredRule) -> AgentSkillRule {
    let spec = routing::rule_spec(&r.id);
    AgentSkillRule {
        id: r.id.clone(),
        selected_operator: Some(r.selected_operator),
        operator_options: spec.map(|s| s.operator_options.to_vec()).unwrap_or_default(),
        operand: r.operand.clone(),
        category: spec.map_or(0, |s| s.category),
        display_name: spec.map(|s| s.display_name.to_owned()).unwrap_or_default(),
    }
}

impl Agents {
    pub fn new(store: Arc<dyn Store>, clock: Clock, tickets: Tickets) -> Self {
        Self {
            store,
            clock,
            tickets,
        }
    }

    /// The agent a path names: 404 when the tenant has no such agent.
    async fn agent(&self, caller: &Caller, agent_id: &str) -> Result<UserRecord> {
        match self.store.user(caller.app.tenant_id, agent_id).await {
            Ok(u) if u.is_agent => Ok(u),
            Ok(_) => Err(Error::Missing(format!("{agent_id} is not an agent"))),
            Err(StoreError::NotFound) => Err(Error::Missing(format!("agent {agent_id} not found"))),
            Err(e) => Err(e.into()),
        }
    }

    /// Agents a body names: 400 when one is not an agent of the tenant.
    async fn check_agents(&self, caller: &Caller, agent_ids: &[String]) -> Result<()> {
        let agents: HashSet<String> = self.directory_agents(caller).await?.into_keys().collect();
        match agent_ids.iter().find(|a| !agents.contains(*a)) {
            Some(a) => Err(Error::invalid(format!("{a} is not an agent of this tenant"))),
            None => Ok(()),
        }
    }

    async fn directory_agents(&self, caller: &Caller) -> Result<HashMap<String, TicketUser>> {
        Ok(self
            .store
            .users(caller.app.tenant_id)
            .await?
            .into_iter()
            .filter(|(_, agent)| *agent)
            .map(|(u, _)| (u.id.clone(), u))
            .collect())
    }

    async fn check_skills(&self, caller: &Caller, skill_ids: &[String]) -> Result<()> {
        let known: HashSet<String> = self
            .store
            .skills(&caller.helpdesk)
            .await?
            .into_iter()
            .map(|s| s.skill_id)
            .collect();
        match skill_ids.iter().find(|s| !known.contains(*s)) {
            Some(s) => Err(Error::invalid(format!("agent skill {s} does not exist"))),
            None => Ok(()),
        }
    }

    /// `PATCH /agents/:agent_id`: 1 online, 2 offline.
    pub async fn set_status(&self, caller: &Caller, agent_id: &str, status: Option<i64>) -> Result<()> {
        self.agent(caller, agent_id).await?;
        let status = status
            .filter(|s| [routing::ONLINE, routing::OFFLINE].contains(s))
            .ok_or_else(|| Error::InvalidParam("status must be 1 (online) or 2 (offline)".into()))?;
        self.store
            .set_agent_status(&caller.helpdesk, agent_id, status)
            .await?;
        self.route(&caller.helpdesk).await?;
        Ok(())
    }

    /// `GET /agent_emails`: the tenant's agents' emails by open_id, as JSON text (see README).
    pub async fn emails(&self, caller: &Caller) -> Result<String> {
        let emails: BTreeMap<String, String> = self
            .directory_agents(caller)
            .await?
            .into_values()
            .filter(|u| !u.email.is_empty())
            .map(|u| (u.id, u.email))
            .collect();
        Ok(serde_json::to_string(&emails).unwrap_or_default())
    }

    fn schedule_view(
        &self,
        user: &TicketUser,
        state: Option<&AgentState>,
        skills: &[SkillRecord],
        now_ms: i64,
    ) -> AgentSchedule {
        let schedule = state.and_then(|s| s.schedule.clone()).unwrap_or_default();
        let duty = parse_slots(&schedule).is_ok_and(|slots| routing::on_duty(&slots, now_ms));
        let status = state.map_or(routing::ONLINE, |s| s.status);
        AgentSchedule {
            status: routing::shown_status(state.is_some_and(|s| s.removed), status, duty),
            agent: agent_user(user),
            schedule,
            agent_skills: skills
                .iter()
                .filter(|s| s.agent_ids.contains(&user.id))
                .map(|s| AgentSkillLessInfo {
                    id: s.skill_id.clone(),
                    name: s.name.clone(),
                    is_default: s.is_default,
                })
                .collect(),
        }
    }

    /// `GET /agents/:agent_id/schedules`.
    pub async fn schedule(&self, caller: &Caller, agent_id: &str) -> Result<AgentSchedule> {
        let user = self.agent(caller, agent_id).await?;
        let state = self.store.agent_state(&caller.helpdesk, agent_id).await?;
        let skills = self.store.skills(&caller.helpdesk).await?;
        Ok(self.schedule_view(&user.user, state.as_ref(), &skills, self.clock.now_ms()))
    }

    /// `GET /agent_schedules?status=…`: the roster's agents whose shown status is one of
    /// `statuses` (every agent when none is given).
    pub async fn schedules(&self, caller: &Caller, statuses: &[i64]) -> Result<Vec<AgentSchedule>> {
        if let Some(bad) = statuses.iter().find(|s| !(1..=4).contains(*s)) {
            return Err(Error::invalid(format!("status must be 1, 2, 3 or 4, not {bad}")));
        }
        let directory = self.directory_agents(caller).await?;
        let states = self.store.agent_states(&caller.helpdesk).await?;
        let skills = self.store.skills(&caller.helpdesk).await?;
        let now = self.clock.now_ms();
        Ok(states
            .iter()
            .filter_map(|s| {
                directory
                    .get(&s.agent_id)
                    .map(|u| self.schedule_view(u, Some(s), &skills, now))
            })
            .filter(|v| statuses.is_empty() || statuses.contains(&v.status))
            .collect())
    }

    async fn put(&self, caller: &Caller, inputs: Vec<(String, ScheduleInput)>) -> Result<()> {
        let mut seen = HashSet::new();
        let mut schedules = Vec::with_capacity(inputs.len());
        for (agent_id, input) in &inputs {
            if !seen.insert(agent_id.as_str()) {
                return Err(Error::invalid(format!("agent {agent_id} is given twice")));
            }
            let schedule = match &input.schedule {
                Some(s) => s.clone(),
                None => self
                    .store
                    .agent_state(&caller.helpdesk, agent_id)
                    .await?
                    .and_then(|s| s.schedule)
                    .unwrap_or_default(),
            };
            parse_slots(&schedule).map_err(|e| Error::invalid(format!("agent {agent_id}: {e}")))?;
            if let Some(ids) = &input.agent_skill_ids {
                self.check_skills(caller, ids).await?;
            }
            schedules.push((agent_id.as_str(), schedule, input.agent_skill_ids.as_deref()));
        }
        let writes: Vec<ScheduleWrite<'_>> = schedules
            .iter()
            .map(|(agent_id, schedule, skill_ids)| ScheduleWrite {
                agent_id,
                schedule,
                skill_ids: *skill_ids,
            })
            .collect();
        self.store.put_schedules(&caller.helpdesk, &writes).await?;
        self.route(&caller.helpdesk).await?;
        Ok(())
    }

    /// `PATCH /agents/:agent_id/schedules`: replace the agent's schedule (and skills if given).
    pub async fn set_schedule(&self, caller: &Caller, agent_id: &str, input: ScheduleInput) -> Result<()> {
        self.agent(caller, agent_id).await?;
        self.put(caller, vec![(agent_id.to_owned(), input)]).await
    }

    /// `POST /agent_schedules`: set several agents' schedules, all or none.
    pub async fn create_schedules(&self, caller: &Caller, inputs: Vec<ScheduleInput>) -> Result<()> {
        if inputs.is_empty() {
            return Err(Error::invalid("agent_schedules is required"));
        }
        let mut named = Vec::with_capacity(inputs.len());
        for (i, input) in inputs.into_iter().enumerate() {
            let agent_id = input
                .agent_id
                .clone()
                .filter(|a| !a.is_empty())
                .ok_or_else(|| Error::invalid(format!("agent_schedules[{i}].agent_id is required")))?;
            named.push((agent_id, input));
        }
        let ids: Vec<String> = named.iter().map(|(a, _)| a.clone()).collect();
        self.check_agents(caller, &ids).await?;
        self.put(caller, named).await
    }

    /// `DELETE /agents/:agent_id/schedules`: the agent is removed from routing.
    pub async fn delete_schedule(&self, caller: &Caller, agent_id: &str) -> Result<()> {
        self.agent(caller, agent_id).await?;
        match self.store.remove_schedule(&caller.helpdesk, agent_id).await {
            Err(StoreError::NotFound) => Err(Error::Missing(format!("agent {agent_id} has no schedule"))),
            other => Ok(other?),
        }
    }

    fn skill_view(
        &self,
        caller: &Caller,
        s: SkillRecord,
        directory: &HashMap<String, TicketUser>,
    ) -> AgentSkill {
        AgentSkill {
            id: s.skill_id.clone(),
            helpdesk_id: caller.helpdesk.helpdesk_id.clone(),
            name: s.name,
            rules: s.rules.iter().map(wire_rule).collect(),
            agents: s
                .agent_ids
                .iter()
                .map(|a| {
                    directory.get(a).map_or_else(
                        || AgentUser {
                            id: a.clone(),
                            ..AgentUser::default()
                        },
                        agent_user,
                    )
                })
                .collect(),
            agent_ids: s.agent_ids,
            is_default: s.is_default,
            agent_skill_id: s.skill_id,
        }
    }

    /// `POST /agent_skills`; returns the new skill's id.
    pub async fn create_skill(
        &self,
        caller: &Caller,
        name: String,
        rule_input: Vec<RuleInput>,
        agent_ids: Vec<String>,
    ) -> Result<String> {
        larkdesk_domain::limits::bounded("name", &name, larkdesk_domain::limits::NAME_MAX_BYTES)
            .map_err(Error::Invalid)?;
        let rules = rules(rule_input)?;
        self.check_agents(caller, &agent_ids).await?;
        let skill = SkillRecord {
            skill_id: ids::new_numeric_id(),
            name,
            rules,
            is_default: false,
            agent_ids,
        };
        self.store
            .create_skill(&caller.helpdesk, &skill, self.clock.now_ms())
            .await?;
        self.route(&caller.helpdesk).await?;
        Ok(skill.skill_id)
    }

    pub async fn skills(&self, caller: &Caller) -> Result<Vec<AgentSkill>> {
        let directory = self.directory_agents(caller).await?;
        Ok(self
            .store
            .skills(&caller.helpdesk)
            .await?
            .into_iter()
            .map(|s| self.skill_view(caller, s, &directory))
            .collect())
    }

    pub async fn skill(&self, caller: &Caller, skill_id: &str) -> Result<AgentSkill> {
        let s = self.store.skill(&caller.helpdesk, skill_id).await?;
        let directory = self.directory_agents(caller).await?;
        Ok(self.skill_view(caller, s, &directory))
    }

    pub async fn update_skill(&self, caller: &Caller, skill_id: &str, patch: SkillPatch) -> Result<()> {
        let mut s = self.store.skill(&caller.helpdesk, skill_id).await?;
        if let Some(name) = patch.name {
            larkdesk_domain::limits::bounded("name", &name, larkdesk_domain::limits::NAME_MAX_BYTES)
                .map_err(Error::Invalid)?;
            s.name = name;
        }
        if let Some(r) = patch.rules {
            s.rules = rules(r)?;
        }
        if let Some(agent_ids) = patch.agent_ids {
            self.check_agents(caller, &agent_ids).await?;
            s.agent_ids = agent_ids;
        }
        self.store.update_skill(&caller.helpdesk, &s).await?;
        self.route(&caller.helpdesk).await?;
        Ok(())
    }

    pub async fn delete_skill(&self, caller: &Caller, skill_id: &str) -> Result<()> {
        self.store.delete_skill(&caller.helpdesk, skill_id).await?;
        self.route(&caller.helpdesk).await?;
        Ok(())
    }

    /// `GET /agent_skill_rules`: the catalogue.
    pub fn rule_catalogue(&self) -> Vec<AgentSkillRule> {
        routing::RULES
            .iter()
            .map(|r| AgentSkillRule {
                id: r.id.to_owned(),
                selected_operator: None,
                operator_options: r.operator_options.to_vec(),
                operand: String::new(),
                category: r.category,
                display_name: r.display_name.to_owned(),
            })
            .collect()
    }

    /// An emulator action, then routing if it left the ticket waiting for an agent. Returns
    /// the ticket as it is after both.
    pub async fn act(&self, helpdesk: &Helpdesk, id: TicketId, action: Action) -> Result<Acted> {
        let mut acted = self.tickets.act(helpdesk, id, action).await?;
        if waiting(&acted.ticket) && self.queue(helpdesk, &acted.ticket).await? {
            acted.ticket = self.tickets.get(helpdesk, id).await?;
        }
        Ok(acted)
    }

    /// Queue a ticket that waits for an agent and route; true when routing assigned it.
    pub async fn queue(&self, helpdesk: &Helpdesk, ticket: &Ticket) -> Result<bool> {
        if !waiting(ticket) {
            return Ok(false);
        }
        let Some(id) = TicketId::parse(&ticket.ticket_id) else {
            return Ok(false);
        };
        self.store
            .enqueue_ticket(helpdesk, id, self.clock.now_ms())
            .await?;
        Ok(self.route(helpdesk).await?.contains(&id))
    }

    /// Route every helpdesk's queue (after the admin clock moved).
    pub async fn route_all(&self) -> Result<()> {
        for helpdesk_id in self.store.helpdesks_with_queue().await? {
            let helpdesk = self.store.helpdesk_by_public_id(&helpdesk_id).await?;
            self.route(&helpdesk).await?;
        }
        Ok(())
    }

    /// Drain a helpdesk's queue: assign what agents can take now. Returns the tickets assigned.
    pub async fn route(&self, helpdesk: &Helpdesk) -> Result<Vec<TicketId>> {
        let queued_ids = self.store.queued_tickets(helpdesk).await?;
        if queued_ids.is_empty() {
            return Ok(Vec::new());
        }
        // The roster holds only people checked to be agents when they joined it (and an
        // agent stays one), so the directory is not read here.
        let states = self.store.agent_states(helpdesk).await?;
        let now = self.clock.now_ms();
        let mut roster: Vec<Candidate> = states
            .into_iter()
            .map(|s| Candidate {
                slots: parse_slots(s.schedule.as_deref().unwrap_or_default()).unwrap_or_default(),
                skills: Vec::new(),
                agent_id: s.agent_id,
                removed: s.removed,
                status: s.status,
                last_routed_at: s.last_routed_at,
            })
            .collect();
        // Nobody can take any ticket now: leave the skills and the queue unread (it may be
        // long).
        if !roster
            .iter()
            .any(|c| !c.removed && c.status == routing::ONLINE && routing::on_duty(&c.slots, now))
        {
            return Ok(Vec::new());
        }
        let skills = self.store.skills(helpdesk).await?;
        for c in &mut roster {
            c.skills = skills
                .iter()
                .filter(|k| k.agent_ids.contains(&c.agent_id))
                .map(|k| domain_rules(&k.rules))
                .collect();
        }
        let mut queue = Vec::with_capacity(queued_ids.len());
        let mut ids = Vec::with_capacity(queued_ids.len());
        for id in queued_ids {
            match self.tickets.get(helpdesk, id).await {
                Ok(t) => {
                    queue.push(Queued {
                        status: t.status,
                        has_agents: !t.agents.is_empty(),
                        facts: Facts {
                            city: t.guest.city.clone(),
                            user_id: t.guest.id.clone(),
                            department: t.guest.department.clone(),
                        },
                    });
                    ids.push(id);
                }
                Err(Error::NotFound) => self.store.dequeue_ticket(helpdesk, id).await?,
                Err(e) => return Err(e),
            }
        }
        let plan = routing::drain(&queue, &mut roster, now);
        let mut assigned = Vec::new();
        for ((id, q), choice) in ids.into_iter().zip(&queue).zip(plan) {
            if !q.waiting() {
                self.store.dequeue_ticket(helpdesk, id).await?;
                continue;
            }
            let Some(i) = choice else { continue };
            let agent = &roster[i];
            let event = TicketEvent {
                at_ms: now,
                actor: Actor::System,
                kind: EventKind::AgentEntered {
                    agent_id: agent.agent_id.clone(),
                },
            };
            // Decided again on the locked ticket: a concurrent drain or a manual agent_enter
            // may have taken it since it was read.
            let result = tickets::change(&*self.store, helpdesk, id, |t, _| {
                if waiting(t) {
                    Ok(vec![event])
                } else {
                    Err(Error::Conflict("no longer waiting".into()))
                }
            })
            .await;
            match result {
                Ok(_) => {
                    self.store
                        .mark_routed(helpdesk, &agent.agent_id, agent.last_routed_at)
                        .await?;
                    assigned.push(id);
                }
                Err(Error::Conflict(_) | Error::Lifecycle(_) | Error::NotFound) => {}
                Err(e) => return Err(e),
            }
            self.store.dequeue_ticket(helpdesk, id).await?;
        }
        Ok(assigned)
    }
}

/// Route every helpdesk's queue every `every`, so tickets waiting for an agent whose schedule
/// opens as the wall clock moves (nothing else changing) are assigned within that time.
pub async fn run_routing(agents: Agents, every: std::time::Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(e) = agents.route_all().await {
            tracing::warn!(error = %e, "routing the queues failed; retrying at the next tick");
        }
    }
}
