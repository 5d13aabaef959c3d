"""CPU time of each activity, measured on the thread that runs it: a worker interceptor
for the benchmarks, so the activities' own work (documents, signatures, database writes,
sending) can be told apart from orchestrating it. It also keeps the calls one case made,
for a yardstick that makes the same calls without the case around them."""

import inspect
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)


class ActivityCpu(Interceptor):
    """Seconds of CPU and calls per activity type (local ones marked) since `reset`, and
    the calls (activity, local?, arguments) of the first workflow of type `kept` since."""

    def __init__(self, kept: str = "CameralAudit") -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self.kept_calls: list[tuple[str, bool, tuple[Any, ...]]] = []
        self.kept_workflow: str | None = None
        self._kept_type = kept
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.seconds.clear()
            self.calls.clear()
            self.kept_calls.clear()
            self.kept_workflow = None

    def keep(self, info: activity.Info, args: Sequence[Any]) -> None:
        if info.workflow_type != self._kept_type or info.attempt > 1:
            return
        with self._lock:
            self.kept_workflow = self.kept_workflow or info.workflow_id
            if info.workflow_id == self.kept_workflow:
                self.kept_calls.append((info.activity_type, info.is_local, tuple(args)))

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
        self._totals.keep(info, input.args)
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
