"""The service-config model (gRFC A2, A6, A21; grpc's service_config.proto).

Plain frozen values: ``parse_service_config`` builds them from JSON, and code may build them
directly. Durations are float seconds, status codes are ``StatusCode`` members.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._sc_json import ServiceConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ._status import StatusCode

__all__ = [
    "HedgingPolicy",
    "MethodConfig",
    "MethodName",
    "RetryPolicy",
    "RetryThrottling",
    "ServiceConfig",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class MethodName:
    """Which methods a ``MethodConfig`` applies to.

    ``service`` and ``method`` set: that method. ``method`` empty: every method of the
    service. Both empty: every method of the channel (the default). An empty service with a
    method names nothing and is rejected.
    """

    service: str = ""
    method: str = ""

    def __post_init__(self) -> None:
        if not self.service and self.method:
            raise ServiceConfigError(
                f"method name {self.method!r} has an empty service; set 'service' too, "
                "or leave both empty for the channel-wide default"
            )

    @property
    def path(self) -> str:
        """The lookup key: ``/svc/method``, ``/svc/`` for a whole service, ``""`` for all."""
        if not self.service:
            return ""
        return f"/{self.service}/{self.method}"

    def __str__(self) -> str:
        if not self.service:
            return "{} (the channel default)"
        if not self.method:
            return f"{{service: {self.service!r}}}"
        return f"{{service: {self.service!r}, method: {self.method!r}}}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Transparent retries of one method (gRFC A6).

    Retry n (n >= 1) waits a uniformly random time in
    ``[0, min(initial_backoff * backoff_multiplier ** (n - 1), max_backoff)]``.

    Attributes:
        max_attempts: total attempts including the first, 2..5 (grpc-go caps at 5).
        initial_backoff: seconds, > 0.
        max_backoff: seconds, > 0.
        backoff_multiplier: > 0.
        retryable_status_codes: codes that trigger a retry (never empty).
    """

    max_attempts: int
    initial_backoff: float
    max_backoff: float
    backoff_multiplier: float
    retryable_status_codes: frozenset[StatusCode]


@dataclass(frozen=True, slots=True, kw_only=True)
class HedgingPolicy:
    """Hedged requests of one method (gRFC A6): up to ``max_attempts`` copies in flight.

    Attributes:
        max_attempts: total attempts including the first, 2..5.
        hedging_delay: seconds between attempts (0 sends them all at once).
        non_fatal_status_codes: codes after which the other attempts carry on.
    """

    max_attempts: int
    hedging_delay: float = 0.0
    non_fatal_status_codes: frozenset[StatusCode] = frozenset()


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryThrottling:
    """Channel-wide retry throttling (gRFC A6).

    Tokens start at ``max_tokens``; a failure costs 1, a success returns ``token_ratio``;
    no retry or hedge is sent while tokens <= ``max_tokens / 2``.

    Attributes:
        max_tokens: in (0, 1000].
        token_ratio: > 0, at most 3 decimals (further decimals are dropped).
    """

    max_tokens: float
    token_ratio: float


@dataclass(frozen=True, slots=True, kw_only=True)
class MethodConfig:
    """Settings for the methods its ``names`` select. Unset fields are None.

    Attributes:
        names: the methods this applies to.
        wait_for_ready: default wait-for-ready of calls (a per-call value wins).
        timeout: seconds; the effective deadline is the sooner of this and the caller's.
        max_request_message_bytes: the smaller of this and the channel's limit applies.
        max_response_message_bytes: the smaller of this and the channel's limit applies.
        retry_policy: retries (exclusive with ``hedging_policy``).
        hedging_policy: hedging (exclusive with ``retry_policy``).
    """

    names: tuple[MethodName, ...] = ()
    wait_for_ready: bool | None = None
    timeout: float | None = None
    max_request_message_bytes: int | None = None
    max_response_message_bytes: int | None = None
    retry_policy: RetryPolicy | None = None
    hedging_policy: HedgingPolicy | None = None

    def __post_init__(self) -> None:
        if self.retry_policy is not None and self.hedging_policy is not None:
            raise ServiceConfigError(
                "a method config may set retryPolicy or hedgingPolicy, not both"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceConfig:
    """A parsed service config.

    Attributes:
        load_balancing_policy: the chosen policy's name, or None when the config chose none
            (the channel then uses ``pick_first``).
        load_balancing_config: that policy's config as its ``Balancer.parse_config`` returned it.
        method_configs: per-method settings, in config order.
        retry_throttling: channel-wide throttling of retries and hedges, if any.
        health_check_service_name: ``healthCheckConfig.serviceName`` (gRFC A17), None when
            client-side health checking is not configured.
        raw: the JSON object the config was parsed from (unknown fields included).
    """

    load_balancing_policy: str | None = None
    load_balancing_config: Any = field(default=None, hash=False)
    method_configs: tuple[MethodConfig, ...] = ()
    retry_throttling: RetryThrottling | None = None
    health_check_service_name: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)
    _by_path: dict[str, MethodConfig] = field(
        init=False, default_factory=dict, compare=False, hash=False, repr=False
    )
    _default: MethodConfig | None = field(
        init=False, default=None, compare=False, hash=False, repr=False
    )

    def __post_init__(self) -> None:
        by_path: dict[str, MethodConfig] = {}
        for mc in self.method_configs:
            for name in mc.names:
                key = name.path
                if key in by_path:
                    raise ServiceConfigError(f"method name {name} appears in two method configs")
                by_path[key] = mc
        # Slots of a frozen dataclass: set once, here, and never again.
        object.__setattr__(self, "_default", by_path.pop("", None))
        object.__setattr__(self, "_by_path", by_path)

    def method_config(self, path: str) -> MethodConfig | None:
        """The config for the method at ``path`` (``/pkg.Service/Method``).

        The most specific match wins, whole (fields are never merged): the exact method,
        then its service, then the channel default (gRFC A2; grpc-go's ``getMethodConfig``).
        """
        by_path = self._by_path
        mc = by_path.get(path)
        if mc is None:
            slash = path.rfind("/")
            if slash > 0:
                mc = by_path.get(path[: slash + 1])
            if mc is None:
                return self._default
        return mc
