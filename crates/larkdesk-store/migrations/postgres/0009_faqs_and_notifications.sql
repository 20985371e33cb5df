-- FAQs (the knowledge base) with their images and search index, and push jobs
-- ("notifications").

-- Trigram indexes for FAQ search (a trusted extension: a database owner may create it).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- A FAQ. category_id names a category by id without a foreign key: categories live in another
-- migration (TODO: check that the category exists once the categories table is merged).
-- status: 1 online, 0 deleted (DELETE /faqs/:id). Times are seconds, as on the wire.
-- search_text is what search compares (larkdesk_domain::faq::search_text).
CREATE TABLE faqs (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    faq_id          BIGINT NOT NULL UNIQUE,
    helpdesk_id     BIGINT NOT NULL REFERENCES helpdesks(id),
    category_id     TEXT,
    question        TEXT NOT NULL,
    answer          TEXT NOT NULL,
    answer_richtext TEXT NOT NULL,
    tags            TEXT NOT NULL,
    status          BIGINT NOT NULL DEFAULT 1,
    create_time     BIGINT NOT NULL,
    update_time     BIGINT NOT NULL,
    expire_time     BIGINT NOT NULL DEFAULT 0,
    created_by      TEXT NOT NULL,
    updated_by      TEXT NOT NULL,
    search_text     TEXT NOT NULL
);
CREATE INDEX faqs_by_helpdesk ON faqs (helpdesk_id, status, id);
-- LIKE '%term%' on search_text is answered from this index for terms of three or more
-- characters, and by a scan for shorter ones; either way the same rows as SQLite's.
CREATE INDEX faqs_search ON faqs USING gin (search_text gin_trgm_ops);

-- Images a FAQ's answer shows (GET /faqs/:id/image/:image_key); uploaded through the admin API.
CREATE TABLE faq_images (
    faq_row      BIGINT NOT NULL REFERENCES faqs(id) ON DELETE CASCADE,
    image_key    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bytes        BYTEA NOT NULL,
    PRIMARY KEY (faq_row, image_key)
);

-- A push job. status is larkdesk_domain::push::JobStatus; send_at (ms) is set while it is
-- scheduled, so the sender finds due jobs; job is the stored job as JSON
-- (larkdesk_store::StoredJob).
CREATE TABLE notifications (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    notification_id BIGINT NOT NULL UNIQUE,
    helpdesk_id     BIGINT NOT NULL REFERENCES helpdesks(id),
    status          BIGINT NOT NULL,
    send_at         BIGINT,
    job             TEXT NOT NULL
);
CREATE INDEX notifications_due ON notifications (status, send_at);
