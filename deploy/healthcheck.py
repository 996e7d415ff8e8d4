#!/usr/bin/env python3
"""Health checks of Daiko's containers, installed in the image as ``daiko-healthcheck``.

The slim Python image has no curl, and importing Daiko's settings on every
probe would cost more than the probe: this uses the standard library only and
exits 0 when healthy, 1 (with one line on stderr) when not.

    daiko-healthcheck http URL   the URL answers 2xx within the timeout
                                 (``/healthz``: the process answers; ``/readyz``: and its dependencies do)
    daiko-healthcheck worker     a workflow worker polls the task queue, asked through the ``temporal`` CLI
                                 at DAIKO_TEMPORAL_ADDRESS, in DAIKO_TEMPORAL_NAMESPACE, on
                                 DAIKO_TEMPORAL_TASK_QUEUE (the worker's own settings), as the local stack
                                 asks (devstack/parts.py, ``Worker.healthy``)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 4.0


def check_http(url: str, timeout: float = TIMEOUT_SECONDS) -> str | None:
    """None when ``url`` answers 2xx, else why not."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - a URL of our own compose file
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        return f"{url} answered {exc.code}"
    except (OSError, ValueError) as exc:
        return f"{url} did not answer: {exc}"
    return None if 200 <= status < 300 else f"{url} answered {status}"


def workflow_pollers(describe_json: str) -> int:
    """How many workflow pollers ``temporal task-queue describe --output json`` lists."""
    pollers = json.loads(describe_json).get("pollers") or []
    return sum(1 for p in pollers if p.get("taskQueueType") == "workflow")


def check_worker(env: dict[str, str], timeout: float = TIMEOUT_SECONDS) -> str | None:
    missing = [
        name
        for name in ("DAIKO_TEMPORAL_ADDRESS", "DAIKO_TEMPORAL_NAMESPACE", "DAIKO_TEMPORAL_TASK_QUEUE")
        if not env.get(name)
    ]
    if missing:
        return f"not set: {', '.join(missing)}"
    temporal = shutil.which("temporal", path=env.get("PATH"))
    if temporal is None:
        return "the temporal CLI is not on PATH"
    command = [
        temporal,
        "task-queue",
        "describe",
        "--address",
        env["DAIKO_TEMPORAL_ADDRESS"],
        "--namespace",
        env["DAIKO_TEMPORAL_NAMESPACE"],
        "--task-queue",
        env["DAIKO_TEMPORAL_TASK_QUEUE"],
        "--output",
        "json",
    ]
    try:
        answer = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"temporal task-queue describe failed: {exc}"
    if answer.returncode != 0:
        return f"temporal task-queue describe exited {answer.returncode}: {answer.stderr.strip()[:200]}"
    try:
        polling = workflow_pollers(answer.stdout)
    except (ValueError, AttributeError) as exc:
        return f"unexpected answer from temporal: {exc}"
    return None if polling else f"no workflow worker polls {env['DAIKO_TEMPORAL_TASK_QUEUE']}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="daiko-healthcheck", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="check", required=True)
    http = sub.add_parser("http", help="the URL answers 2xx")
    http.add_argument("url")
    sub.add_parser("worker", help="a workflow worker polls the task queue")
    args = parser.parse_args(argv)
    problem = check_http(args.url) if args.check == "http" else check_worker(dict(os.environ))
    if problem:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
