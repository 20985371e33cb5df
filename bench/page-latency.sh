#!/usr/bin/env bash
# What one read of a random page of a large mapped file costs on this machine: the memory side
# of an uncached GET ticket. SQLite maps the database file (`mmap_size`), and a GET of a random
# ticket reads pages no other request touched lately: an interior page of the tickets table and
# its leaf, each a TLB miss (on a VM a two-level page walk) and a cache miss. This compiles a
# small C program (cc) that maps BENCH_FILE and reads one byte of random 4 KiB pages, each
# address depending on the byte read before (so the reads cannot overlap, as in a b-tree descent:
# "dependent"), and again with addresses known in advance ("independent", overlapping), three
# passes of BENCH_READS each after one that maps the pages; then the same over anonymous memory
# of the same size in 4 KiB pages and in 2 MiB pages (transparent huge pages, where the kernel
# gives them): what the page walks add to a plain cache miss.
#
#   BENCH_FILE=/path/to/larkdesk.db bench/page-latency.sh
#   BENCH_FILE=... BENCH_READS=2000000 BENCH_TAG=1m bench/page-latency.sh
#
# Pinned to CPU $BENCH_SERVER_CPU (0), where the benchmarks run the server. The anonymous runs
# need as much free memory as the file is large. Prints a Markdown table and saves it to
# bench/results/page-latency-<date>[-$BENCH_TAG].md.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FILE="${BENCH_FILE:-}"
READS="${BENCH_READS:-1000000}"
[[ -s $FILE ]] || die "BENCH_FILE must name a file to map (a larkdesk SQLite database)"
need cc "apt-get install -y gcc"
need taskset
bench_tmpdir

cat >"$BENCH_TMP/pages.c" <<'C'
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

/* ns per read of one byte of a random page; `dependent`: each address depends on the byte
   read before. Prints "label pass ns". */
static void reads(const char *label, const volatile char *p, size_t pages, long n, int dependent) {
  uint64_t x = 88172645463325252ULL;
  unsigned sum = 0;
  for (int pass = 0; pass < 4; pass++) {
    double t = now_ns();
    if (dependent) {
      for (long i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        sum += (unsigned char)p[((x ^ sum) % pages) * 4096 + (x >> 40) % 64 * 64];
      }
    } else {
      for (long i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        sum += (unsigned char)p[(x % pages) * 4096 + (x >> 40) % 64 * 64];
      }
    }
    printf("%s %d %.0f\n", label, pass, (now_ns() - t) / n);
  }
  if (sum == 42) fprintf(stderr, " ");
}

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  int fd = open(argv[1], O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st)) { perror(argv[1]); return 1; }
  size_t len = st.st_size / 4096 * 4096, pages = len / 4096;
  long n = atol(argv[2]);
  char *file = mmap(0, len, PROT_READ, MAP_SHARED, fd, 0);
  if (file == MAP_FAILED) { perror("mmap"); return 1; }
  reads("file-dependent", file, pages, n, 1);
  reads("file-independent", file, pages, n, 0);
  munmap(file, len);
  for (int huge = 0; huge < 2; huge++) {
    char *anon = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (anon == MAP_FAILED) { perror("mmap anonymous"); return 1; }
    madvise(anon, len, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    for (size_t i = 0; i < len; i += 4096) anon[i] = (char)i;
    reads(huge ? "anon-2m-dependent" : "anon-4k-dependent", anon, pages, n, 1);
    munmap(anon, len);
  }
  return 0;
}
C
cc -O2 -o "$BENCH_TMP/pages" "$BENCH_TMP/pages.c" || die "cc failed"
log "reading random pages of $FILE ($(human_bytes "$(stat -c %s "$FILE")")), $READS reads a pass"
taskset -c "$SERVER_CPU" "$BENCH_TMP/pages" "$FILE" "$READS" >"$BENCH_TMP/out.txt"

DATE="$(date +%F)"
REPORT="$RESULTS_DIR/page-latency-$DATE${BENCH_TAG:+-$BENCH_TAG}.md"
mkdir -p "$RESULTS_DIR"
{
  echo "## Reads of random 4 KiB pages of a mapped file ($DATE)"
  echo
  machine_info
  echo "- file: $(human_bytes "$(stat -c %s "$FILE")") ($FILE); $READS reads a pass, pinned to CPU $SERVER_CPU; pass 0 maps the pages (faults), passes 1-3 read mapped pages"
  echo "- dependent: each address depends on the byte read before (a b-tree descent); independent: reads may overlap"
  echo
  echo "| what | pass 0 | pass 1 | pass 2 | pass 3 |"
  echo "|---|---:|---:|---:|---:|"
  awk '{ v[$1] = v[$1] " | " $3 " ns" } !seen[$1]++ { order[++n] = $1 } END { for (i = 1; i <= n; i++) print "| " order[i] v[order[i]] " |" }' "$BENCH_TMP/out.txt"
} | tee "$REPORT"
log "report saved to $REPORT"
