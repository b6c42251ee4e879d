"""The system's DNS configuration (no server in the target) against a real dnsmasq.

resolv.conf names servers without ports, so dnsmasq serves on port 53 of a loopback address
of its own, which takes root: the tests skip without it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar

import pytest
from plugrpc_core import Address
from plugrpc_resolver_dns import DnsResolver

LISTEN = "127.0.0.153"


@pytest.fixture
def system(tmp_path: Path, dnsmasq_factory: Any) -> Any:
    """dnsmasq on 127.0.0.153:53 and a resolver class whose resolv.conf points at it."""
    if os.geteuid() != 0:
        pytest.skip("serving DNS on port 53 (resolv.conf has no port) needs root")
    server = dnsmasq_factory(listen=LISTEN, port=53)
    conf = tmp_path / "resolv.conf"
    conf.write_text(f"nameserver {LISTEN}\nsearch ns.test test\noptions ndots:1\n")
    (tmp_path / "hosts").write_text("10.9.9.9 from-hosts.test\n")

    class SystemDns(DnsResolver):
        min_resolution_interval: ClassVar[float] = 0.1
        retry_delay: ClassVar[float] = 0.05
        lookup_timeout: ClassVar[float] = 3.0
        resolv_conf_path = str(conf)
        hosts_path = str(tmp_path / "hosts")

    return server, SystemDns


async def test_search_list_and_txt_through_it(system, listener, build) -> None:
    server, cls = system
    server.set_hosts({"svc.test": ["127.0.0.2"]})
    config = {"methodConfig": [{"name": [{}], "timeout": "3s"}]}
    server.set_txt(
        {"_grpc_config.svc.test": ["grpc_config=" + json.dumps([{"serviceConfig": config}])]}
    )
    # "svc" has fewer dots than ndots (1): the search list comes first, as a cluster's
    # resolv.conf would have it: svc.ns.test does not exist (NXDOMAIN), svc.test does.
    build(cls, "svc:7", listener).start()
    state = await listener.next_state()
    assert state.addresses == (Address(host="127.0.0.2", port=7),)
    assert state.service_config is not None
    assert state.service_config.method_configs[0].timeout == 3.0


async def test_absolute_names_and_the_hosts_file(system, listener, build) -> None:
    server, cls = system
    server.set_hosts({"svc.test": ["127.0.0.3"], "from-hosts.test": ["127.0.0.4"]})
    build(cls, "svc.test.:7", listener).start()
    assert (await listener.next_state()).addresses == (Address(host="127.0.0.3", port=7),)
    # The hosts file wins over DNS for the system's resolver.
    build(cls, "from-hosts.test:7", listener).start()
    assert (await listener.next_state()).addresses == (Address(host="10.9.9.9", port=7),)
