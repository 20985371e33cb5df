-- The append-only ticket event log and what is projected from it besides the ticket row.

-- One row per event, in order (seq starts at 1 per ticket). `event` is the JSON of
-- larkdesk_domain::events::TicketEvent. Rows are never updated or deleted.
CREATE TABLE ticket_events (
    id        INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    seq       INTEGER NOT NULL,
    at_ms     INTEGER NOT NULL,
    event     TEXT NOT NULL,
    UNIQUE (ticket_id, seq)
);

-- Chat messages of tickets, projected from Message events. `event_id` is the id of the
-- helpdesk.ticket_message.created_v1 event (fed back to answer_user_query).
CREATE TABLE ticket_messages (
    id          INTEGER PRIMARY KEY,
    ticket_id   INTEGER NOT NULL REFERENCES tickets(id),
    message_id  TEXT NOT NULL UNIQUE,
    event_id    TEXT NOT NULL UNIQUE,
    msg_type    TEXT NOT NULL,
    content     TEXT NOT NULL,
    sender_type INTEGER NOT NULL,
    sender_id   TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    position    INTEGER NOT NULL
);
CREATE INDEX ticket_messages_by_ticket ON ticket_messages (ticket_id, created_at, id);

-- Image bytes attached to messages (index = position of the image within the message).
CREATE TABLE ticket_images (
    message_id   TEXT NOT NULL,
    idx          INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    bytes        BLOB NOT NULL,
    PRIMARY KEY (message_id, idx)
);

-- Ticket tags per helpdesk; a tag name maps to one stable id.
CREATE TABLE tags (
    id          INTEGER PRIMARY KEY,
    helpdesk_id INTEGER NOT NULL REFERENCES helpdesks(id),
    tag_id      TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    UNIQUE (helpdesk_id, name)
);

-- Ticket customized field definitions. AUTOINCREMENT: row ids are page tokens and must never be
-- reused after a delete.
CREATE TABLE ticket_customized_fields (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    field_id                TEXT NOT NULL UNIQUE,
    helpdesk_id             INTEGER NOT NULL REFERENCES helpdesks(id),
    key_name                TEXT NOT NULL,
    display_name            TEXT NOT NULL,
    position                TEXT NOT NULL,
    field_type              TEXT NOT NULL,
    description             TEXT NOT NULL,
    visible                 INTEGER NOT NULL,
    editable                INTEGER NOT NULL,
    required                INTEGER NOT NULL,
    dropdown_allow_multiple INTEGER NOT NULL DEFAULT 0,
    dropdown_options        TEXT,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL,
    created_by              TEXT NOT NULL DEFAULT '',
    updated_by              TEXT NOT NULL DEFAULT '',
    UNIQUE (helpdesk_id, key_name)
);

-- Messages the helpdesk bot sent to users outside tickets (POST /message).
CREATE TABLE bot_messages (
    id          INTEGER PRIMARY KEY,
    helpdesk_id INTEGER NOT NULL REFERENCES helpdesks(id),
    message_id  TEXT NOT NULL UNIQUE,
    receiver_id TEXT NOT NULL,
    receive_type TEXT NOT NULL,
    msg_type    TEXT NOT NULL,
    content     TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

-- Lookups of GET /tickets filters.
CREATE INDEX tickets_by_helpdesk_updated ON tickets (helpdesk_id, updated_at);
CREATE INDEX tickets_by_helpdesk_status ON tickets (helpdesk_id, status, created_at);
CREATE INDEX tickets_by_helpdesk_guest ON tickets (helpdesk_id, guest_id);
