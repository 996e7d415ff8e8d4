"""Each assigned partition consumed by its own task, so a slow or poison message holds up only its partition.

Order only matters within a partition (the key is the order or the customer),
so partitions need not wait for each other. One fetch loop hands each
partition's batches to that partition's worker, and pauses the partition only
while the worker is busy with an earlier batch, so at most two batches per
partition are held (the one being applied and the next). An idle worker's
partition is never paused: aiokafka keeps one fetch in flight per broker, and
a partition paused when that fetch left is not asked for again until it
returns (up to ``fetch_max_wait_ms``, 500 ms, on a quiet topic), so pausing on
every hand-over made each next message on the partition wait for it. The
worker applies its records one after another (or, given a batch handler, the
whole batch in one go, falling back to one after another) and commits its
own offsets after them; a rebalance stops the workers of the revoked
partitions after the record in hand and commits what they finished, before
the partitions move to another consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeAlias

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError

log = logging.getLogger(__name__)

FETCH_MAX_RECORDS = 1000
"""Records one fetch hands over, all partitions together: a partition's batch is one transaction for a
batching consumer, so a busy partition should not be cut into many small ones."""

Record: TypeAlias = "ConsumerRecord[bytes, bytes]"
RecordHandler = Callable[[Record, asyncio.Event], Awaitable[bool]]
"""Applies or parks one record and returns ``True``; ``False`` if it gave up because the event was set."""
Progress = Callable[[TopicPartition, int], None]
BatchHandler = Callable[[list[Record], asyncio.Event], Awaitable[bool]]
"""Applies a whole batch at once and returns ``True``; ``False`` sends the batch through the record handler."""


class _PartitionWorker:
    """Applies one partition's batches in order and commits after each; the only writer of its offsets."""

    def __init__(
        self,
        tp: TopicPartition,
        consumer: AIOKafkaConsumer,
        handle: RecordHandler,
        progress: Progress,
        handle_batch: BatchHandler | None = None,
    ):
        self.tp = tp
        self.batches: asyncio.Queue[list[Record]] = asyncio.Queue()
        self.stopping = asyncio.Event()
        self._consumer = consumer
        self._handle = handle
        self._handle_batch = handle_batch
        self._progress = progress
        self._busy = False
        self.task = asyncio.create_task(self._run(), name=f"partition-{tp.topic}-{tp.partition}")

    async def _run(self) -> None:
        while not self.stopping.is_set():
            records = await self.batches.get()
            self._busy = True
            if self.batches.empty() and self.tp in self._consumer.assignment():
                self._consumer.resume(self.tp)  # fetch the next batch while this one is applied
            try:
                await self._apply(records)
            finally:
                self._busy = False

    async def _apply(self, records: list[Record]) -> None:
        done: int | None = None
        if self._handle_batch is not None and await self._handle_batch(records, self.stopping):
            done = records[-1].offset + 1
            self._progress(self.tp, done)
            records = []
        for record in records:
            if self.stopping.is_set() or not await self._handle(record, self.stopping):
                break
            done = record.offset + 1
            self._progress(self.tp, done)
        if done is None:
            return
        try:
            await self._consumer.commit({self.tp: done})
        except (KafkaError, IllegalStateError) as exc:  # rebalanced away: the next owner re-reads, de-duplicated
            log.warning("offset commit failed", extra={"partition": str(self.tp), "offset": done, "error": repr(exc)})

    @property
    def idle(self) -> bool:
        """Waiting for its next batch, none queued: a batch handed over now is taken at once."""
        return not self._busy and self.batches.empty()

    async def stop(self) -> None:
        """Finishes the record in hand (a retry wait ends at once), commits, and ends."""
        self.stopping.set()
        if not self._busy:
            self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


class PartitionedConsumption(ConsumerRebalanceListener):  # type: ignore[misc]
    """Runs ``handle`` over every record of the consumer's subscription, one task per partition."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        handle: RecordHandler,
        progress: Progress,
        handle_batch: BatchHandler | None = None,
    ) -> None:
        self._consumer = consumer
        self._handle = handle
        self._handle_batch = handle_batch
        self._progress = progress
        self._workers: dict[TopicPartition, _PartitionWorker] = {}
        self._revoking: set[TopicPartition] = set()

    async def run(self, stop: asyncio.Event, on_poll: Callable[[], None] = lambda: None) -> None:
        """Until ``stop`` is set; the consumer must be subscribed (with this object as listener) and started."""
        try:
            while not stop.is_set():
                batches = await self._consumer.getmany(timeout_ms=200, max_records=FETCH_MAX_RECORDS)
                for tp, records in batches.items():
                    if tp in self._revoking:  # on its way to another consumer, which reads it from the commit
                        continue
                    worker = self._workers.get(tp)
                    if worker is None:
                        worker = self._workers[tp] = _PartitionWorker(
                            tp, self._consumer, self._handle, self._progress, self._handle_batch
                        )
                    taken_at_once = worker.idle  # then the partition keeps being fetched
                    worker.batches.put_nowait(records)
                    if not taken_at_once:
                        self._consumer.pause(tp)  # the worker resumes it when it takes the batch
                self._raise_if_a_worker_died()
                on_poll()
        finally:
            await self._stop(list(self._workers))

    def _raise_if_a_worker_died(self) -> None:
        """A worker only ends on its own by a bug: end the consumer too, so the service restarts it."""
        for worker in self._workers.values():
            if worker.task.done() and not worker.task.cancelled() and worker.task.exception() is not None:
                raise RuntimeError(f"worker of {worker.tp} failed") from worker.task.exception()

    async def _stop(self, partitions: list[TopicPartition]) -> None:
        workers = [self._workers.pop(tp) for tp in partitions if tp in self._workers]
        await asyncio.gather(*(worker.stop() for worker in workers), return_exceptions=True)

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self._revoking |= set(revoked)
        await self._stop(list(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Workers start with the first batch of a partition; any left for a partition not ours now ends."""
        self._revoking.clear()
        await self._stop([tp for tp in self._workers if tp not in assigned])
