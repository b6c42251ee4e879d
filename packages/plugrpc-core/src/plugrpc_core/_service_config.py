"""Parsing service configs (gRFC A2, A6, A21; grpc's service_config.md).

Theory of operation: the JSON document is decoded once, then every known field is read
with a typed reader that knows its path, so any error names the field
(``methodConfig[0].retryPolicy.maxAttempts: ...``). A21: bad JSON or a bad value in a known
field rejects the whole config; unknown fields are ignored. Where the specs leave room, the
rules are grpc-go's (``service_config.go``, ``gracefulswitch.ParseConfig``):

- ``loadBalancingConfig`` wins over the deprecated ``loadBalancingPolicy``. Its entries are
  one-key objects, walked in order; the first policy in the balancer registry is chosen and
  its config parsed by that ``Balancer.parse_config``; entries before it that are not
  installed are skipped; none installed is an error. Names match case-sensitively (grpc-go
  made its balancer registry case-sensitive).
- ``loadBalancingPolicy`` naming a policy that is not installed falls back to the default
  (pick_first), quietly in grpc-go, with a logged warning here.
- ``retryPolicy`` and ``hedgingPolicy``: ``maxAttempts`` above the client's cap (5) is
  lowered to it silently.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from contextvars import ContextVar
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

from ._registries import balancers as _installed_balancers
from ._sc_json import (
    ServiceConfigError,
    fail,
    read_bool,
    read_duration,
    read_int,
    read_list,
    read_number,
    read_object,
    read_status_codes,
    read_str,
    show,
)
from ._sc_model import (
    HedgingPolicy,
    MethodConfig,
    MethodName,
    RetryPolicy,
    RetryThrottling,
    ServiceConfig,
)

if TYPE_CHECKING:
    from ._balancing import Balancer
    from ._registry import Registry

__all__ = [
    "HedgingPolicy",
    "MethodConfig",
    "MethodName",
    "RetryPolicy",
    "RetryThrottling",
    "ServiceConfig",
    "ServiceConfigError",
    "parse_service_config",
    "select_lb_policy",
]

_log = logging.getLogger("plugrpc.service_config")

#: grpc-go's default ``WithMaxCallAttempts``: retry and hedging attempts are capped here.
DEFAULT_MAX_ATTEMPTS = 5

# The registry that the outermost parse uses, so that a balancer's parse_config selecting
# its childPolicy with select_lb_policy(...) sees the same registry without passing it on.
_balancers_in_use: ContextVar[Registry[Balancer] | None] = ContextVar(
    "plugrpc_service_config_balancers", default=None
)


def parse_service_config(
    raw: str | bytes | Mapping[str, Any],
    *,
    balancers: Registry[Balancer] | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> ServiceConfig:
    """Parse and validate a service config.

    Args:
        raw: JSON text, or an already decoded JSON object.
        balancers: the registry that ``loadBalancingConfig`` names are looked up in
            (default: the installed balancers, ``plugrpc_core.plugins.balancers``).
        max_attempts: the client's cap on retry and hedging attempts (grpc-go's
            ``WithMaxCallAttempts``, default 5); larger ``maxAttempts`` are lowered to it.

    Raises:
        ServiceConfigError: the config is invalid; the message names the field.
    """
    doc = _decode(raw)
    registry = _registry(balancers)
    token = _balancers_in_use.set(registry)
    try:
        policy, policy_config = _parse_load_balancing(doc, registry)
    finally:
        _balancers_in_use.reset(token)
    method_configs: tuple[MethodConfig, ...] = ()
    if doc.get("methodConfig") is not None:
        method_configs = _parse_method_configs(doc["methodConfig"], max(2, max_attempts))
    throttling = None
    if doc.get("retryThrottling") is not None:
        throttling = _parse_throttling(doc["retryThrottling"], "retryThrottling")
    health_service = None
    if doc.get("healthCheckConfig") is not None:
        health = read_object(doc["healthCheckConfig"], "healthCheckConfig")
        health_service = _optional_str(health, "serviceName", "healthCheckConfig") or ""
    return ServiceConfig(
        load_balancing_policy=policy,
        load_balancing_config=policy_config,
        method_configs=method_configs,
        retry_throttling=throttling,
        health_check_service_name=health_service,
        raw=doc,
    )


def select_lb_policy(
    configs: Any,
    balancers: Registry[Balancer] | None = None,
    *,
    path: str = "childPolicy",
) -> tuple[str, Any]:
    """Choose from a ``loadBalancingConfig``-style list, as balancers do for ``childPolicy``.

    Walks the one-key objects in order and returns ``(name, parsed config)`` of the first
    policy in the registry, its config parsed by that class's ``parse_config``.

    Args:
        configs: the JSON list, e.g. ``[{"ring_hash_experimental": {}}, {"round_robin": {}}]``.
        balancers: the registry to look names up in; default: the one the enclosing
            ``parse_service_config`` uses, else the installed balancers.
        path: the field path used in error messages.

    Raises:
        ServiceConfigError: the list is malformed, no listed policy is installed, or the
            chosen policy rejects its config.
    """
    registry = _registry(balancers)
    items = read_list(configs, path)
    if not items:
        fail(path, 'lists no policy; give at least one, such as [{"pick_first": {}}]')
    names: list[str] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or len(item) != 1:
            fail(
                f"{path}[{i}]",
                "each entry must be an object with exactly one key, the policy name, "
                f'such as {{"round_robin": {{}}}}; got {show(item)}',
            )
        ((name, config),) = item.items()
        cls = registry.find(name)
        if cls is None:
            names.append(name)
            continue
        token = _balancers_in_use.set(registry)
        try:
            return name, _parse_policy_config(cls, name, config, f"{path}[{i}].{name}")
        finally:
            _balancers_in_use.reset(token)
    listed = ", ".join(repr(n) for n in names)
    installed = ", ".join(registry.keys()) or "none"
    message = f"no installed policy among {listed}; installed: {installed}"
    hint = registry.install_hint(names[0])
    if hint is not None:
        message += f"; pip install {hint}"
    fail(path, message)


# -- pieces ---------------------------------------------------------------------------------


def _registry(balancers: Registry[Balancer] | None) -> Registry[Balancer]:
    if balancers is not None:
        return balancers
    return _balancers_in_use.get() or _installed_balancers


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _decode(raw: str | bytes | Mapping[str, Any]) -> dict[str, Any]:
    try:
        if isinstance(raw, Mapping):
            # A round trip detaches the config from the caller's objects and checks that it
            # is JSON, so a dict and its text parse identically.
            doc = json.loads(json.dumps(raw, allow_nan=False))
        else:
            if not raw.strip():
                fail("", "the service config is empty")
            doc = json.loads(raw, parse_constant=_reject_constant)
    except ServiceConfigError:
        raise
    except (TypeError, ValueError) as exc:
        fail("", f"the service config is not valid JSON: {exc}")
    if not isinstance(doc, dict):
        fail("", f"the service config must be a JSON object, got {show(doc)}")
    return doc


def _parse_load_balancing(
    doc: dict[str, Any], registry: Registry[Balancer]
) -> tuple[str | None, Any]:
    if doc.get("loadBalancingConfig") is not None:
        return select_lb_policy(doc["loadBalancingConfig"], registry, path="loadBalancingConfig")
    if doc.get("loadBalancingPolicy") is None:
        return None, None
    name = read_str(doc["loadBalancingPolicy"], "loadBalancingPolicy")
    cls = registry.find(name)
    if cls is None:
        _log.warning(
            "service config: loadBalancingPolicy %r is not installed (installed: %s); using "
            "the default, pick_first, as grpc-go does",
            name,
            ", ".join(registry.keys()) or "none",
        )
        return None, None
    return name, _parse_policy_config(cls, name, {}, "loadBalancingPolicy")


def _parse_policy_config(cls: type[Balancer], name: str, config: Any, path: str) -> Any:
    try:
        return cls.parse_config({} if config is None else config)
    except ServiceConfigError as exc:
        # A nested list (childPolicy) failed: extend its path instead of repeating it.
        fail(f"{path}.{exc.path}" if exc.path else path, exc.reason)
    except (ValueError, TypeError, LookupError) as exc:
        fail(path, f"invalid config for policy {name!r}: {exc}")


def _optional_str(obj: dict[str, Any], key: str, path: str) -> str | None:
    value = obj.get(key)
    return None if value is None else read_str(value, f"{path}.{key}")


def _parse_method_configs(value: Any, max_attempts: int) -> tuple[MethodConfig, ...]:
    out: list[MethodConfig] = []
    seen: dict[str, str] = {}
    for i, item in enumerate(read_list(value, "methodConfig")):
        path = f"methodConfig[{i}]"
        obj = read_object(item, path)
        if obj.get("name") is None:
            continue  # grpc-go skips a methodConfig that names no method
        names: list[MethodName] = []
        for j, entry in enumerate(read_list(obj["name"], f"{path}.name")):
            npath = f"{path}.name[{j}]"
            nobj = read_object(entry, npath)
            service = _optional_str(nobj, "service", npath) or ""
            method = _optional_str(nobj, "method", npath) or ""
            if not service and method:
                fail(
                    npath,
                    f"has method {method!r} but no service; set 'service' too, or leave both "
                    "empty for the channel-wide default",
                )
            name = MethodName(service=service, method=method)
            if name.path in seen:
                fail(npath, f"duplicate name {name}, already used at {seen[name.path]}")
            seen[name.path] = npath
            names.append(name)
        out.append(_parse_method_config(obj, path, tuple(names), max_attempts))
    return tuple(out)


def _parse_method_config(
    obj: dict[str, Any], path: str, names: tuple[MethodName, ...], max_attempts: int
) -> MethodConfig:
    wait_for_ready = None
    if obj.get("waitForReady") is not None:
        wait_for_ready = read_bool(obj["waitForReady"], f"{path}.waitForReady")
    timeout = None
    if obj.get("timeout") is not None:
        timeout = read_duration(obj["timeout"], f"{path}.timeout")
        if timeout < 0:
            fail(f"{path}.timeout", f"must not be negative, got {show(obj['timeout'])}")
    sizes: list[int | None] = []
    for key in ("maxRequestMessageBytes", "maxResponseMessageBytes"):
        size = None
        if obj.get(key) is not None:
            size = read_int(obj[key], f"{path}.{key}", allow_string=True)
            if size < 0:
                fail(f"{path}.{key}", f"must not be negative, got {size}")
        sizes.append(size)
    retry = obj.get("retryPolicy")
    hedging = obj.get("hedgingPolicy")
    if retry is not None and hedging is not None:
        fail(path, "sets both retryPolicy and hedgingPolicy; a method may use only one (gRFC A6)")
    return MethodConfig(
        names=names,
        wait_for_ready=wait_for_ready,
        timeout=timeout,
        max_request_message_bytes=sizes[0],
        max_response_message_bytes=sizes[1],
        retry_policy=None
        if retry is None
        else _parse_retry(retry, f"{path}.retryPolicy", max_attempts),
        hedging_policy=None
        if hedging is None
        else _parse_hedging(hedging, f"{path}.hedgingPolicy", max_attempts),
    )


def _required(obj: dict[str, Any], key: str, path: str, what: str) -> Any:
    value = obj.get(key)
    if value is None:
        fail(f"{path}.{key}", f"is required: {what}")
    return value


def _attempts(obj: dict[str, Any], path: str, cap: int) -> int:
    what = "an integer greater than 1"
    value = read_int(_required(obj, "maxAttempts", path, what), f"{path}.maxAttempts")
    if value <= 1:
        fail(f"{path}.maxAttempts", f"must be {what}, got {value}")
    return min(value, cap)


def _positive_duration(obj: dict[str, Any], key: str, path: str) -> float:
    raw = _required(obj, key, path, 'a duration greater than 0, such as "0.1s"')
    seconds = read_duration(raw, f"{path}.{key}")
    if seconds <= 0:
        fail(f"{path}.{key}", f"must be greater than 0, got {show(raw)}")
    return seconds


def _parse_retry(value: Any, path: str, cap: int) -> RetryPolicy:
    obj = read_object(value, path)
    attempts = _attempts(obj, path, cap)
    initial = _positive_duration(obj, "initialBackoff", path)
    maximum = _positive_duration(obj, "maxBackoff", path)
    raw_mult = _required(obj, "backoffMultiplier", path, "a number greater than 0")
    multiplier = read_number(raw_mult, f"{path}.backoffMultiplier")
    if multiplier <= 0:
        fail(f"{path}.backoffMultiplier", f"must be greater than 0, got {show(raw_mult)}")
    codes = _required(obj, "retryableStatusCodes", path, "a non-empty list of status codes")
    return RetryPolicy(
        max_attempts=attempts,
        initial_backoff=initial,
        max_backoff=maximum,
        backoff_multiplier=multiplier,
        retryable_status_codes=read_status_codes(
            codes, f"{path}.retryableStatusCodes", allow_empty=False
        ),
    )


def _parse_hedging(value: Any, path: str, cap: int) -> HedgingPolicy:
    obj = read_object(value, path)
    attempts = _attempts(obj, path, cap)
    delay = 0.0
    if obj.get("hedgingDelay") is not None:
        delay = read_duration(obj["hedgingDelay"], f"{path}.hedgingDelay")
        if delay < 0:
            fail(f"{path}.hedgingDelay", f"must not be negative, got {show(obj['hedgingDelay'])}")
    codes: frozenset[Any] = frozenset()
    if obj.get("nonFatalStatusCodes") is not None:
        codes = read_status_codes(
            obj["nonFatalStatusCodes"], f"{path}.nonFatalStatusCodes", allow_empty=True
        )
    return HedgingPolicy(max_attempts=attempts, hedging_delay=delay, non_fatal_status_codes=codes)


def _parse_throttling(value: Any, path: str) -> RetryThrottling:
    obj = read_object(value, path)
    raw_max = _required(obj, "maxTokens", path, "a number in (0, 1000]")
    max_tokens = read_number(raw_max, f"{path}.maxTokens")
    if not 0 < max_tokens <= 1000:
        fail(f"{path}.maxTokens", f"must be greater than 0 and at most 1000, got {show(raw_max)}")
    raw_ratio = _required(obj, "tokenRatio", path, "a number greater than 0")
    ratio = read_number(raw_ratio, f"{path}.tokenRatio")
    # gRFC A6: up to 3 decimal places are supported; the rest is dropped. Decimal of the
    # float's shortest repr keeps 0.1 as 0.1 instead of 0.1000000000000000055...
    kept = float(Decimal(repr(ratio)).quantize(Decimal("0.001"), rounding=ROUND_DOWN))
    if kept <= 0:
        fail(
            f"{path}.tokenRatio",
            f"must be at least 0.001 (decimals past the third are ignored), got {show(raw_ratio)}",
        )
    return RetryThrottling(max_tokens=max_tokens, token_ratio=kept)
