"""The ejection algorithms on plain AddressInfo objects, with a manual clock."""

from __future__ import annotations

import random

import pytest
from plugrpc_balancer_outlier_detection import (
    AddressInfo,
    CallCounter,
    FailurePercentageEjection,
    OutlierDetectionConfig,
    SuccessRateEjection,
    sweep,
)


class Recorder:
    """An Ejectable that remembers what it was told."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def eject(self) -> None:
        self.events.append("eject")

    def uneject(self) -> None:
        self.events.append("uneject")


def config(**overrides: object) -> OutlierDetectionConfig:
    fields: dict[str, object] = {
        "child_policy": ("child", None),
        "interval": 1.0,
        "base_ejection_time": 10.0,
        "max_ejection_time": 300.0,
        "max_ejection_percent": 100,
    }
    fields.update(overrides)
    return OutlierDetectionConfig(**fields)  # type: ignore[arg-type]


def addresses(results: list[tuple[int, int]]) -> list[AddressInfo]:
    """One AddressInfo per (successes, failures), counted in the active bucket."""
    infos = []
    for successes, failures in results:
        info = AddressInfo()
        info.subchannels.append(Recorder())
        info.counter.active.successes = successes
        info.counter.active.failures = failures
        infos.append(info)
    return infos


FAILURE = FailurePercentageEjection(threshold=50, minimum_hosts=3, request_volume=10)


def test_counter_swap_reads_the_last_interval() -> None:
    counter = CallCounter()
    counter.active.successes = 3
    counter.active.failures = 1
    counter.swap()
    assert (counter.inactive.successes, counter.inactive.failures) == (3, 1)
    assert counter.active.volume == 0
    counter.active.failures = 5
    counter.swap()
    assert (counter.inactive.successes, counter.inactive.failures) == (0, 5)
    counter.clear()
    assert counter.active.volume == counter.inactive.volume == 0


def test_failure_percentage_ejects_above_the_threshold_only() -> None:
    infos = addresses([(20, 0), (10, 10), (9, 11), (0, 20)])
    ejected, returned = sweep(
        infos, config(failure_percentage_ejection=FAILURE), 5.0, random.Random()
    )
    # 50 % is not above a threshold of 50; 55 % and 100 % are.
    assert ejected == [infos[2], infos[3]] and returned == []
    assert [i.ejected_at for i in infos] == [None, None, 5.0, 5.0]
    assert infos[3].subchannels[0].events == ["eject"]  # type: ignore[attr-defined]
    assert infos[3].multiplier == 1


def test_failure_percentage_needs_volume_and_hosts() -> None:
    # Only two addresses reach the request volume of 10: fewer than minimum_hosts (3).
    infos = addresses([(20, 0), (0, 9), (0, 20)])
    assert sweep(infos, config(failure_percentage_ejection=FAILURE), 1.0, random.Random()) == (
        [],
        [],
    )
    infos = addresses([(20, 0), (0, 9), (0, 20), (15, 0)])
    ejected, _ = sweep(infos, config(failure_percentage_ejection=FAILURE), 1.0, random.Random())
    assert ejected == [infos[2]]  # infos[1] fails everything but has too few calls


def test_enforcement_percentage_is_a_probability() -> None:
    never = FailurePercentageEjection(
        threshold=50, minimum_hosts=1, request_volume=1, enforcement_percentage=0
    )
    infos = addresses([(0, 10), (10, 0)])
    assert sweep(infos, config(failure_percentage_ejection=never), 1.0, random.Random()) == (
        [],
        [],
    )
    half = FailurePercentageEjection(
        threshold=50, minimum_hosts=1, request_volume=1, enforcement_percentage=50
    )
    rng = random.Random(9)
    ejections = 0
    for _ in range(400):
        infos = addresses([(0, 10)])
        ejected, _ = sweep(infos, config(failure_percentage_ejection=half), 1.0, rng)
        ejections += len(ejected)
    assert 150 < ejections < 250


def test_max_ejection_percent_but_always_one() -> None:
    failing = [(0, 20)] * 4 + [(20, 0)] * 6
    infos = addresses(failing)
    ejected, _ = sweep(
        infos,
        config(failure_percentage_ejection=FAILURE, max_ejection_percent=20),
        1.0,
        random.Random(),
    )
    assert len(ejected) == 2  # 20 % of 10
    infos = addresses([(0, 20), (0, 20), (20, 0)])
    ejected, _ = sweep(
        infos,
        config(failure_percentage_ejection=FAILURE, max_ejection_percent=10),
        1.0,
        random.Random(),
    )
    assert len(ejected) == 1  # 10 % of 3 rounds down to nothing, but one may always go


def test_success_rate_ejects_statistical_outliers() -> None:
    success = SuccessRateEjection(stdev_factor=1900, minimum_hosts=5, request_volume=10)
    # Rates 1, 1, 1, 1, 0.5: mean 0.9, stdev 0.2, required 0.9 - 0.38 = 0.52.
    infos = addresses([(10, 0)] * 4 + [(5, 5)])
    ejected, _ = sweep(infos, config(success_rate_ejection=success), 1.0, random.Random())
    assert ejected == [infos[4]]
    # Rates 1, 1, 1, 0.8, 0.8: mean 0.92, stdev 0.098, required 0.734: both kept.
    infos = addresses([(10, 0)] * 3 + [(8, 2)] * 2)
    assert sweep(infos, config(success_rate_ejection=success), 1.0, random.Random())[0] == []
    # Four hosts with volume: below minimum_hosts, nothing runs.
    infos = addresses([(10, 0)] * 3 + [(0, 10), (1, 0)])
    assert sweep(infos, config(success_rate_ejection=success), 1.0, random.Random())[0] == []


def test_ejection_time_grows_with_the_multiplier_and_is_capped() -> None:
    settings = config(
        failure_percentage_ejection=FailurePercentageEjection(
            threshold=50, minimum_hosts=1, request_volume=1
        ),
        base_ejection_time=10.0,
        max_ejection_time=25.0,
    )
    info = addresses([(0, 5)])[0]
    rng = random.Random()
    now = 0.0

    def run(successes: int = 0, failures: int = 0) -> tuple[bool, bool]:
        info.counter.active.successes += successes
        info.counter.active.failures += failures
        ejected, returned = sweep([info], settings, now, rng)
        return bool(ejected), bool(returned)

    assert run() == (True, False)  # ejected at 0 for 10 s
    now = 9.0
    assert run() == (False, False)
    now = 10.0
    assert run() == (False, True)
    now = 11.0
    assert run(failures=5) == (True, False)  # second ejection: 20 s
    now = 30.0
    assert run() == (False, False)
    now = 31.0
    assert run() == (False, True)
    now = 32.0
    assert run(failures=5) == (True, False)  # third: 30 s, capped at 25
    now = 57.0
    assert run() == (False, True)
    assert info.multiplier == 3
    # In service, each sweep lowers the multiplier by one.
    for expected in (2, 1, 0, 0):
        now += 1.0
        run(successes=5)
        assert info.multiplier == expected


def test_max_ejection_time_below_base_uses_base() -> None:
    settings = config(
        failure_percentage_ejection=FailurePercentageEjection(
            threshold=50, minimum_hosts=1, request_volume=1
        ),
        base_ejection_time=10.0,
        max_ejection_time=1.0,
    )
    info = addresses([(0, 5)])[0]
    sweep([info], settings, 0.0, random.Random())
    assert sweep([info], settings, 9.9, random.Random())[1] == []
    assert sweep([info], settings, 10.0, random.Random())[1] == [info]


def test_ejected_addresses_are_not_ejected_twice() -> None:
    settings = config(
        failure_percentage_ejection=FailurePercentageEjection(
            threshold=50, minimum_hosts=1, request_volume=1
        )
    )
    info = addresses([(0, 5)])[0]
    sweep([info], settings, 0.0, random.Random())
    info.counter.active.failures = 5  # calls that were in flight at the ejection
    ejected, _ = sweep([info], settings, 1.0, random.Random())
    assert ejected == [] and info.multiplier == 1 and info.ejected_at == 0.0


@pytest.mark.parametrize("algorithms", [{}, {"success_rate_ejection": SuccessRateEjection()}])
def test_nothing_happens_without_calls(algorithms: dict[str, object]) -> None:
    infos = addresses([(0, 0)] * 6)
    assert sweep(infos, config(**algorithms), 1.0, random.Random()) == ([], [])
