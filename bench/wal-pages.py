#!/usr/bin/env python3
"""The pages a SQLite write-ahead log holds, by the b-tree (table or index) each belongs to.

  bench/wal-pages.py DB WAL MESSAGES_BEFORE

Reads the frames of WAL's current generation (those whose salt matches its header), groups them
by commit, and counts each commit's distinct pages by owner, looked up in a copy of DB with WAL
applied (dbstat). The messages posted are the copy's ticket_messages rows beyond
MESSAGES_BEFORE; the log must hold every commit since DB held that many (it does if it was not
started again meanwhile: the script that runs this keeps runs short). Prints a Markdown table of
pages per post. Used by bench/pages-per-post.sh.
"""
import collections
import os
import shutil
import sqlite3
import struct
import sys
import tempfile


def frames_by_commit(wal):
    with open(wal, "rb") as f:
        data = f.read()
    _magic, _version, page_size, _seq, salt1, salt2, _c1, _c2 = struct.unpack(">8I", data[:32])
    size = 24 + page_size
    commits, current, offset = [], [], 32
    while offset + size <= len(data):
        page, db_size, s1, s2 = struct.unpack(">4I", data[offset : offset + 16])
        if (s1, s2) != (salt1, salt2):
            break
        current.append(page)
        if db_size:  # a commit's last frame records the database's size
            commits.append(current)
            current = []
        offset += size
    return commits


def owners_and_messages(db, wal):
    tmp = tempfile.mkdtemp()
    try:
        copy = os.path.join(tmp, "copy.db")
        shutil.copy(db, copy)
        shutil.copy(wal, copy + "-wal")
        conn = sqlite3.connect(copy)
        found = dict(conn.execute("SELECT pageno, name FROM dbstat"))
        (messages,) = conn.execute("SELECT count(*) FROM ticket_messages").fetchone()
        conn.close()
        return found, messages
    finally:
        shutil.rmtree(tmp)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    db, wal, before = sys.argv[1], sys.argv[2], int(sys.argv[3])
    commits = frames_by_commit(wal)
    if not commits:
        sys.exit("no committed frames in the log")
    owner, messages = owners_and_messages(db, wal)
    posts = messages - before
    if posts <= 0:
        sys.exit("no message was posted")
    pages = collections.Counter()
    for commit in commits:
        for page in set(commit):
            pages[owner.get(page, "(freed since)")] += 1
    frames = sum(len(c) for c in commits)
    print(f"- {posts} posts in {len(commits)} commits ({posts / len(commits):.1f} a commit), "
          f"{frames} frames in the log ({frames / posts:.2f} a post)")
    print()
    print("| b-tree | pages written per post |")
    print("|---|---:|")
    for name, n in pages.most_common():
        print(f"| {name} | {n / posts:.2f} |")
    print(f"| **all** | **{sum(pages.values()) / posts:.2f}** |")


if __name__ == "__main__":
    main()
