"""DNS TXT lookups through the resolver flightdeck is configured with (domain verification).

``nameserver`` None is the system's resolver (``/etc/resolv.conf``); an address sends every
query there, on ``port``: a company's internal resolver, or a test's server on loopback.
"""

from __future__ import annotations

from dataclasses import dataclass

import dns.exception
import dns.resolver

LOOKUP_SECONDS = 5.0


@dataclass(frozen=True)
class Resolver:
    nameserver: str | None = None
    port: int = 53

    def describe(self) -> str:
        return f"{self.nameserver}:{self.port}" if self.nameserver else "the system resolver"


class DnsUnavailable(Exception):
    """The resolver did not answer (timeout, refused, unreachable)."""


def txt_values(name: str, resolver: Resolver) -> list[str]:
    """Every TXT string published at ``name`` (each record's strings joined, as RFC 7208 does);
    an empty list when the name or its TXT records do not exist."""
    dns_resolver = dns.resolver.Resolver(configure=resolver.nameserver is None)
    if resolver.nameserver is not None:
        dns_resolver.nameservers = [resolver.nameserver]
        dns_resolver.port = resolver.port
    try:
        answer = dns_resolver.resolve(name, "TXT", lifetime=LOOKUP_SECONDS, search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (
        dns.exception.Timeout,
        dns.resolver.NoNameservers,
        dns.resolver.NoResolverConfiguration,
        OSError,
    ) as exc:
        raise DnsUnavailable(type(exc).__name__) from None
    values = []
    for record in answer:
        strings = getattr(record, "strings", ())
        values.append(b"".join(strings).decode("utf-8", errors="replace"))
    return values
