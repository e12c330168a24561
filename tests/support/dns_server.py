"""A real DNS server on loopback for domain verification: dnslib's UDP server on an
ephemeral port, answering TXT queries from a dict the test fills (NXDOMAIN otherwise)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import dnslib
import dnslib.server


@dataclass
class DnsServer:
    address: str
    port: int
    txt: dict[str, list[str]] = field(default_factory=dict)

    def publish(self, name: str, value: str) -> None:
        self.txt.setdefault(name.rstrip(".").lower(), []).append(value)


class _TxtResolver(dnslib.server.BaseResolver):  # type: ignore[misc]
    def __init__(self, zone: DnsServer) -> None:
        self.zone = zone

    def resolve(self, request: Any, handler: Any) -> Any:
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        values = self.zone.txt.get(name)
        if values is None:
            reply.header.rcode = dnslib.RCODE.NXDOMAIN
        elif request.q.qtype == dnslib.QTYPE.TXT:
            for value in values:
                reply.add_answer(
                    dnslib.RR(request.q.qname, dnslib.QTYPE.TXT, rdata=dnslib.TXT(value), ttl=60)
                )
        return reply


@contextmanager
def running_dns_server() -> Iterator[DnsServer]:
    zone = DnsServer(address="127.0.0.1", port=0)
    server = dnslib.server.DNSServer(
        _TxtResolver(zone),
        address="127.0.0.1",
        port=0,
        logger=dnslib.server.DNSLogger("-request,-reply,-truncated,-error,-recv,-send,-data"),
    )
    zone.port = server.server.server_address[1]
    server.start_thread()
    try:
        yield zone
    finally:
        server.server.shutdown()
        server.server.server_close()
