"""Idle memory (RSS) of every part of the running local stack, summed over each part's process tree.

Run with the stack up: ``.venv/bin/python bench/stack_footprint.py [--quick]``.

Its baseline is the infrastructure Daiko runs on: it prints the memory of
Daiko's own processes (the services and the worker) as a ratio of PostgreSQL,
Kafka and Temporal together. It reads ``/proc`` once and takes a second either
way; ``--quick`` is accepted so that every script in ``bench/`` answers to it.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from daiko.settings import DaikoSettings
from devstack.parts import all_parts


def _parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _tree(root: int, children: dict[int, list[int]]) -> list[int]:
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


INFRASTRUCTURE = {"postgres", "kafka", "temporal", "edge"}  # the edge is nginx: not Daiko's code
DEVELOPMENT_ONLY = {"paypal", "oidc"}  # the PayPal sandbox, the OIDC provider: not what production runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the same single reading (it is quick already)")
    parser.parse_args()
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                children.setdefault(_parent_of(int(entry)), []).append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    total = 0
    by_part: dict[str, int] = {}
    print(f"{'part':<10} {'processes':>9} {'RSS MiB':>9}")
    for part in all_parts(DaikoSettings()):
        pid = part.running_pid()
        if pid is None:
            print(f"{part.name:<10} {'-':>9} {'stopped':>9}")
            continue
        pids = _tree(pid, children)
        rss = sum(_rss_kib(p) for p in pids)
        total += rss
        by_part[part.name] = rss
        print(f"{part.name:<10} {len(pids):>9} {rss / 1024:>9.0f}")
    print(f"{'total':<10} {'':>9} {total / 1024:>9.0f}")
    infrastructure = sum(rss for name, rss in by_part.items() if name in INFRASTRUCTURE)
    own = sum(rss for name, rss in by_part.items() if name not in INFRASTRUCTURE | DEVELOPMENT_ONLY)
    if infrastructure:
        print(f"ratio Daiko's processes / PostgreSQL + Kafka + Temporal: {own / infrastructure:.2f}x")


if __name__ == "__main__":
    main()
