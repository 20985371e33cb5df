-- larkdesk schema, SQLite flavour. Times are unix milliseconds unless named *_secs.

-- Installation-wide secrets shared by every instance on this database (token signing key,
-- admin token digest).
CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE tenants (
    id         INTEGER PRIMARY KEY,
    tenant_key TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- app_type: 'custom' (self-built) or 'store'. scopes: JSON array of scope names.
-- secret_hash: SHA-256 of the app secret; the secret itself is never stored.
CREATE TABLE apps (
    id          INTEGER PRIMARY KEY,
    app_id      TEXT NOT NULL UNIQUE,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    app_type    TEXT NOT NULL CHECK (app_type IN ('custom', 'store')),
    scopes      TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);

-- The newest token minted per app and kind; tokens themselves are signed, not stored.
CREATE TABLE issued_tokens (
    app_id         INTEGER NOT NULL REFERENCES apps(id),
    kind           TEXT NOT NULL,
    issued_at_secs INTEGER NOT NULL,
    expires_at_secs INTEGER NOT NULL,
    PRIMARY KEY (app_id, kind)
);

-- helpdesk_id is the public digit-string id; token_hash is SHA-256 of the helpdesk token.
CREATE TABLE helpdesks (
    id          INTEGER PRIMARY KEY,
    helpdesk_id TEXT NOT NULL UNIQUE,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    token_hash  BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
    open_id    TEXT NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    avatar_url TEXT NOT NULL DEFAULT '',
    email      TEXT NOT NULL DEFAULT '',
    department TEXT NOT NULL DEFAULT '',
    city       TEXT NOT NULL DEFAULT '',
    country    TEXT NOT NULL DEFAULT '',
    is_agent   INTEGER NOT NULL DEFAULT 0,
    UNIQUE (tenant_id, open_id)
);

-- The ticket projection: what GET /tickets/:id shows. People are referenced by open_id;
-- lists and small objects are JSON text.
CREATE TABLE tickets (
    id                            INTEGER PRIMARY KEY,
    ticket_id                     INTEGER NOT NULL UNIQUE,
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

CREATE INDEX tickets_by_helpdesk_created ON tickets (helpdesk_id, created_at);
