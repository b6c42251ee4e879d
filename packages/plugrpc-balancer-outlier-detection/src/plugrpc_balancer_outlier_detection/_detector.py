"""The ejection algorithms of outlier detection, as plain objects (gRFC A50).

Theory of operation: every address has an ``AddressInfo`` holding a ``CallCounter`` (two
buckets of successes and failures, as in Envoy: calls count into the active bucket, and each
sweep swaps it with the inactive one after zeroing that), the time it was last ejected (None
when in service), its ejection multiplier and the subchannels for that address.

A sweep (``sweep``), run every ``interval``:

1. swaps every address's buckets, so the inactive bucket holds the last interval's calls;
2. runs the success-rate algorithm, then the failure-percentage algorithm, if configured
   (A50 "Success Rate Algorithm", "Failure Percentage Algorithm"; grpc-go's choices where
   A50 leaves room: only addresses with at least ``request_volume`` calls are counted for
   ``minimum_hosts``, the standard deviation is the population one, a failure percentage
   must be strictly above the threshold);
3. for every address in service, lowers a positive multiplier by one; for every ejected
   address, returns it to service once ``base_ejection_time * multiplier`` (capped at
   ``max(base_ejection_time, max_ejection_time)``) has passed since its ejection.

No algorithm ejects past ``max_ejection_percent`` of the addresses (the check comes before
each ejection, so one address can always be ejected), and an address already ejected is
not ejected again. Randomness (``enforcement_percentage``) comes from an injected source.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import random
    from collections.abc import Iterable

    from ._config import OutlierDetectionConfig

__all__ = ["AddressInfo", "Bucket", "CallCounter", "Ejectable", "sweep"]


class Ejectable(Protocol):
    """A subchannel wrapper that can be taken out of service and put back."""

    def eject(self) -> None:
        """Report TRANSIENT_FAILURE to the child policy until ``uneject``."""
        ...

    def uneject(self) -> None:
        """Report the real state again."""
        ...


class Bucket:
    """Call results over one interval."""

    __slots__ = ("failures", "successes")

    def __init__(self) -> None:
        self.successes = 0
        self.failures = 0

    @property
    def volume(self) -> int:
        """All calls counted."""
        return self.successes + self.failures


class CallCounter:
    """Two buckets: calls go to ``active``; a sweep reads ``inactive``."""

    __slots__ = ("active", "inactive")

    def __init__(self) -> None:
        self.active = Bucket()
        self.inactive = Bucket()

    def swap(self) -> None:
        """Start a new interval: the active bucket becomes the one the sweep reads."""
        spare = self.inactive
        spare.successes = spare.failures = 0
        self.inactive, self.active = self.active, spare

    def clear(self) -> None:
        """Forget every count."""
        for bucket in (self.active, self.inactive):
            bucket.successes = bucket.failures = 0


class AddressInfo:
    """What outlier detection knows about one address."""

    __slots__ = ("counter", "ejected_at", "multiplier", "subchannels")

    def __init__(self) -> None:
        self.counter = CallCounter()
        #: When the address was ejected (the sweep's time), or None while in service.
        self.ejected_at: float | None = None
        #: How many ejection periods the next ejection lasts, minus one.
        self.multiplier = 0
        #: The subchannel wrappers for this address.
        self.subchannels: list[Ejectable] = []

    def __repr__(self) -> str:
        bucket = self.counter.inactive
        return (
            f"<AddressInfo ok={bucket.successes} failed={bucket.failures} "
            f"ejected_at={self.ejected_at} multiplier={self.multiplier}>"
        )

    @property
    def ejected(self) -> bool:
        """Whether the address is out of service."""
        return self.ejected_at is not None

    def eject(self, now: float) -> None:
        """Take the address out of service."""
        self.ejected_at = now
        self.multiplier += 1
        for subchannel in list(self.subchannels):
            subchannel.eject()

    def uneject(self) -> None:
        """Put the address back in service."""
        self.ejected_at = None
        for subchannel in list(self.subchannels):
            subchannel.uneject()


def sweep(
    addresses: Iterable[AddressInfo],
    config: OutlierDetectionConfig,
    now: float,
    rng: random.Random,
) -> tuple[list[AddressInfo], list[AddressInfo]]:
    """One run of the interval timer (A50 "Outlier Detection Behavior", steps 1-5).

    Args:
        addresses: every address's info, in a stable order.
        config: the policy's config.
        now: the sweep's time, recorded as the ejection time of addresses ejected now.
        rng: decides ``enforcement_percentage``.

    Returns:
        The addresses ejected and the addresses returned to service by this sweep.
    """
    infos = list(addresses)
    for info in infos:
        info.counter.swap()
    ejected: list[AddressInfo] = []
    if config.success_rate_ejection is not None:
        ejected += _success_rate(infos, config, now, rng)
    if config.failure_percentage_ejection is not None:
        ejected += _failure_percentage(infos, config, now, rng)
    returned: list[AddressInfo] = []
    base = config.base_ejection_time
    cap = max(base, config.max_ejection_time)
    for info in infos:
        if info.ejected_at is None:
            if info.multiplier > 0:
                info.multiplier -= 1
        elif now >= info.ejected_at + min(base * info.multiplier, cap):
            info.uneject()
            returned.append(info)
    return ejected, returned


def _may_eject(infos: list[AddressInfo], config: OutlierDetectionConfig) -> bool:
    ejected = sum(1 for info in infos if info.ejected)
    return ejected * 100 < config.max_ejection_percent * len(infos)


def _success_rate(
    infos: list[AddressInfo], config: OutlierDetectionConfig, now: float, rng: random.Random
) -> list[AddressInfo]:
    settings = config.success_rate_ejection
    assert settings is not None
    candidates = [i for i in infos if i.counter.inactive.volume >= settings.request_volume]
    if not candidates or len(candidates) < settings.minimum_hosts:
        return []
    rates = [i.counter.inactive.successes / i.counter.inactive.volume for i in candidates]
    mean = sum(rates) / len(rates)
    stdev = math.sqrt(sum((r - mean) ** 2 for r in rates) / len(rates))
    required = mean - stdev * (settings.stdev_factor / 1000)
    ejected = []
    for info, rate in zip(candidates, rates, strict=True):
        if not _may_eject(infos, config):
            break
        if info.ejected or rate >= required:
            continue
        if rng.randrange(100) < settings.enforcement_percentage:
            info.eject(now)
            ejected.append(info)
    return ejected


def _failure_percentage(
    infos: list[AddressInfo], config: OutlierDetectionConfig, now: float, rng: random.Random
) -> list[AddressInfo]:
    settings = config.failure_percentage_ejection
    assert settings is not None
    candidates = [i for i in infos if i.counter.inactive.volume >= settings.request_volume]
    if not candidates or len(candidates) < settings.minimum_hosts:
        return []
    ejected = []
    for info in candidates:
        if not _may_eject(infos, config):
            break
        bucket = info.counter.inactive
        if info.ejected or bucket.failures * 100 <= settings.threshold * bucket.volume:
            continue
        if rng.randrange(100) < settings.enforcement_percentage:
            info.eject(now)
            ejected.append(info)
    return ejected
