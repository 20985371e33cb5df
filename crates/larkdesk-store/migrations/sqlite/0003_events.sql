-- Event subscriptions and the delivery outbox.

-- Where an app receives events. The verification token and encrypt key are needed in plain form
-- (to fill `header.token`, to encrypt and sign), like Feishu's console shows them.
CREATE TABLE app_event_settings (
    app_id             INTEGER PRIMARY KEY REFERENCES apps(id),
    request_url        TEXT NOT NULL,
    verification_token TEXT NOT NULL,
    encrypt_key        TEXT
);

-- Event types an app subscribed for a helpdesk (POST /events/subscribe).
CREATE TABLE event_subscriptions (
    app_id      INTEGER NOT NULL REFERENCES apps(id),
    helpdesk_id INTEGER NOT NULL REFERENCES helpdesks(id),
    event_type  TEXT NOT NULL,
    PRIMARY KEY (app_id, helpdesk_id, event_type)
);

-- One row per event per receiving app, written in the same transaction as the change that
-- caused it. status: pending | delivered | failed. A worker claims due rows by setting
-- lease_until; a crashed worker's lease simply runs out and the row is claimed again.
CREATE TABLE event_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        TEXT NOT NULL UNIQUE,
    app_id          INTEGER NOT NULL REFERENCES apps(id),
    event_type      TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    delivered_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX event_outbox_due ON event_outbox (status, next_attempt_at);
CREATE INDEX event_outbox_by_app ON event_outbox (app_id, id);
