-- Tickets keyed by their public ticket_id. A GET looked a ticket up in the ticket_id index and
-- then in the table by an internal row id: two B-tree descents, and at a million tickets each
-- one lands on a page no other recent GET has read. With ticket_id as the row id it is one
-- (BENCHMARKS.md, "Tickets keyed by ticket_id"). The event log and the messages now point at
-- the public id, so the three tables are rebuilt and copied; the statements below run in the
-- migration's one transaction, so an interrupted upgrade leaves the old tables as they were.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE tickets_new (
    ticket_id                     INTEGER PRIMARY KEY,
    helpdesk_id                   INTEGER NOT NULL REFERENCES helpdesks(id),
    guest_id                      TEXT NOT NULL,
    comments                      TEXT,
    ticket_type                   INTEGER NOT NULL,
    status                        INTEGER NOT NULL,
    score                         INTEGER NOT NULL DEFAULT 0,
    created_at                    INTEGER NOT NULL,
    updated_at                    INTEGER,
    closed_at                     INTEGER NOT NULL DEFAULT 0,
    dissatisfaction_reason        TEXT,
    agent_ids                     TEXT NOT NULL DEFAULT '[]',
    channel                       INTEGER NOT NULL DEFAULT 0,
    solve                         INTEGER NOT NULL DEFAULT 0,
    closed_by_id                  TEXT,
    collaborator_ids              TEXT NOT NULL DEFAULT '[]',
    customized_fields             TEXT NOT NULL DEFAULT '[]',
    agent_service_duration        REAL NOT NULL DEFAULT 0,
    agent_first_response_duration INTEGER NOT NULL DEFAULT 0,
    bot_service_duration          INTEGER NOT NULL DEFAULT 0,
    agent_resolution_time         INTEGER NOT NULL DEFAULT 0,
    actual_processing_time        INTEGER NOT NULL DEFAULT 0,
    agent_entry_time              INTEGER NOT NULL DEFAULT 0,
    agent_first_response_time     INTEGER NOT NULL DEFAULT 0,
    agent_last_response_time      INTEGER NOT NULL DEFAULT 0,
    agent_owner_id                TEXT,
    tags                          TEXT NOT NULL DEFAULT '[]',
    chat_id                       TEXT NOT NULL DEFAULT ''
);
INSERT INTO tickets_new (
    ticket_id, helpdesk_id, guest_id, comments, ticket_type, status, score, created_at, updated_at,
    closed_at, dissatisfaction_reason, agent_ids, channel, solve, closed_by_id, collaborator_ids,
    customized_fields, agent_service_duration, agent_first_response_duration, bot_service_duration,
    agent_resolution_time, actual_processing_time, agent_entry_time, agent_first_response_time,
    agent_last_response_time, agent_owner_id, tags, chat_id)
SELECT
    ticket_id, helpdesk_id, guest_id, comments, ticket_type, status, score, created_at, updated_at,
    closed_at, dissatisfaction_reason, agent_ids, channel, solve, closed_by_id, collaborator_ids,
    customized_fields, agent_service_duration, agent_first_response_duration, bot_service_duration,
    agent_resolution_time, actual_processing_time, agent_entry_time, agent_first_response_time,
    agent_last_response_time, agent_owner_id, tags, chat_id
FROM tickets ORDER BY ticket_id;

-- The children reference tickets_new: renaming it to tickets below rewrites those references.
CREATE TABLE ticket_events_new (
    id        INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets_new(ticket_id),
    seq       INTEGER NOT NULL,
    at_ms     INTEGER NOT NULL,
    event     TEXT NOT NULL,
    UNIQUE (ticket_id, seq)
);
INSERT INTO ticket_events_new (id, ticket_id, seq, at_ms, event)
SELECT e.id, t.ticket_id, e.seq, e.at_ms, e.event
FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id ORDER BY e.id;

CREATE TABLE ticket_messages_new (
    id          INTEGER PRIMARY KEY,
    ticket_id   INTEGER NOT NULL REFERENCES tickets_new(ticket_id),
    message_id  TEXT NOT NULL UNIQUE,
    event_id    TEXT NOT NULL UNIQUE,
    msg_type    TEXT NOT NULL,
    content     TEXT NOT NULL,
    sender_type INTEGER NOT NULL,
    sender_id   TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    position    INTEGER NOT NULL
);
INSERT INTO ticket_messages_new (
    id, ticket_id, message_id, event_id, msg_type, content, sender_type, sender_id, created_at, position)
SELECT m.id, t.ticket_id, m.message_id, m.event_id, m.msg_type, m.content, m.sender_type, m.sender_id,
       m.created_at, m.position
FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id ORDER BY m.id;

DROP TABLE ticket_events;
DROP TABLE ticket_messages;
DROP TABLE tickets;
ALTER TABLE tickets_new RENAME TO tickets;
ALTER TABLE ticket_events_new RENAME TO ticket_events;
ALTER TABLE ticket_messages_new RENAME TO ticket_messages;

-- The list indexes as before (0002, 0004, 0005); ticket_id, the row id, ends every index
-- entry by itself, which keeps pages in (created_at DESC, ticket_id DESC) order.
CREATE INDEX tickets_by_helpdesk_created ON tickets (helpdesk_id, created_at);
CREATE INDEX tickets_by_helpdesk_updated ON tickets (helpdesk_id, updated_at);
CREATE INDEX tickets_by_helpdesk_status ON tickets (helpdesk_id, status, created_at);
CREATE INDEX tickets_by_helpdesk_type ON tickets (helpdesk_id, ticket_type, created_at);
CREATE INDEX tickets_by_helpdesk_guest ON tickets (helpdesk_id, guest_id);
CREATE INDEX ticket_messages_by_ticket ON ticket_messages (ticket_id, created_at, id);
