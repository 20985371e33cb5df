#!/usr/bin/env python3
"""Off-CPU time of a server's busiest tokio runtime thread, from `perf script` output of
`sched:sched_switch` events recorded with call graphs (bench/post-offcpu.sh).

Each switch away from the thread is paired with the next switch back to it; the time between is
charged to the stack the thread left at and to its state then (R: preempted, S: sleeping,
e.g. waiting for work in epoll, D: waiting in the kernel, usually for the disk). Prints Markdown:
the totals by state and stack, then the longest single waits.

    bench/offcpu.py sched.txt [TOP]
"""

import collections
import re
import sys

SWITCH = re.compile(
    r"\s([\d.]+):\s+sched:sched_switch: prev_comm=(.*?) prev_pid=(\d+) .*prev_state=(\S+)"
    r" ==> next_comm=(.*?) next_pid=(\d+)"
)
# Frames that only say "the thread switched".
SCHEDULER = ("__schedule", "schedule", "schedule_timeout", "io_schedule")
# Frames shown per stack.
DEPTH = 9


def switches(path):
    current = None
    with open(path, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if "sched:sched_switch" in line and not line.startswith((" ", "\t")):
                m = SWITCH.search(line)
                if not m:
                    continue
                current = {
                    "at": float(m.group(1)),
                    "prev_comm": m.group(2),
                    "prev": int(m.group(3)),
                    "state": m.group(4),
                    "next": int(m.group(6)),
                    "stack": [],
                }
                yield current
            elif current is not None and line.strip():
                parts = line.split()
                if len(parts) >= 2:
                    current["stack"].append(parts[1].split("+")[0])


def main():
    path = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    events = list(switches(path))
    runtime = collections.Counter(e["prev"] for e in events if e["prev_comm"].startswith("tokio"))
    if not runtime:
        print("no switches of a tokio runtime thread recorded")
        return
    thread = runtime.most_common(1)[0][0]
    left = None
    totals = collections.Counter()
    waits = []
    for e in events:
        if e["prev"] == thread:
            left = e
        elif e["next"] == thread and left is not None:
            took = e["at"] - left["at"]
            frames = [f for f in left["stack"] if not f.startswith(SCHEDULER)][:DEPTH]
            stack = " ← ".join(frames)
            state = left["state"].rstrip("+")
            totals[(state, stack)] += took
            waits.append((took, state, stack))
            left = None
    by_state = collections.Counter()
    for (state, _), took in totals.items():
        by_state[state] += took
    print(f"Runtime thread {thread}: off the CPU " + ", ".join(
        f"{took * 1000:.0f} ms in state {state}" for state, took in by_state.most_common()))
    print()
    print("| off the CPU, in all | state | where it left (innermost first) |")
    print("|---:|---|---|")
    for (state, stack), took in totals.most_common(top):
        print(f"| {took * 1000:.1f} ms | {state} | `{stack}` |")
    print()
    print("| longest single wait | state | where it left |")
    print("|---:|---|---|")
    for took, state, stack in sorted(waits, reverse=True)[:top]:
        print(f"| {took * 1000:.1f} ms | {state} | `{stack}` |")


if __name__ == "__main__":
    main()
