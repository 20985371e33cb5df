-- Agents of a helpdesk as routing sees them: the status they set (1 online, 2 offline), their
-- weekly schedule (JSON array of {weekday, start_time, end_time}; NULL until one is set), whether
-- the schedule was deleted (the agent is "removed", status 4) and when routing last gave them a
-- ticket (ms, 0 never). Rows are in roster order (id).
CREATE TABLE helpdesk_agents (
    id             INTEGER PRIMARY KEY,
    helpdesk_id    INTEGER NOT NULL REFERENCES helpdesks(id),
    agent_id       TEXT NOT NULL,
    status         INTEGER NOT NULL DEFAULT 1,
    schedule       TEXT,
    removed        INTEGER NOT NULL DEFAULT 0,
    last_routed_at INTEGER NOT NULL DEFAULT 0,
    UNIQUE (helpdesk_id, agent_id)
);

-- Agent skills: rules are a JSON array of {id, selected_operator, operand}.
CREATE TABLE agent_skills (
    id          INTEGER PRIMARY KEY,
    skill_id    TEXT NOT NULL UNIQUE,
    helpdesk_id INTEGER NOT NULL REFERENCES helpdesks(id),
    name        TEXT NOT NULL,
    rules       TEXT NOT NULL,
    is_default  INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    UNIQUE (helpdesk_id, name)
);

-- Which agents have which skill (set from either side: a skill's agent_ids, a schedule's
-- agent_skill_ids).
CREATE TABLE agent_skill_members (
    helpdesk_id INTEGER NOT NULL REFERENCES helpdesks(id),
    skill_id    TEXT NOT NULL,
    agent_id    TEXT NOT NULL,
    PRIMARY KEY (skill_id, agent_id)
);
CREATE INDEX agent_skill_members_by_agent ON agent_skill_members (helpdesk_id, agent_id);

-- Tickets waiting for routing to find them an agent, served oldest first.
CREATE TABLE routing_queue (
    helpdesk_id INTEGER NOT NULL REFERENCES helpdesks(id),
    ticket_id   INTEGER NOT NULL,
    queued_at   INTEGER NOT NULL,
    PRIMARY KEY (helpdesk_id, ticket_id)
);

-- FAQ categories; parent_id '0' is the top level.
CREATE TABLE faq_categories (
    id          INTEGER PRIMARY KEY,
    category_id TEXT NOT NULL UNIQUE,
    helpdesk_id INTEGER NOT NULL REFERENCES helpdesks(id),
    name        TEXT NOT NULL,
    parent_id   TEXT NOT NULL DEFAULT '0',
    language    TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX faq_categories_by_helpdesk ON faq_categories (helpdesk_id, parent_id);

-- Tickets already waiting for an agent join the queue, oldest first.
INSERT INTO routing_queue (helpdesk_id, ticket_id, queued_at)
SELECT helpdesk_id, ticket_id, created_at
FROM tickets WHERE status = 3 AND agent_ids = '[]';
