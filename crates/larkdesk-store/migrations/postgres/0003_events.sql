-- Event subscriptions and the delivery outbox (see the SQLite migration for the reasoning).

CREATE TABLE app_event_settings (
    app_id             BIGINT PRIMARY KEY REFERENCES apps(id),
    request_url        TEXT NOT NULL,
    verification_token TEXT NOT NULL,
    encrypt_key        TEXT
);

CREATE TABLE event_subscriptions (
    app_id      BIGINT NOT NULL REFERENCES apps(id),
    helpdesk_id BIGINT NOT NULL REFERENCES helpdesks(id),
    event_type  TEXT NOT NULL,
    PRIMARY KEY (app_id, helpdesk_id, event_type)
);

CREATE TABLE event_outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        TEXT NOT NULL UNIQUE,
    app_id          BIGINT NOT NULL REFERENCES apps(id),
    event_type      TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    delivered_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX event_outbox_due ON event_outbox (status, next_attempt_at);
CREATE INDEX event_outbox_by_app ON event_outbox (app_id, id);
