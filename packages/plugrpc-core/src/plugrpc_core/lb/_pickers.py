"""State aggregation and the small pickers that every policy needs.

``aggregate_state`` is the rule of gRFC A61 (and grpc-go's ``endpointsharding``) for a parent
whose children are alternatives: the parent is as good as its best child.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from .._balancing import (
    ConnectivityState,
    PickComplete,
    Picker,
    PickFail,
    PickQueue,
)
from .._status import StatusCode

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from .._balancing import BalancerHelper, PickInfo, PickResult
    from .._metadata import Metadata

__all__ = [
    "FailPicker",
    "IdlePicker",
    "QueuePicker",
    "add_on_done",
    "aggregate_state",
]

_READY = ConnectivityState.READY
_CONNECTING = ConnectivityState.CONNECTING
_IDLE = ConnectivityState.IDLE
_TRANSIENT_FAILURE = ConnectivityState.TRANSIENT_FAILURE
_QUEUE = PickQueue()


def aggregate_state(states: Iterable[ConnectivityState]) -> ConnectivityState:
    """The state of a parent policy whose children are interchangeable (gRFC A61).

    READY if any child is READY; else CONNECTING if any is CONNECTING; else IDLE if any is
    IDLE; else TRANSIENT_FAILURE (also for no children at all). SHUTDOWN children are
    ignored. This is grpc-go's ``endpointsharding`` rule, used by ``round_robin``,
    ``least_request_experimental`` and ``weighted_round_robin``; ``ring_hash_experimental``
    has a rule of its own (gRFC A42).

    Args:
        states: the children's current states, in any order.

    Returns:
        The parent's state.
    """
    seen: set[ConnectivityState] = set(states)
    for candidate in (_READY, _CONNECTING, _IDLE):
        if candidate in seen:
            return candidate
    return _TRANSIENT_FAILURE


class QueuePicker(Picker):
    """Queues every call until the next picker (the picker of a CONNECTING policy)."""

    __slots__ = ()

    def pick(self, info: PickInfo) -> PickResult:
        """Always ``PickQueue()``; the result object is shared, nothing is allocated."""
        return _QUEUE


class FailPicker(Picker):
    """Fails every call with one status.

    Non-wait-for-ready calls fail with it; wait-for-ready calls keep waiting for a better
    picker unless ``drop`` is set (grpc-go treats a picker error the same way).

    Args:
        message: the status message calls fail with; say what went wrong and where.
        code: the status code (UNAVAILABLE unless the policy has a reason for another;
            codes gRFC A54 forbids to the control plane become INTERNAL in the channel).
        drop: fail wait-for-ready calls too (a deliberate drop, not a connectivity problem).
    """

    __slots__ = ("_result",)

    def __init__(
        self, message: str, *, code: StatusCode = StatusCode.UNAVAILABLE, drop: bool = False
    ) -> None:
        self._result = PickFail(code=code, message=message, drop=drop)

    @property
    def result(self) -> PickFail:
        """The failure every pick returns."""
        return self._result

    def pick(self, info: PickInfo) -> PickResult:
        """The same failure for every call."""
        return self._result


class IdlePicker(Picker):
    """The picker of an IDLE policy: queues calls and wakes the policy up on the first pick.

    The wake-up runs from a zero-delay timer of ``helper``, never inside ``pick``, so a policy
    is never re-entered from a pick (grpc-go's ``idlePicker`` does the same with a goroutine).
    Only the first pick of this picker schedules it.

    Args:
        helper: the policy's helper (its timers are muted once the policy is closed).
        exit_idle: what to call, usually the policy's own ``exit_idle``.
    """

    __slots__ = ("_exit_idle", "_helper", "_scheduled")

    def __init__(self, helper: BalancerHelper, exit_idle: Callable[[], None]) -> None:
        self._helper = helper
        self._exit_idle = exit_idle
        self._scheduled = False

    def pick(self, info: PickInfo) -> PickResult:
        """Queue the call; the first time, schedule ``exit_idle``."""
        if not self._scheduled:
            self._scheduled = True
            self._helper.call_later(0.0, self._exit_idle)
        return _QUEUE


def add_on_done(
    result: PickComplete, callback: Callable[[StatusCode, Metadata], None]
) -> PickComplete:
    """``result`` with ``callback`` added to what runs when the call ends.

    ``callback(code, trailing_metadata)`` runs first, then the callback ``result`` already had
    (a child policy's). The channel also runs it, with UNAVAILABLE, for a pick it could not
    use. Use it in pickers that count calls (``least_request_experimental``) or read
    per-call load reports (``weighted_round_robin``, ORCA).

    Args:
        result: a child picker's answer.
        callback: the parent's bookkeeping; it must not raise.

    Returns:
        A new ``PickComplete`` for the same subchannel.
    """
    inner = result.on_done
    if inner is None:
        return dataclasses.replace(result, on_done=callback)

    def both(code: StatusCode, trailing_metadata: Metadata) -> None:
        try:
            callback(code, trailing_metadata)
        finally:
            inner(code, trailing_metadata)

    return dataclasses.replace(result, on_done=both)
