"""uvicorn as the product runs it: stopping first ends the waits of readers following a case,
who get the case as it is instead of holding the stop for up to 30 seconds."""

import contextlib
import socket
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from api.following import end_waits


class Server(uvicorn.Server):
    """With `signals=False` it leaves Ctrl-C to a caller that stops several parts in order
    (`customs-audit dev`)."""

    def __init__(self, config: uvicorn.Config, *, signals: bool = True) -> None:
        super().__init__(config)
        self._signals = signals

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if not self._signals:
            yield
            return
        with super().capture_signals():
            yield

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if isinstance(self.config.app, FastAPI):  # the app as given, before uvicorn wraps it
            end_waits(self.config.app)
        await super().shutdown(sockets)
