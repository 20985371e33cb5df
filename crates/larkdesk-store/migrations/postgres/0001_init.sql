-- larkdesk schema, PostgreSQL flavour. Times are unix milliseconds unless named *_secs.
--
-- Mirrors migrations/sqlite table for table and column for column, so that both backends run
-- the same queries modulo dialect. Type choices:
--   * every integer is BIGINT: the Rust side reads and writes i64 everywhere, and sqlx decodes
--     only INT8 into i64 (an INT4 column would fail to decode);
--   * row ids are BIGINT identity columns (never supplied by larkdesk); unlike SQLite rowids,
--     an id is never reused after a delete;
--   * digests, secrets and image bytes are BYTEA; flags are BOOLEAN;
--   * JSON is TEXT, stored verbatim, except the ticket id/tag lists that GET /tickets filters
--     look inside: those are JSONB so the filters are containment tests (@>) a GIN index
--     serves (see 0002). Nothing reads inside the other JSON columns in SQL.

-- Installation-wide secrets shared by every instance on this database (token signing key,
-- admin token digest).
CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE tenants (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_key TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- app_type: 'custom' (self-built) or 'store'. scopes: JSON array of scope names.
-- secret_hash: SHA-256 of the app secret; the secret itself is never stored.
CREATE TABLE apps (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_id      TEXT NOT NULL UNIQUE,
    tenant_id   BIGINT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    app_type    TEXT NOT NULL CHECK (app_type IN ('custom', 'store')),
    scopes      TEXT NOT NULL,
    secret_hash BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);

-- The newest token minted per app and kind; tokens themselves are signed, not stored.
CREATE TABLE issued_tokens (
    app_id          BIGINT NOT NULL REFERENCES apps(id),
    kind            TEXT NOT NULL,
    issued_at_secs  BIGINT NOT NULL,
    expires_at_secs BIGINT NOT NULL,
    PRIMARY KEY (app_id, kind)
);

-- helpdesk_id is the public digit-string id; token_hash is SHA-256 of the helpdesk token.
CREATE TABLE helpdesks (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    helpdesk_id TEXT NOT NULL UNIQUE,
    tenant_id   BIGINT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    token_hash  BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id  BIGINT NOT NULL REFERENCES tenants(id),
    open_id    TEXT NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    avatar_url TEXT NOT NULL DEFAULT '',
    email      TEXT NOT NULL DEFAULT '',
    department TEXT NOT NULL DEFAULT '',
    city       TEXT NOT NULL DEFAULT '',
    country    TEXT NOT NULL DEFAULT '',
    is_agent   BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (tenant_id, open_id)
);

-- The ticket projection: what GET /tickets/:id shows. People are referenced by open_id;
-- lists and small objects are JSON. agent_ids, collaborator_ids (JSON arrays of open_ids) and
-- tags (JSON array of {id, name}) are JSONB: the agent and tag filters of GET /tickets test
-- containment in them. Queries read them back as text (`::text`), like the TEXT columns.
CREATE TABLE tickets (
    id                            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id                     BIGINT NOT NULL UNIQUE,
    helpdesk_id                   BIGINT NOT NULL REFERENCES helpdesks(id),
    guest_id                      TEXT NOT NULL,
    comments                      TEXT,
    ticket_type                   BIGINT NOT NULL,
    status                        BIGINT NOT NULL,
    score                         BIGINT NOT NULL DEFAULT 0,
    created_at                    BIGINT NOT NULL,
    updated_at                    BIGINT,
    closed_at                     BIGINT NOT NULL DEFAULT 0,
    dissatisfaction_reason        TEXT,
    agent_ids                     JSONB NOT NULL DEFAULT '[]',
    channel                       BIGINT NOT NULL DEFAULT 0,
    solve                         BIGINT NOT NULL DEFAULT 0,
    closed_by_id                  TEXT,
    collaborator_ids              JSONB NOT NULL DEFAULT '[]',
    customized_fields             TEXT NOT NULL DEFAULT '[]',
    agent_service_duration        DOUBLE PRECISION NOT NULL DEFAULT 0,
    agent_first_response_duration BIGINT NOT NULL DEFAULT 0,
    bot_service_duration          BIGINT NOT NULL DEFAULT 0,
    agent_resolution_time         BIGINT NOT NULL DEFAULT 0,
    actual_processing_time        BIGINT NOT NULL DEFAULT 0,
    agent_entry_time              BIGINT NOT NULL DEFAULT 0,
    agent_first_response_time     BIGINT NOT NULL DEFAULT 0,
    agent_last_response_time      BIGINT NOT NULL DEFAULT 0,
    agent_owner_id                TEXT,
    tags                          JSONB NOT NULL DEFAULT '[]',
    chat_id                       TEXT NOT NULL DEFAULT ''
);

-- GET /tickets pages by (created_at DESC, ticket_id DESC) within a helpdesk: with ticket_id in
-- the key a backward scan of this index yields pages in order without a sort.
CREATE INDEX tickets_by_helpdesk_created ON tickets (helpdesk_id, created_at, ticket_id);
