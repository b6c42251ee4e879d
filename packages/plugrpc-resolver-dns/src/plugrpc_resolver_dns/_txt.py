"""Service configs in DNS TXT records (gRFC A2), without sockets.

Theory of operation:

- The config for ``host`` lives at ``_grpc_config.<host>`` in a TXT record whose text is
  ``grpc_config=`` followed by a JSON list of choices (RFC 1464 attribute form). A TXT record
  is a sequence of strings of at most 255 bytes each (RFC 1035 section 3.3); a long value is
  split over several strings of one record, which are concatenated (RFC 4408 section 3.1.3).
  The first record whose joined text starts with ``grpc_config=`` is the one used, as in
  C-core; other TXT records at that name are ignored; none means no config.
- Each choice is an object with optional criteria and a required ``serviceConfig`` object.
  An absent or empty criterion matches every client; all present criteria must match:
  ``clientLanguage`` (case-insensitive; ours is ``python``), ``clientHostname`` (exact match
  of the system's host name) and ``percentage`` (an integer from 0 to 100). The first
  matching choice wins; no match means no service config.
- A2: a choice with an unknown field, a criterion of the wrong type or a ``serviceConfig``
  that is not an object makes the whole record invalid, and so (A21) the channel keeps the
  config it had. grpc-go and C-core ignore unknown fields; we follow the gRFC, because a
  misspelt criterion would otherwise silently match every client.
- The percentage is compared with one number per client drawn once (``roll``, uniform in
  0-99): a choice with ``percentage: p`` is selected when ``roll < p``. grpc-go and C-core
  draw again on every lookup, which moves a client in and out of a canary at each
  re-resolution; a fixed roll keeps each client on one side.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "CLIENT_LANGUAGE",
    "TXT_ATTRIBUTE",
    "TXT_PREFIX",
    "choose_service_config",
    "grpc_config_value",
    "txt_record_name",
]

#: The DNS name prefix of service-config TXT records (gRFC A2).
TXT_PREFIX = "_grpc_config."
#: The RFC 1464 attribute that a service-config TXT record starts with.
TXT_ATTRIBUTE = "grpc_config="
#: Our ``clientLanguage`` token (A2 lists "c++", "java", "go", "python").
CLIENT_LANGUAGE = "python"

_CHOICE_FIELDS = frozenset({"clientLanguage", "percentage", "clientHostname", "serviceConfig"})


def txt_record_name(host: str) -> str:
    """``_grpc_config.<host>``: where ``host``'s service config is published."""
    return TXT_PREFIX + host


def grpc_config_value(records: Iterable[Sequence[bytes]]) -> str | None:
    """The value of the first ``grpc_config=`` TXT record, its strings joined.

    Args:
        records: the TXT records at ``_grpc_config.<host>``, each a sequence of strings.

    Returns:
        The text after ``grpc_config=``, or None if no record starts with it.

    Raises:
        ValueError: the chosen record is not valid UTF-8 (A2 requires ASCII).
    """
    prefix = TXT_ATTRIBUTE.encode("ascii")
    for strings in records:
        joined = b"".join(strings)
        if joined.startswith(prefix):
            try:
                return joined[len(prefix) :].decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ValueError(f"the grpc_config TXT record is not ASCII text: {exc}") from None
    return None


def _string_list(choice: dict[str, Any], key: str, index: int) -> list[str]:
    if key not in choice:
        return []
    value = choice[key]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"choice {index}: {key} must be a list of strings, got {value!r}")
    return value


def _percentage(choice: dict[str, Any], index: int) -> int | None:
    if "percentage" not in choice:
        return None
    value = choice["percentage"]
    # A2: an integer from 0 to 100; JSON true/false and 50.0 are not integers here.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise ValueError(f"choice {index}: percentage must be an integer 0-100, got {value!r}")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def choose_service_config(
    value: str, *, hostname: str, roll: int, language: str = CLIENT_LANGUAGE
) -> dict[str, Any] | None:
    """Select a service config among A2 choices.

    Args:
        value: the JSON list of choices (the TXT value after ``grpc_config=``).
        hostname: this client's host name (``socket.gethostname()``).
        roll: this client's draw for ``percentage``, an integer in 0-99.
        language: this client's language token.

    Returns:
        The ``serviceConfig`` object of the first matching choice (not yet validated as a
        service config), or None when no choice matches.

    Raises:
        ValueError: the value is not JSON, not a list of choices, or a choice is malformed
            (the whole record is invalid, A2).
    """
    try:
        doc = json.loads(value, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"the grpc_config value is not valid JSON: {exc}") from None
    if not isinstance(doc, list):
        raise ValueError(f"grpc_config must be a JSON list of choices, got {type(doc).__name__}")
    language = language.casefold()
    chosen: dict[str, Any] | None = None
    # Validate every choice before using any: one bad choice invalidates the record (A2).
    for index, choice in enumerate(doc):
        if not isinstance(choice, dict):
            raise ValueError(f"choice {index} must be a JSON object, got {choice!r}")
        unknown = sorted(set(choice) - _CHOICE_FIELDS)
        if unknown:
            raise ValueError(f"choice {index}: unknown field {unknown[0]!r}")
        languages = _string_list(choice, "clientLanguage", index)
        hostnames = _string_list(choice, "clientHostname", index)
        percentage = _percentage(choice, index)
        config = choice.get("serviceConfig")
        if not isinstance(config, dict):
            raise ValueError(f"choice {index}: serviceConfig must be a JSON object, got {config!r}")
        if chosen is not None:
            continue
        if languages and language not in {item.casefold() for item in languages}:
            continue
        if hostnames and hostname not in hostnames:
            continue
        if percentage is not None and not roll < percentage:
            continue
        chosen = config
    return chosen
