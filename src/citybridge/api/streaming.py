"""Bridges the Hub's ``write(out)`` exports to an HTTP streaming body, with bounded memory."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from typing import IO, Any

log = logging.getLogger("citybridge.api")
_CHUNK = 64 * 1024


class _Stopped(Exception):
    """The client went away: stop producing."""


class _Pipe:
    """A write-only text file whose chunks go to a bounded queue (the producer waits for a slow client)."""

    def __init__(self, depth: int = 16) -> None:
        self.queue: queue.Queue[bytes | None] = queue.Queue(depth)
        self.stopped = threading.Event()
        self._buf: list[str] = []
        self._size = 0

    def write(self, text: str) -> int:
        self._buf.append(text)
        self._size += len(text)
        if self._size >= _CHUNK:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self._buf:
            self._put("".join(self._buf).encode("utf-8"))
            self._buf, self._size = [], 0

    def _put(self, item: bytes | None) -> None:
        while True:
            if self.stopped.is_set():
                raise _Stopped
            try:
                self.queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue


def stream_writer(produce: Callable[[IO[str]], Any]) -> Iterator[bytes]:
    """Run ``produce(out)`` in a thread and yield what it writes, chunk by chunk."""
    pipe = _Pipe()

    def run() -> None:
        try:
            produce(pipe)  # type: ignore[arg-type]
            pipe.flush()
        except _Stopped:
            return
        except Exception:  # the status line is sent already; end the body early and say why in the log
            log.exception("export failed mid-stream")
        with contextlib.suppress(_Stopped):
            pipe._put(None)

    thread = threading.Thread(target=run, name="citybridge-export", daemon=True)
    thread.start()
    try:
        while True:
            item = pipe.queue.get()
            if item is None:
                return
            yield item
    finally:
        pipe.stopped.set()
