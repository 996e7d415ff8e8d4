"""``daiko-stack up|down|status|logs|restart``."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Sequence

from daiko.settings import DaikoSettings
from devstack.parts import Part, StackError, all_parts

INFRASTRUCTURE = ("postgres", "kafka", "temporal")
PART_TIMEOUT = 180.0


def _say(message: str) -> None:
    print(message, flush=True)


def _select(settings: DaikoSettings, names: Sequence[str]) -> list[Part]:
    parts = all_parts(settings)
    unknown = set(names) - {p.name for p in parts}
    if unknown:
        raise StackError(
            f"unknown part(s): {', '.join(sorted(unknown))}; parts are: " + ", ".join(p.name for p in parts)
        )
    return [p for p in parts if not names or p.name in names]


async def _start_wave(parts: list[Part]) -> None:
    """Start every part of a wave that is not running, then wait for all of them to be healthy."""
    began = time.monotonic()
    pending: list[Part] = []
    for part in parts:
        if part.running_pid() is not None:
            if await part.healthy():
                _say(f"  {part.name:<10} already running at {part.address}")
                await asyncio.to_thread(part.refresh)
                continue
        else:
            part.check_ports_free()
            await asyncio.to_thread(part.prepare)
            await asyncio.to_thread(part.start)
            _say(f"  {part.name:<10} starting at {part.address}")
        pending.append(part)
    last_report = time.monotonic()
    while pending:
        results = await asyncio.gather(*(p.healthy() for p in pending))
        for part, ok in zip(list(pending), results, strict=True):
            if ok:
                pending.remove(part)
                await part.after_healthy()
                _say(f"  {part.name:<10} healthy after {time.monotonic() - began:.1f}s")
            elif part.running_pid() is None:
                raise StackError(f"{part.name} exited during start-up; see {part.log_file}\n" + _tail(part, 25))
        if not pending:
            break
        elapsed = time.monotonic() - began
        if elapsed > PART_TIMEOUT:
            names = ", ".join(p.name for p in pending)
            raise StackError(f"not healthy after {PART_TIMEOUT:.0f}s: {names}; see `daiko-stack logs NAME`")
        if time.monotonic() - last_report > 5:
            _say(f"  … waiting for {', '.join(p.name for p in pending)} ({elapsed:.0f}s)")
            last_report = time.monotonic()
        await asyncio.sleep(0.5)


def _tail(part: Part, lines: int) -> str:
    try:
        return "\n".join(part.log_file.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


async def up(settings: DaikoSettings, names: Sequence[str] = ()) -> int:
    began = time.monotonic()
    parts = _select(settings, names)
    _say("daiko-stack up")
    await _start_wave([p for p in parts if p.name in INFRASTRUCTURE])
    await _start_wave([p for p in parts if p.name not in INFRASTRUCTURE])
    _say(f"\nall parts healthy in {time.monotonic() - began:.1f}s\n")
    for part in parts:
        for url in part.urls():
            _say(f"  {url}")
    return 0


def down(settings: DaikoSettings, names: Sequence[str] = ()) -> int:
    for part in reversed(_select(settings, names)):
        _say(f"  {part.name:<10} {'stopped' if part.stop() else 'was not running'}")
    return 0


async def status(settings: DaikoSettings, names: Sequence[str] = ()) -> int:
    parts = _select(settings, names)
    healthy = await asyncio.gather(*(p.healthy() if p.running_pid() else _false() for p in parts))
    for part, ok in zip(parts, healthy, strict=True):
        state = "healthy" if ok else ("unhealthy" if part.running_pid() else "stopped")
        _say(f"  {part.name:<10} {part.address:<28} {state}")
    return 0 if all(healthy) else 1


async def _false() -> bool:
    return False


async def restart(settings: DaikoSettings, names: Sequence[str]) -> int:
    down(settings, names)
    return await up(settings, names)


def logs(settings: DaikoSettings, name: str | None, follow: bool, lines: int) -> int:
    parts = _select(settings, [name] if name else [])
    files = [str(p.log_file) for p in parts if p.log_file.exists()]
    if not files:
        _say("no logs yet")
        return 0
    cmd = ["tail", "-n", str(lines), *(["-F"] if follow else []), *files]
    return subprocess.call(cmd, stdout=sys.stdout)
