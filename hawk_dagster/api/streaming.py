"""CSV exports streamed as PostgreSQL writes them: ``COPY ... TO STDOUT`` runs in a worker thread and hands its
chunks to the response through a small bounded queue, so memory stays flat whatever the export's size and a slow
client slows the query instead of filling the server.

Errors raised before the first byte (an unknown id, a bad column) become ordinary error answers; a failure midway
drops the connection (the status line is already sent). A client that goes away stops the query.
"""

from __future__ import annotations

import contextvars
import io
import queue
import threading
from collections.abc import Callable, Iterator
from typing import IO, Final, cast

from fastapi.responses import StreamingResponse

CHUNK_CHARS: Final = 64 * 1024
QUEUE_CHUNKS: Final = 16
_DONE: Final = object()


class _ClientGone(Exception):
    pass


class _QueueWriter(io.TextIOBase):
    """The ``out`` that ``copy_csv`` writes to: text gathered into chunks of about :data:`CHUNK_CHARS`."""

    def __init__(self, chunks: queue.Queue[object], cancelled: threading.Event) -> None:
        self._chunks = chunks
        self._cancelled = cancelled
        self._buffer: list[str] = []
        self._size = 0

    def write(self, text: str) -> int:
        self._buffer.append(text)
        self._size += len(text)
        if self._size >= CHUNK_CHARS:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self._buffer:
            self._put("".join(self._buffer).encode())
            self._buffer, self._size = [], 0

    def _put(self, item: object) -> None:
        while True:
            if self._cancelled.is_set():
                raise _ClientGone
            try:
                self._chunks.put(item, timeout=0.5)
                return
            except queue.Full:
                continue


def stream_csv(write: Callable[[IO[str]], object], filename: str) -> StreamingResponse:
    """Run ``write(out)`` in a thread and answer with what it writes, as ``text/csv``. Blocking until the first
    chunk (or the end): call from a worker thread. Raises what ``write`` raised before writing anything."""
    chunks: queue.Queue[object] = queue.Queue(maxsize=QUEUE_CHUNKS)
    cancelled = threading.Event()
    out = _QueueWriter(chunks, cancelled)
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            write(cast(IO[str], out))
            out.flush()
        except _ClientGone:
            return
        except BaseException as exc:  # handed to the consumer, which re-raises it
            failure.append(exc)
        try:
            out._put(_DONE)
        except _ClientGone:
            return

    context = contextvars.copy_context()  # the request id reaches the producer's log lines
    thread = threading.Thread(target=context.run, args=(produce,), name="hawk-csv-export", daemon=True)
    thread.start()
    first = chunks.get()
    if first is _DONE and failure:
        raise failure[0]

    def body() -> Iterator[bytes]:
        item = first
        try:
            while item is not _DONE:
                assert isinstance(item, bytes)
                yield item
                item = chunks.get()
            if failure:
                raise failure[0]
        finally:
            cancelled.set()

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
