-- The append-only ticket event log and what is projected from it besides the ticket row.

-- One row per event, in order (seq starts at 1 per ticket). `event` is the JSON of
-- larkdesk_domain::events::TicketEvent, kept as TEXT so the log holds exactly what was written
-- (JSONB would re-encode it) and nothing queries inside it. Rows are never updated or deleted.
CREATE TABLE ticket_events (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    seq       BIGINT NOT NULL,
    at_ms     BIGINT NOT NULL,
    event     TEXT NOT NULL,
    UNIQUE (ticket_id, seq)
);

-- Chat messages of tickets, projected from Message events. `event_id` is the id of the
-- helpdesk.ticket_message.created_v1 event (fed back to answer_user_query).
CREATE TABLE ticket_messages (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id   BIGINT NOT NULL REFERENCES tickets(id),
    message_id  TEXT NOT NULL UNIQUE,
    event_id    TEXT NOT NULL UNIQUE,
    msg_type    TEXT NOT NULL,
    content     TEXT NOT NULL,
    sender_type BIGINT NOT NULL,
    sender_id   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    position    BIGINT NOT NULL
);
CREATE INDEX ticket_messages_by_ticket ON ticket_messages (ticket_id, created_at, id);

-- Image bytes attached to messages (index = position of the image within the message).
CREATE TABLE ticket_images (
    message_id   TEXT NOT NULL,
    idx          BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    bytes        BYTEA NOT NULL,
    PRIMARY KEY (message_id, idx)
);

-- Ticket tags per helpdesk; a tag name maps to one stable id.
CREATE TABLE tags (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    helpdesk_id BIGINT NOT NULL REFERENCES helpdesks(id),
    tag_id      TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    UNIQUE (helpdesk_id, name)
);

-- Ticket customized field definitions.
CREATE TABLE ticket_customized_fields (
    id                      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    field_id                TEXT NOT NULL UNIQUE,
    helpdesk_id             BIGINT NOT NULL REFERENCES helpdesks(id),
    key_name                TEXT NOT NULL,
    display_name            TEXT NOT NULL,
    position                TEXT NOT NULL,
    field_type              TEXT NOT NULL,
    description             TEXT NOT NULL,
    visible                 BOOLEAN NOT NULL,
    editable                BOOLEAN NOT NULL,
    required                BOOLEAN NOT NULL,
    dropdown_allow_multiple BOOLEAN NOT NULL DEFAULT FALSE,
    dropdown_options        TEXT,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL,
    created_by              TEXT NOT NULL DEFAULT '',
    updated_by              TEXT NOT NULL DEFAULT '',
    UNIQUE (helpdesk_id, key_name)
);

-- Messages the helpdesk bot sent to users outside tickets (POST /message).
CREATE TABLE bot_messages (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    helpdesk_id  BIGINT NOT NULL REFERENCES helpdesks(id),
    message_id   TEXT NOT NULL UNIQUE,
    receiver_id  TEXT NOT NULL,
    receive_type TEXT NOT NULL,
    msg_type     TEXT NOT NULL,
    content      TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

-- Lookups of GET /tickets filters.
CREATE INDEX tickets_by_helpdesk_updated ON tickets (helpdesk_id, updated_at);
CREATE INDEX tickets_by_helpdesk_status ON tickets (helpdesk_id, status, created_at);
CREATE INDEX tickets_by_helpdesk_guest ON tickets (helpdesk_id, guest_id);
-- The agent_id and tags filters are JSONB containment tests (`agent_ids @> '["ou_…"]'`,
-- `tags @> '[{"name": "…"}]'`); jsonb_path_ops GIN indexes serve exactly @>. The planner
-- combines them with the helpdesk indexes above through bitmap scans.
CREATE INDEX tickets_by_agent ON tickets USING GIN (agent_ids jsonb_path_ops);
CREATE INDEX tickets_by_tag ON tickets USING GIN (tags jsonb_path_ops);
