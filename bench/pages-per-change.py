#!/usr/bin/env python3
"""Pages a message post writes to SQLite's log, on a copy of a larkdesk database.

Replays what a message post writes (an event, the ticket row, a message, the ticket's render)
for random open tickets, in group commits of GROUP changes, on a copy of DB, and counts the log
frames (4 KiB pages) each group commit appended. Variants:

  random   message ids random (as before 2026-12-06)
  ordered  message ids that begin with the time (as now)
  merged   ordered, and the render kept in the ticket's row instead of ticket_renders (a
           possible next step: one page fewer)

  bench/pages-per-change.py DB [GROUP]     # DB: e.g. one bench/writes.sh kept (BENCH_KEEP=1)

Every page a post writes goes to the log once per commit and to the database file once per
checkpoint, and is synced to disk each time: on a disk that writes ~270 MB/s, 7.7 pages (31 KiB)
a post bound the rate at which posts can be kept durable.
"""
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time

FRAME = 4096 + 24
GROUPS = 100


def run(source, variant, group):
    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "copy.db")
    shutil.copy(source, path)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA wal_autocheckpoint = 0")
    db.execute("PRAGMA cache_size = -32768")
    if variant == "merged":
        db.execute("ALTER TABLE tickets ADD COLUMN render TEXT")
        db.execute("UPDATE tickets SET render = (SELECT body FROM ticket_renders r WHERE r.ticket_id = tickets.ticket_id)")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    open_ids = [r[0] for r in db.execute("SELECT ticket_id FROM tickets WHERE status < 50")]
    event = db.execute("SELECT event FROM ticket_events ORDER BY id DESC LIMIT 1").fetchone()[0]
    body = db.execute("SELECT body FROM ticket_renders LIMIT 1").fetchone()[0]
    wal = path + "-wal"
    start = os.path.getsize(wal) if os.path.exists(wal) else 32
    counter = int(time.time() * 1000) << 80
    for _ in range(GROUPS):
        db.execute("BEGIN IMMEDIATE")
        for _ in range(group):
            t = random.choice(open_ids)
            now = int(time.time() * 1000)
            seq = db.execute("SELECT coalesce(max(seq), 0) + 1 FROM ticket_events WHERE ticket_id = ?", (t,)).fetchone()[0]
            db.execute("INSERT INTO ticket_events (ticket_id, seq, at_ms, event) VALUES (?, ?, ?, ?)", (t, seq, now, event))
            db.execute("UPDATE tickets SET updated_at = ?, log_state = log_state WHERE ticket_id = ?", (now, t))
            if variant == "random":
                message_id = "om_" + os.urandom(16).hex()
            else:
                counter += 1
                message_id = "om_%032x" % counter
            position = db.execute("SELECT coalesce(max(position), 0) + 1 FROM ticket_messages WHERE ticket_id = ?", (t,)).fetchone()[0]
            db.execute(
                "INSERT INTO ticket_messages (ticket_id, message_id, event_id, msg_type, content, sender_type, sender_id, created_at, position)"
                " VALUES (?, ?, ?, 'text', '{\"text\":\"Thanks, we are looking into it.\"}', 3, '', ?, ?)",
                (t, message_id, os.urandom(16).hex(), now, position),
            )
            if variant == "merged":
                db.execute("UPDATE tickets SET render = ? WHERE ticket_id = ?", (body, t))
            else:
                db.execute(
                    "INSERT INTO ticket_renders (ticket_id, helpdesk_id, directory_version, body) VALUES (?, 1, 0, ?)"
                    " ON CONFLICT (ticket_id) DO UPDATE SET body = excluded.body",
                    (t, body),
                )
        db.execute("COMMIT")
    frames = (os.path.getsize(wal) - start) / FRAME
    db.close()
    shutil.rmtree(tmp)
    return frames / GROUPS


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    source = sys.argv[1]
    group = int(sys.argv[2]) if len(sys.argv) > 2 else 23
    print(f"| variant | pages per group of {group} | pages per change |")
    print("|---|---:|---:|")
    for variant in ("random", "ordered", "merged"):
        per_group = run(source, variant, group)
        print(f"| {variant} | {per_group:.1f} | {per_group / group:.2f} |")


if __name__ == "__main__":
    main()
