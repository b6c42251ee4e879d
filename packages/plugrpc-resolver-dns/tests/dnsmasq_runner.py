"""A real DNS server for tests: dnsmasq on loopback, with records the test rewrites.

Used by this distribution's tests (through its conftest.py) and by the repository's
tests/test_e2e_dns.py, which loads this file by path (``load_runner``): one implementation.

A and AAAA records live in a hosts-format file that ``set_hosts`` rewrites before sending
SIGHUP (dnsmasq re-reads it); TXT records are configuration, which dnsmasq reads only at
start, so ``set_txt`` restarts it on the same port. Every change waits until a real query
sees it. Every name it does not define answers NXDOMAIN (``local=/#/``): no upstream server
is ever asked.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["Dnsmasq", "DnsmasqMissingError", "find_dnsmasq"]

READY_NAME = "ready.test"
_STARTUP_TIMEOUT = 10.0


class DnsmasqMissingError(RuntimeError):
    """dnsmasq is not installed (Debian: apt-get install dnsmasq-base)."""


def find_dnsmasq() -> str | None:
    """The dnsmasq binary, also looked for in the sbin directories of non-root PATHs."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/local/sbin"])
    return shutil.which("dnsmasq", path=path)


def _free_port(address: str) -> int:
    """A port free for both UDP and TCP on ``address``."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((address, 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((address, port))
                except OSError:
                    continue
        return port
    raise RuntimeError("no free port for dnsmasq")


def _quote(text: str) -> str:
    """A dnsmasq configuration string: double quotes, with backslash escapes."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Dnsmasq:
    """One dnsmasq process serving the records given to it.

    Args:
        workdir: a private directory for its files.
        hosts: name -> addresses (A and AAAA records).
        txt: name -> strings of one TXT record each, or a list of such records.
        listen: the loopback address to serve on.
        port: the port (0: a free one; 53 needs root, or CAP_NET_BIND_SERVICE).
    """

    def __init__(
        self,
        workdir: Path,
        hosts: Mapping[str, Sequence[str]] | None = None,
        txt: Mapping[str, Sequence[str] | Sequence[Sequence[str]]] | None = None,
        *,
        listen: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        binary = find_dnsmasq()
        if binary is None:
            raise DnsmasqMissingError("dnsmasq is not installed (apt-get install dnsmasq-base)")
        self.binary = binary
        self.workdir = workdir
        self.hosts_file = workdir / "hosts"
        self.conf_file = workdir / "dnsmasq.conf"
        self.log_file = workdir / "dnsmasq.log"
        self.listen = listen
        self.port = port
        self._fixed_port = port != 0
        self._hosts: dict[str, list[str]] = {}
        self._txt: dict[str, list[list[str]]] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._write_hosts(hosts or {})
        self._write_conf(txt or {})

    # -- control ----------------------------------------------------------------------

    def start(self) -> None:
        """Start on a free port (or the port it had) and wait until it answers."""
        for attempt in range(5):
            if not self._fixed_port and (not self.port or attempt):
                self.port = _free_port(self.listen)
            if self._launch():
                return
        raise RuntimeError(f"dnsmasq did not start:\n{self.log()}")

    def stop(self) -> None:
        """Kill the process and reap it."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    def set_hosts(self, hosts: Mapping[str, Sequence[str]]) -> None:
        """Replace every A/AAAA record; dnsmasq re-reads them on SIGHUP."""
        self._write_hosts(hosts)
        assert self._process is not None
        self._process.send_signal(signal.SIGHUP)
        for name, addresses in self._hosts.items():
            self._wait_for(lambda n=name, a=addresses: sorted(self.addresses(n)) == sorted(a))

    def set_txt(self, txt: Mapping[str, Sequence[str] | Sequence[Sequence[str]]]) -> None:
        """Replace every TXT record: dnsmasq reads them at start only, so restart it."""
        self._write_conf(txt)
        self.stop()
        if not self._launch():
            self.start()  # the port was taken meanwhile: a new one

    def log(self) -> str:
        """What dnsmasq logged (queries included)."""
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    # -- queries, for waiting on changes ---------------------------------------------------

    def query(self, name: str, rdtype: str, timeout: float = 1.0) -> dns.message.Message:
        """One query over UDP (TCP when truncated)."""
        request = dns.message.make_query(name, dns.rdatatype.from_text(rdtype))
        response, _ = dns.query.udp_with_fallback(
            request, self.listen, timeout=timeout, port=self.port
        )
        return response

    def truncated_over_udp(self, name: str, rdtype: str) -> bool:
        """Whether the plain (no EDNS) UDP answer has the TC bit: a client must use TCP."""
        request = dns.message.make_query(name, dns.rdatatype.from_text(rdtype))
        response = dns.query.udp(
            request, self.listen, timeout=1, port=self.port, raise_on_truncation=False
        )
        return bool(response.flags & dns.flags.TC)

    def addresses(self, name: str, timeout: float = 1.0) -> list[str]:
        """The A and AAAA addresses dnsmasq gives for ``name`` now."""
        found: list[str] = []
        for rdtype in ("A", "AAAA"):
            for rrset in self.query(name, rdtype, timeout).answer:
                found.extend(str(item) for item in rrset)
        return found

    def txt(self, name: str) -> list[tuple[bytes, ...]]:
        """The TXT records dnsmasq gives for ``name`` now."""
        return [tuple(item.strings) for rrset in self.query(name, "TXT").answer for item in rrset]

    # -- internals ------------------------------------------------------------------------

    def _write_hosts(self, hosts: Mapping[str, Sequence[str]]) -> None:
        self._hosts = {name: list(addresses) for name, addresses in hosts.items()}
        lines = [f"127.0.0.1 {READY_NAME}"]
        lines += [f"{ip} {name}" for name, addresses in self._hosts.items() for ip in addresses]
        tmp = self.hosts_file.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n")
        tmp.replace(self.hosts_file)

    def _write_conf(self, txt: Mapping[str, Sequence[str] | Sequence[Sequence[str]]]) -> None:
        self._txt = {}
        lines = ["local=/#/", f"addn-hosts={self.hosts_file}"]
        for name, value in txt.items():
            records = [list(value)] if all(isinstance(v, str) for v in value) else value
            self._txt[name] = [list(strings) for strings in records]
            for strings in self._txt[name]:
                lines.append(f"txt-record={name}," + ",".join(_quote(s) for s in strings))
        self.conf_file.write_text("\n".join(lines) + "\n")

    def _launch(self) -> bool:
        args = [
            self.binary,
            "--no-daemon",
            f"--port={self.port}",
            f"--listen-address={self.listen}",
            "--bind-interfaces",
            "--no-resolv",
            "--no-hosts",
            f"--conf-file={self.conf_file}",
            f"--pid-file={self.workdir / 'dnsmasq.pid'}",
            "--log-queries",
            "--log-facility=-",
        ]
        if os.geteuid() == 0:
            # dnsmasq drops root for "nobody", who cannot read a private temp dir.
            args.append(f"--user={getpass.getuser()}")
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                return False  # e.g. the port is in use
            with contextlib.suppress(dns.exception.DNSException, OSError):
                # Short: an unanswered query means "not listening yet" (an unconnected UDP
                # socket hears no ICMP port-unreachable).
                if self.addresses(READY_NAME, timeout=0.05):
                    return True
            time.sleep(0.02)
        self.stop()
        return False

    def _wait_for(self, condition: object) -> None:
        assert callable(condition)
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while True:
            with contextlib.suppress(dns.exception.DNSException, OSError):
                if condition():
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"dnsmasq did not pick up the change:\n{self.log()}")
            time.sleep(0.02)
