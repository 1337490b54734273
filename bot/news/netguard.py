"""The private-network guard: a feed URL must not reach into the bot's own network.

Anyone who can add a source can make the bot fetch a URL. Without this guard a
server admin could point it at ``http://169.254.169.254/`` (cloud metadata),
``http://127.0.0.1:6379/`` or the host's LAN and read the answers back through
error messages and digests.

The check is made on the *resolved* address, inside the resolver the HTTP
connector uses to connect (:class:`GuardedResolver`). The addresses it returns
are the very ones the connector dials, so a name that resolves to a public
address when "checked" and to a private one when "connected" (DNS rebinding)
has no window to slip through. Literal IP hosts never reach a resolver in
aiohttp, so :func:`check_literal_host` covers them; the fetcher calls it for
every hop of a redirect chain.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from bot.news.errors import BlockedAddressError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known prefix, RFC 6052
_HINT = "set fetch.allow_private_networks or fetch.allowed_hosts to allow it"


def refusal_reason(address: IPAddress) -> str | None:
    """Why ``address`` may not be fetched ("a private network address"), or None if global.

    IPv6 forms that carry an IPv4 address (``::ffff:10.0.0.1``, 6to4
    ``2002:0a00:0001::``, NAT64 ``64:ff9b::10.0.0.1``) are judged by the IPv4
    address inside: that is where the packets end up.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return refusal_reason(embedded)
        if address.is_site_local:
            return "a site-local address"
    checks: tuple[tuple[bool, str], ...] = (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (
            isinstance(address, ipaddress.IPv4Address) and address in _CGNAT,
            "a carrier-grade NAT address",
        ),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private network address"),
        (not address.is_global, "a non-global address"),
    )
    for refused, reason in checks:
        if refused:
            return reason
    return None


def parse_ip(host: str) -> IPAddress | None:
    """``host`` as an IP address (brackets and IPv6 zone stripped), or None for a name."""
    text = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def show_ip(address: IPAddress) -> str:
    """The address as people write it: ``::ffff:10.0.0.1`` rather than ``::ffff:a00:1``."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return f"::ffff:{address.ipv4_mapped}"
    return str(address)


class AddressRefusedError(BlockedAddressError):
    """Raised by the guard below the fetcher, which knows no URL; the fetcher rewords it."""

    def __init__(self, host: str, address: str, reason: str) -> None:
        self.host = host
        self.address = address
        self.reason = reason
        super().__init__(f"refused to connect to {host}: {self.explanation}")

    @property
    def explanation(self) -> str:
        """The part of the sentence after the URL: where it leads and how to allow it."""
        if parse_ip(self.host) is not None:
            return f"{self.address} is {self.reason} ({_HINT})"
        return f"it resolves to {self.address}, {self.reason} ({_HINT})"

    def for_url(self, url: str) -> BlockedAddressError:
        """The sentence a user sees, naming the URL they asked for."""
        return BlockedAddressError(f"refused to fetch {url}: {self.explanation}")


def _normal_host(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


@dataclass(frozen=True)
class AddressPolicy:
    """Which hosts are exempt from the guard.

    ``allowed_hosts`` match the URL's host exactly (case-insensitive, a trailing
    dot ignored): allowing ``feeds.lan`` does not allow ``10.0.0.5`` even when
    that is where ``feeds.lan`` points, so a redirect from an allowed host to a
    private address is still refused.
    """

    allow_private_networks: bool = False
    allowed_hosts: frozenset[str] = frozenset()

    @classmethod
    def of(cls, allow_private_networks: bool, allowed_hosts: tuple[str, ...]) -> AddressPolicy:
        return cls(allow_private_networks, frozenset(_normal_host(h) for h in allowed_hosts))

    def exempt(self, host: str) -> bool:
        return self.allow_private_networks or _normal_host(host) in self.allowed_hosts

    def check_literal_host(self, host: str) -> None:
        """Refuse a URL host that is itself a non-global IP address; names pass."""
        address = parse_ip(host)
        if address is None or self.exempt(host):
            return
        reason = refusal_reason(address)
        if reason is not None:
            raise AddressRefusedError(host, show_ip(address), reason)


class GuardedResolver(AbstractResolver):
    """Resolves through ``inner``, then drops every address the guard refuses.

    A host with some public and some private addresses keeps the public ones;
    a host with only refused addresses raises :class:`AddressRefusedError` at
    once (no connection attempt, no timeout). ``inner`` is injectable so tests
    can make ``evil.test`` resolve to ``10.0.0.1`` without DNS.
    """

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner if inner is not None else DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if self._policy.exempt(host):
            return results
        kept: list[ResolveResult] = []
        first_refusal: AddressRefusedError | None = None
        for result in results:
            address = parse_ip(result["host"])
            reason = "an unparsable address" if address is None else refusal_reason(address)
            if reason is None:
                kept.append(result)
            elif first_refusal is None:
                first_refusal = AddressRefusedError(host, result["host"], reason)
        if kept:
            return kept
        if first_refusal is not None:
            raise first_refusal
        raise OSError(f"{host} has no address")

    async def close(self) -> None:
        await self._inner.close()
