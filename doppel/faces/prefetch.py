"""Run an iterator in a background thread, a few items ahead (decoding overlaps detection).

Exceptions raised by the iterator come out of the consumer at the same position, after the items
produced before them (so a truncated video still yields its good frames first).
"""

from __future__ import annotations

import queue
import threading
from typing import Iterator, TypeVar

T = TypeVar("T")
_END = object()


def prefetch(items: Iterator[T], depth: int = 4) -> Iterator[T]:
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                q.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((_END, None))
        except BaseException as e:  # handed to the consumer
            put((_END, e))

    thread = threading.Thread(target=produce, name="doppel-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item, error = q.get()
            if item is _END:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
        close = getattr(items, "close", None)
        if close is not None and not thread.is_alive():
            close()
