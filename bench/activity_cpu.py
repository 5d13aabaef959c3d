"""CPU time of each activity, measured on the thread that runs it: a worker interceptor
for the benchmarks, so the activities' own work (documents, signatures, database writes,
sending) can be told apart from orchestrating it."""

import inspect
import threading
import time
from collections import Counter, defaultdict
from typing import Any

from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)


class ActivityCpu(Interceptor):
    """Seconds of CPU and calls per activity type (local ones marked) since `reset`."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.seconds.clear()
            self.calls.clear()

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Timed(next, self)

    def add(self, name: str, seconds: float) -> None:
        with self._lock:
            self.seconds[name] += seconds
            self.calls[name] += 1


class _Timed(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, totals: ActivityCpu) -> None:
        super().__init__(next)
        self._totals = totals

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        name = f"{info.activity_type} (local)" if info.is_local else info.activity_type
        function = input.fn
        if inspect.iscoroutinefunction(function):  # not timed: it shares the event loop's thread
            return await self.next.execute_activity(input)

        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                self._totals.add(name, time.thread_time() - began)

        input.fn = timed
        return await self.next.execute_activity(input)
