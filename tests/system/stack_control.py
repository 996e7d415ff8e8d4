"""Crashing and reviving parts of the local stack, the way a machine or an operator would.

A crash is ``SIGKILL`` to the part's whole process group (PostgreSQL's
postmaster and its backends, the JVM of Kafka, a uvicorn process, the
worker): no shutdown hook runs, exactly like a power cut of that process.
Reviving is ``daiko-stack up``, which starts only what is down and waits
until every part is healthy; ``daiko-stack status`` exiting 0 is the proof.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from daiko.settings import PROJECT_ROOT
from devstack.parts import Part, all_parts
from devstack.processes import pid_alive
from tests.conftest import StackSettings

DAIKO_STACK = Path(sys.executable).parent / "daiko-stack"


@dataclass(frozen=True)
class Crash:
    part: str
    pid: int
    at: float  # time.monotonic()


class StackControl:
    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.parts: dict[str, Part] = {part.name: part for part in all_parts(settings)}

    def pid(self, name: str) -> int:
        """The part's main pid: ``.daiko/run/<part>.pid``, PostgreSQL's ``postmaster.pid``."""
        pid = self.parts[name].running_pid()
        if pid is None:
            raise AssertionError(f"{name} is not running; cannot crash it")
        return pid

    async def kill(self, name: str) -> Crash:
        """SIGKILL the part's process group and wait until its main process is gone."""
        pid = self.pid(name)
        os.killpg(os.getpgid(pid), signal.SIGKILL)
        at = time.monotonic()
        deadline = at + 15
        while pid_alive(pid):
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} (pid {pid}) survived SIGKILL for 15s")
            await asyncio.sleep(0.05)
        return Crash(name, pid, at)

    async def daiko_stack(self, *args: str, timeout: float = 240) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            str(DAIKO_STACK),
            *args,
            cwd=PROJECT_ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            out, _ = await asyncio.wait_for(process.communicate(), timeout=timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise AssertionError(f"`daiko-stack {' '.join(args)}` did not finish in {timeout:.0f}s") from None
        return process.returncode or 0, out.decode(errors="replace")

    async def up(self, timeout: float = 240) -> str:
        """``daiko-stack up``: starts what is down, returns once every part is healthy."""
        code, out = await self.daiko_stack("up", timeout=timeout)
        if code != 0:
            raise AssertionError(f"`daiko-stack up` failed ({code}):\n{out}")
        return out

    async def dead_letters(self) -> dict[str, int]:
        """How many events each service's consumers have parked as unprocessable (a fresh connection each)."""
        import asyncpg

        counts = {}
        for service in ("orders", "deposits", "messaging"):
            conn = await asyncpg.connect(
                host=self.settings.postgres_host,
                port=self.settings.postgres_port,
                user=self.settings.postgres_user,
                password=self.settings.postgres_password.get_secret_value(),
                database=str(getattr(self.settings, f"{service}_database")),
            )
            try:
                counts[service] = int(await conn.fetchval("SELECT count(*) FROM dead_letters"))
            finally:
                await conn.close()
        return counts

    async def status_ok(self) -> bool:
        code, _ = await self.daiko_stack("status", timeout=60)
        return code == 0

    async def healthy_again(self, timeout: float = 240) -> None:
        """Bring the stack back (if anything is down) and wait until `daiko-stack status` exits 0."""
        deadline = time.monotonic() + timeout
        while not await self.status_ok():
            if time.monotonic() > deadline:
                _, out = await self.daiko_stack("status", timeout=60)
                raise AssertionError(f"the stack is not healthy after {timeout:.0f}s:\n{out}")
            await self.up(timeout=max(deadline - time.monotonic(), 30))
