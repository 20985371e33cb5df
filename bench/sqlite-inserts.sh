#!/usr/bin/env bash
# What does the order of new ticket ids cost a SQLite table keyed by them (tickets since
# migration 0006)? Builds a table of BENCH_INSERTS_ROWS (1M) rows of ~700 bytes under random
# 19-digit ids, then times 20,000 one-row transactions (WAL, synchronous=NORMAL, as larkdesk
# writes) whose ids are random, as larkdesk's were, or increasing, as snowflake ids are; twice
# each on a fresh copy, with the pages each run added to the file. SQLite alone (sqlite3 CLI);
# no larkdesk. Prints the results; ~1 min.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need sqlite3 "apt-get install -y sqlite3"
need python3
ROWS="${BENCH_INSERTS_ROWS:-1000000}"
bench_tmpdir
db="$BENCH_TMP/keyed.db"
log "building a table of $(fmt_int "$ROWS") rows under random ids"
sqlite3 "$db" >/dev/null <<SQL
PRAGMA journal_mode=WAL;
CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB NOT NULL);
WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < $ROWS)
INSERT OR IGNORE INTO t SELECT 7000000000000000000 + abs(random() % 1000000000000000000), randomblob(700) FROM c ORDER BY 1;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
BENCH_TMP=$BENCH_TMP python3 - <<'PY'
import os, random
r = random.Random(7)
for name, ids in [("random", [r.randrange(7 * 10**18, 8 * 10**18) for _ in range(20000)]),
                  ("increasing", [8 * 10**18 + 1000 * i for i in range(20000)])]:
    with open(os.path.join(os.environ["BENCH_TMP"], f"{name}.sql"), "w") as f:
        f.write("PRAGMA synchronous=NORMAL;\n")
        f.write("CREATE TEMP TABLE t0 AS SELECT julianday('now') AS t, (SELECT page_count FROM pragma_page_count) AS p;\n")
        for i in ids:
            f.write(f"INSERT OR IGNORE INTO t VALUES ({i}, randomblob(700));\n")
        f.write(f"SELECT '{name} ids: 20,000 inserts in ' || round((julianday('now') - t) * 86400, 2) || ' s, '"
                " || ((SELECT page_count FROM pragma_page_count) - p) || ' pages added' FROM t0;\n")
PY
for kind in random increasing random increasing; do
  cp "$db" "$BENCH_TMP/run.db"
  rm -f "$BENCH_TMP/run.db-wal" "$BENCH_TMP/run.db-shm"
  sqlite3 "$BENCH_TMP/run.db" <"$BENCH_TMP/$kind.sql"
done
