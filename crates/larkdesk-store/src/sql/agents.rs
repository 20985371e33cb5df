//! Agents as routing sees them (`helpdesk_agents`), skills and their members, the routing queue.

use async_trait::async_trait;
use larkdesk_domain::ids::TicketId;

use super::{SqlStore, conflict_or, found};
use crate::backend::{Backend, Columns, On, sql};
use crate::rows::{json_column, to_json};
use crate::{AgentState, AgentStore, Helpdesk, ScheduleWrite, SkillRecord, StoreResult};

const AGENT_COLUMNS: &str = "agent_id, status, schedule, removed, last_routed_at";

fn agent_state(row: &impl Columns) -> StoreResult<AgentState> {
    Ok(AgentState {
        agent_id: row.text("agent_id")?,
        status: row.int("status")?,
        schedule: row
            .opt_text("schedule")?
            .map(|raw| json_column(&raw, "schedule"))
            .transpose()?,
        removed: row.flag("removed")?,
        last_routed_at: row.int("last_routed_at")?,
    })
}

/// Make sure the agent has a roster row.
async fn ensure_agent<'a, DB: Backend>(
    on: impl Into<On<'a, DB>>,
    helpdesk: &Helpdesk,
    agent_id: &str,
) -> StoreResult<()> {
    sql(
        "INSERT INTO helpdesk_agents (helpdesk_id, agent_id) VALUES ($1, $2)
         ON CONFLICT (helpdesk_id, agent_id) DO NOTHING",
    )
    .bind(helpdesk.id)
    .bind(agent_id)
    .execute(on)
    .await?;
    Ok(())
}

async fn add_member<'a, DB: Backend>(
    on: impl Into<On<'a, DB>>,
    helpdesk: &Helpdesk,
    skill_id: &str,
    agent_id: &str,
) -> StoreResult<()> {
    sql(
        "INSERT INTO agent_skill_members (helpdesk_id, skill_id, agent_id) VALUES ($1, $2, $3)
         ON CONFLICT (skill_id, agent_id) DO NOTHING",
    )
    .bind(helpdesk.id)
    .bind(skill_id)
    .bind(agent_id)
    .execute(on)
    .await?;
    Ok(())
}

impl<DB: Backend> SqlStore<DB> {
    async fn skill_records(
        &self,
        helpdesk: &Helpdesk,
        skill_id: Option<&str>,
    ) -> StoreResult<Vec<SkillRecord>> {
        let rows = sql("SELECT skill_id, name, rules, is_default FROM agent_skills
             WHERE helpdesk_id = $1 AND ($2 IS NULL OR skill_id = $2) ORDER BY id")
        .bind(helpdesk.id)
        .bind(skill_id)
        .fetch_all(&self.pool)
        .await?;
        let members = sql("SELECT m.skill_id, m.agent_id FROM agent_skill_members m
             JOIN helpdesk_agents a ON a.helpdesk_id = m.helpdesk_id AND a.agent_id = m.agent_id
             WHERE m.helpdesk_id = $1 AND ($2 IS NULL OR m.skill_id = $2) ORDER BY a.id")
        .bind(helpdesk.id)
        .bind(skill_id)
        .fetch_all(&self.pool)
        .await?;
        let members: Vec<(String, String)> = members
            .iter()
            .map(|r| Ok((r.text("skill_id")?, r.text("agent_id")?)))
            .collect::<StoreResult<_>>()?;
        rows.iter()
            .map(|r| {
                let skill_id = r.text("skill_id")?;
                Ok(SkillRecord {
                    agent_ids: members
                        .iter()
                        .filter(|(s, _)| *s == skill_id)
                        .map(|(_, a)| a.clone())
                        .collect(),
                    skill_id,
                    name: r.text("name")?,
                    rules: json_column(&r.text("rules")?, "rules")?,
                    is_default: r.flag("is_default")?,
                })
            })
            .collect()
    }
}

#[async_trait]
impl<DB: Backend> AgentStore for SqlStore<DB> {
    async fn agent_states(&self, helpdesk: &Helpdesk) -> StoreResult<Vec<AgentState>> {
        let rows = sql(format!(
            "SELECT {AGENT_COLUMNS} FROM helpdesk_agents WHERE helpdesk_id = $1 ORDER BY id"
        ))
        .bind(helpdesk.id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(agent_state).collect()
    }

    async fn agent_state(&self, helpdesk: &Helpdesk, agent_id: &str) -> StoreResult<Option<AgentState>> {
        let row = sql(format!(
            "SELECT {AGENT_COLUMNS} FROM helpdesk_agents WHERE helpdesk_id = $1 AND agent_id = $2"
        ))
        .bind(helpdesk.id)
        .bind(agent_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(agent_state).transpose()
    }

    async fn set_agent_status(&self, helpdesk: &Helpdesk, agent_id: &str, status: i64) -> StoreResult<()> {
        sql(
            "INSERT INTO helpdesk_agents (helpdesk_id, agent_id, status) VALUES ($1, $2, $3)
             ON CONFLICT (helpdesk_id, agent_id) DO UPDATE SET status = excluded.status",
        )
        .bind(helpdesk.id)
        .bind(agent_id)
        .bind(status)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn put_schedules(&self, helpdesk: &Helpdesk, schedules: &[ScheduleWrite<'_>]) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        for s in schedules {
            sql("INSERT INTO helpdesk_agents (helpdesk_id, agent_id, schedule, removed) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (helpdesk_id, agent_id) DO UPDATE SET schedule = excluded.schedule,
                   removed = excluded.removed")
            .bind(helpdesk.id)
            .bind(s.agent_id)
            .bind(to_json(&s.schedule))
            .bind(false)
            .execute(&mut tx)
            .await?;
            if let Some(skill_ids) = s.skill_ids {
                sql("DELETE FROM agent_skill_members WHERE helpdesk_id = $1 AND agent_id = $2")
                    .bind(helpdesk.id)
                    .bind(s.agent_id)
                    .execute(&mut tx)
                    .await?;
                for skill_id in skill_ids {
                    add_member(&mut tx, helpdesk, skill_id, s.agent_id).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn remove_schedule(&self, helpdesk: &Helpdesk, agent_id: &str) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        let changed = sql("UPDATE helpdesk_agents SET schedule = NULL, removed = $1
             WHERE helpdesk_id = $2 AND agent_id = $3 AND schedule IS NOT NULL")
        .bind(true)
        .bind(helpdesk.id)
        .bind(agent_id)
        .execute(&mut tx)
        .await?;
        found(changed)?;
        sql("DELETE FROM agent_skill_members WHERE helpdesk_id = $1 AND agent_id = $2")
            .bind(helpdesk.id)
            .bind(agent_id)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn mark_routed(&self, helpdesk: &Helpdesk, agent_id: &str, at_ms: i64) -> StoreResult<()> {
        sql("UPDATE helpdesk_agents SET last_routed_at = $1 WHERE helpdesk_id = $2 AND agent_id = $3")
            .bind(at_ms)
            .bind(helpdesk.id)
            .bind(agent_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn create_skill(&self, helpdesk: &Helpdesk, skill: &SkillRecord, at_ms: i64) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        sql(
            "INSERT INTO agent_skills (skill_id, helpdesk_id, name, rules, is_default, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&skill.skill_id)
        .bind(helpdesk.id)
        .bind(&skill.name)
        .bind(to_json(&skill.rules))
        .bind(skill.is_default)
        .bind(at_ms)
        .execute(&mut tx)
        .await
        .map_err(conflict_or("a skill of this name exists in this helpdesk"))?;
        for agent_id in &skill.agent_ids {
            ensure_agent(&mut tx, helpdesk, agent_id).await?;
            add_member(&mut tx, helpdesk, &skill.skill_id, agent_id).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn skills(&self, helpdesk: &Helpdesk) -> StoreResult<Vec<SkillRecord>> {
        self.skill_records(helpdesk, None).await
    }

    async fn skill(&self, helpdesk: &Helpdesk, skill_id: &str) -> StoreResult<SkillRecord> {
        self.skill_records(helpdesk, Some(skill_id))
            .await?
            .pop()
            .ok_or(crate::StoreError::NotFound)
    }

    async fn update_skill(&self, helpdesk: &Helpdesk, skill: &SkillRecord) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        let changed =
            sql("UPDATE agent_skills SET name = $1, rules = $2 WHERE helpdesk_id = $3 AND skill_id = $4")
                .bind(&skill.name)
                .bind(to_json(&skill.rules))
                .bind(helpdesk.id)
                .bind(&skill.skill_id)
                .execute(&mut tx)
                .await
                .map_err(conflict_or("a skill of this name exists in this helpdesk"))?;
        found(changed)?;
        sql("DELETE FROM agent_skill_members WHERE skill_id = $1")
            .bind(&skill.skill_id)
            .execute(&mut tx)
            .await?;
        for agent_id in &skill.agent_ids {
            ensure_agent(&mut tx, helpdesk, agent_id).await?;
            add_member(&mut tx, helpdesk, &skill.skill_id, agent_id).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn delete_skill(&self, helpdesk: &Helpdesk, skill_id: &str) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        let changed = sql("DELETE FROM agent_skills WHERE helpdesk_id = $1 AND skill_id = $2")
            .bind(helpdesk.id)
            .bind(skill_id)
            .execute(&mut tx)
            .await?;
        found(changed)?;
        sql("DELETE FROM agent_skill_members WHERE skill_id = $1")
            .bind(skill_id)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn enqueue_ticket(&self, helpdesk: &Helpdesk, id: TicketId, at_ms: i64) -> StoreResult<()> {
        sql(
            "INSERT INTO routing_queue (helpdesk_id, ticket_id, queued_at) VALUES ($1, $2, $3)
             ON CONFLICT (helpdesk_id, ticket_id) DO NOTHING",
        )
        .bind(helpdesk.id)
        .bind(id)
        .bind(at_ms)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn queued_tickets(&self, helpdesk: &Helpdesk) -> StoreResult<Vec<TicketId>> {
        let rows =
            sql("SELECT ticket_id FROM routing_queue WHERE helpdesk_id = $1 ORDER BY queued_at, ticket_id")
                .bind(helpdesk.id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| Ok(TicketId::new(r.int("ticket_id")?)))
            .collect()
    }

    async fn dequeue_ticket(&self, helpdesk: &Helpdesk, id: TicketId) -> StoreResult<()> {
        sql("DELETE FROM routing_queue WHERE helpdesk_id = $1 AND ticket_id = $2")
            .bind(helpdesk.id)
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn helpdesks_with_queue(&self) -> StoreResult<Vec<String>> {
        let rows = sql(
            "SELECT DISTINCT h.helpdesk_id FROM routing_queue q JOIN helpdesks h ON h.id = q.helpdesk_id
             ORDER BY h.helpdesk_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| r.text("helpdesk_id")).collect()
    }
}
