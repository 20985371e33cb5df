-- FAQs (the knowledge base) with their images and search index, and push jobs
-- ("notifications").

-- A FAQ. category_id names a category by id without a foreign key: categories live in another
-- migration (TODO: check that the category exists once the categories table is merged).
-- status: 1 online, 0 deleted (DELETE /faqs/:id). Times are seconds, as on the wire.
-- search_text is what search compares (larkdesk_domain::faq::search_text).
CREATE TABLE faqs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    faq_id          INTEGER NOT NULL UNIQUE,
    helpdesk_id     INTEGER NOT NULL REFERENCES helpdesks(id),
    category_id     TEXT,
    question        TEXT NOT NULL,
    answer          TEXT NOT NULL,
    answer_richtext TEXT NOT NULL,
    tags            TEXT NOT NULL,
    status          INTEGER NOT NULL DEFAULT 1,
    create_time     INTEGER NOT NULL,
    update_time     INTEGER NOT NULL,
    expire_time     INTEGER NOT NULL DEFAULT 0,
    created_by      TEXT NOT NULL,
    updated_by      TEXT NOT NULL,
    search_text     TEXT NOT NULL
);
CREATE INDEX faqs_by_helpdesk ON faqs (helpdesk_id, status, id);

-- The search index: a trigram FTS5 table over search_text, kept by triggers (rowid = faqs.id).
-- LIKE '%term%' on it is answered from the index for terms of three or more characters, and by a
-- scan of the index's copy for shorter ones; either way the same rows as PostgreSQL's.
CREATE VIRTUAL TABLE faq_fts USING fts5(search_text, tokenize = 'trigram');
CREATE TRIGGER faqs_fts_insert AFTER INSERT ON faqs BEGIN
    INSERT INTO faq_fts (rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER faqs_fts_update AFTER UPDATE OF search_text ON faqs BEGIN
    UPDATE faq_fts SET search_text = new.search_text WHERE rowid = new.id;
END;
CREATE TRIGGER faqs_fts_delete AFTER DELETE ON faqs BEGIN
    DELETE FROM faq_fts WHERE rowid = old.id;
END;

-- Images a FAQ's answer shows (GET /faqs/:id/image/:image_key); uploaded through the admin API.
CREATE TABLE faq_images (
    faq_row      INTEGER NOT NULL REFERENCES faqs(id) ON DELETE CASCADE,
    image_key    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bytes        BLOB NOT NULL,
    PRIMARY KEY (faq_row, image_key)
);

-- A push job. status is larkdesk_domain::push::JobStatus; send_at (ms) is set while it is
-- scheduled, so the sender finds due jobs; job is the stored job as JSON
-- (larkdesk_store::StoredJob).
CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    notification_id INTEGER NOT NULL UNIQUE,
    helpdesk_id     INTEGER NOT NULL REFERENCES helpdesks(id),
    status          INTEGER NOT NULL,
    send_at         INTEGER,
    job             TEXT NOT NULL
);
CREATE INDEX notifications_due ON notifications (status, send_at);
