"""Worker "hosts" on this machine: network namespaces linked to the root one by veth pairs.

A host sees the root namespace only through its gateway address, where ``socat`` forwards the
ports of the broker, Redis and PostgreSQL (which listen on loopback) — the only ways out, as for a
worker on another machine that is given those three addresses. ``cut`` takes the link down: the
host's connections go silent without being closed, as in a network partition.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from cli.processes import Child


class HostsUnavailable(RuntimeError):
    """Network namespaces cannot be made here (no CAP_NET_ADMIN, no ``ip`` or no ``socat``)."""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


class Host:
    """One namespace with a veth pair on a /30 of 10.x.y.0 and forwarders to ``ports``."""

    def __init__(self, name: str, ports: Iterable[int]) -> None:
        if shutil.which("ip") is None or shutil.which("socat") is None:
            raise HostsUnavailable("the hosts need the ip (iproute2) and socat commands")
        self.name, self.ns = name, f"nbt-{name}"
        octets = random.randrange(64, 250), random.randrange(0, 250)  # noqa: S311 - a subnet
        self.gateway = f"10.{octets[0]}.{octets[1]}.1"
        self.address = f"10.{octets[0]}.{octets[1]}.2"
        self.link = f"nbt{name}"[:15]
        self.forwarders: list[Child] = []
        try:
            _ip("netns", "add", self.ns)
        except subprocess.CalledProcessError as exc:
            raise HostsUnavailable(f"ip netns add is not permitted: {exc.stderr.decode()}") from exc
        _ip("link", "add", self.link, "type", "veth", "peer", "name", "eth0", "netns", self.ns)
        _ip("addr", "add", f"{self.gateway}/30", "dev", self.link)
        _ip("link", "set", self.link, "up")
        for args in (
            ("addr", "add", f"{self.address}/30", "dev", "eth0"),
            ("link", "set", "eth0", "up"),
            ("link", "set", "lo", "up"),
        ):
            _ip("-n", self.ns, *args)
        socat = shutil.which("socat") or "socat"
        for port in ports:
            listen = f"TCP-LISTEN:{port},bind={self.gateway},fork,reuseaddr"
            argv = [socat, listen, f"TCP:127.0.0.1:{port}"]
            self.forwarders.append(Child(f"{name}-fwd-{port}", argv, {}, None))

    @property
    def wrap(self) -> tuple[str, ...]:
        """The command prefix that runs a process on this host."""
        return ("ip", "netns", "exec", self.ns)

    def url(self, url: str) -> str:
        """``url`` (a loopback service) as this host reaches it: through its gateway."""
        parts = urlsplit(url)
        netloc = parts.netloc.replace("127.0.0.1", self.gateway)
        return urlunsplit(parts._replace(netloc=netloc))

    def cut(self) -> None:
        """Take the host's link down: nothing goes in or out, no connection is closed."""
        _ip("link", "set", self.link, "down")

    def remove(self) -> None:
        for forwarder in self.forwarders:
            forwarder.stop(timeout=5)
        subprocess.run(["ip", "link", "del", self.link], capture_output=True, timeout=30)
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True, timeout=30)
