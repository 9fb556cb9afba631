"""Refuse private networks: the crawler fetches public sites only, unless told otherwise.

A URL from a feed, a sitemap or a redirect must not make the crawler fetch from the network it
runs in: a router's admin page, a service on loopback, the cloud metadata address
(169.254.169.254) that hands out credentials. Two components hold the line:

- :class:`GuardedThreadedResolver` (``TWISTED_DNS_RESOLVER``) checks every address a host name
  resolves to. The connection is made to the very address it checked, so a name that resolves
  to a public address once and a private one the next time (DNS rebinding) gains nothing.
- :class:`NetworkGuardMiddleware` refuses IP-address hosts before anything connects, and turns a
  resolver refusal into :class:`NetworkRefused` rather than a DNS error that would be retried.
  Scrapy sends each redirect as a new request through the middlewares, so every hop is checked;
  robots.txt requests go the same way.

``ALLOW_PRIVATE_NETWORKS`` switches both off (tests, ``newsarchive demo``);
``ARCHIVE_ALLOWED_NETWORKS`` exempts a few networks (CIDRs) from the refusal.
"""

from __future__ import annotations

import logging
import socket
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from http.client import HTTPMessage
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import IO, TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

from scrapy.exceptions import CannotResolveHostError, IgnoreRequest, NotConfigured
from scrapy.resolver import CachingHostnameResolver, CachingThreadedResolver
from scrapy.utils.datatypes import LocalCache
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.error import DNSLookupError

from crawler.errors import CrawlerError

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from twisted.internet.base import ReactorBase
    from twisted.internet.defer import Deferred
    from twisted.internet.interfaces import IAddress, IHostResolution, IResolutionReceiver
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

HINT = "set NEWSARCHIVE_ALLOW_PRIVATE_NETWORKS=1 to allow private networks"
# Instance metadata services: the addresses an attacker most wants a crawler to fetch.
METADATA_ADDRESSES = frozenset({ip_address("169.254.169.254"), ip_address("fd00:ec2::254")})
SHARED_ADDRESS_SPACE = ip_network("100.64.0.0/10")
THIS_NETWORK = ip_network("0.0.0.0/8")
UNIQUE_LOCAL = ip_network("fc00::/7")
# IPv6 ranges whose last 32 bits are an IPv4 address that the packets end up at.
NAT64 = (ip_network("64:ff9b::/96"), ip_network("64:ff9b:1::/48"))
IPV4_COMPATIBLE = ip_network("::/96")


class NetworkRefused(IgnoreRequest):
    """A request to a private, loopback, link-local or otherwise non-public address."""


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """Return the IPv4 address an IPv6 address stands for (mapped, compatible, NAT64)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if any(address in network for network in NAT64) or (
        address in IPV4_COMPATIBLE and int(address) > 1
    ):
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal_reason(address: str | IPAddress) -> str | None:
    """Say why ``address`` is not a public destination (``"loopback"``...), or ``None``."""
    ip = ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            reason = refusal_reason(embedded)
            return f"{reason} (as {embedded})" if reason else None
        # 6to4 carries a real IPv6 host, but its relay reaches the embedded IPv4 address.
        if ip.sixtofour is not None and (reason := refusal_reason(ip.sixtofour)):
            return f"{reason} (6to4 of {ip.sixtofour})"
    if ip.is_unspecified or (isinstance(ip, IPv4Address) and ip in THIS_NETWORK):
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local (cloud metadata)" if ip in METADATA_ADDRESSES else "link-local"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, IPv4Address) and ip in SHARED_ADDRESS_SPACE:
        return "shared address space (carrier-grade NAT)"
    if isinstance(ip, IPv6Address) and ip.is_site_local:
        return "site-local"
    if isinstance(ip, IPv6Address) and ip in UNIQUE_LOCAL:
        return "unique local (cloud metadata)" if ip in METADATA_ADDRESSES else "unique local"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "not globally routable"
    return None


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Parse CIDRs such as ``127.0.0.1/32`` or ``fd12::/64``; a bare address is a /32 or /128."""
    networks = []
    for value in values:
        text = value.strip()
        if not text:
            continue
        try:
            networks.append(ip_network(text))
        except ValueError as err:
            message = f"ARCHIVE_ALLOWED_NETWORKS: {text!r} is not a network: {err}"
            raise CrawlerError(message) from err
    return tuple(networks)


@dataclass(frozen=True)
class NetworkPolicy:
    """Which addresses the crawler may connect to: public ones, and ``allowed`` networks."""

    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> NetworkPolicy | None:
        """Read the policy; ``None`` when ``ALLOW_PRIVATE_NETWORKS`` lets everything through."""
        if settings.getbool("ALLOW_PRIVATE_NETWORKS"):
            return None
        return cls(parse_networks(settings.getlist("ARCHIVE_ALLOWED_NETWORKS")))

    def refusal(self, address: str | IPAddress) -> str | None:
        """Say why the crawler must not connect to ``address``, or ``None`` if it may."""
        ip = ip_address(address) if isinstance(address, str) else address
        candidates: list[IPAddress] = [ip]
        if isinstance(ip, IPv6Address) and (embedded := _embedded_ipv4(ip)) is not None:
            candidates.append(embedded)
        # `in` does not compare versions: an IPv4 address can look inside an IPv6 network.
        for candidate in candidates:
            for network in self.allowed:
                if candidate.version == network.version and candidate in network:
                    return None
        return refusal_reason(ip)


class RefusedHosts:
    """Host names the resolver refused, and why: how its reason reaches the middleware.

    Twisted reports a failed resolution as a bare "no results" DNS error; the middleware looks
    the host up here to tell a refusal from a name that does not exist.
    """

    def __init__(self, limit: int = 10000) -> None:
        self._reasons: LocalCache[str, str] = LocalCache(limit)

    @staticmethod
    def _key(host: str) -> str:
        return host.rstrip(".").lower()

    def remember(self, host: str, message: str) -> None:
        """Record that ``host`` was refused with ``message``."""
        self._reasons[self._key(host)] = message

    def forget(self, host: str) -> None:
        """Drop ``host``: it resolved to allowed addresses, or did not resolve at all."""
        self._reasons.pop(self._key(host), None)

    def reason(self, host: str) -> str | None:
        """Return why ``host`` was refused last, if it was."""
        return self._reasons.get(self._key(host))


# Shared by the resolver (one per process, installed on the reactor) and the middleware, as
# Scrapy's own DNS cache is.
refused_hosts = RefusedHosts()


def _check_resolved(policy: NetworkPolicy, host: str, addresses: Sequence[str]) -> str | None:
    """Return the refusal message for ``host`` if any address it resolved to is refused."""
    for address in addresses:
        reason = policy.refusal(address)
        if reason is not None:
            message = f"refused: {host} resolves to {address}, which is {reason}; {HINT}"
            refused_hosts.remember(host, message)
            return message
    refused_hosts.forget(host)
    return None


class GuardedThreadedResolver(CachingThreadedResolver):
    """Scrapy's default resolver (IPv4, cached) that refuses non-public addresses."""

    policy: NetworkPolicy | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: ReactorBase) -> Self:
        """Build the resolver; with ``ALLOW_PRIVATE_NETWORKS`` it is Scrapy's own."""
        resolver = super().from_crawler(crawler, reactor)
        resolver.policy = NetworkPolicy.from_settings(crawler.settings)
        return resolver

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:
        """Resolve ``name``; fail as a DNS error if its address is refused."""
        resolved = super().getHostByName(name, timeout)
        policy = self.policy
        if policy is None:
            return resolved

        def forget(failure: Failure) -> Failure:
            refused_hosts.forget(name)
            return failure

        def check(address: str) -> str:
            message = _check_resolved(policy, name, [address])
            if message is not None:
                # A DNS error ends the connection attempt quietly; the middleware says why.
                raise DNSLookupError(message)
            return address

        return resolved.addErrback(forget).addCallback(check)


class _GuardedReceiver:
    """Hold back resolved addresses until all are in; pass them on only if none is refused.

    An ``IResolutionReceiver``; ``receiver`` is one too (a zope interface, which mypy sees as a
    class whose methods lack ``self``: hence ``Any``).
    """

    def __init__(self, receiver: Any, host: str, policy: NetworkPolicy) -> None:
        self.receiver = receiver
        self.host = host
        self.policy = policy
        self.addresses: list[IAddress] = []

    def resolutionBegan(self, resolution: IHostResolution) -> None:
        self.receiver.resolutionBegan(resolution)

    def addressResolved(self, address: IAddress) -> None:
        self.addresses.append(address)

    def resolutionComplete(self) -> None:
        hosts = [str(getattr(address, "host", "")) for address in self.addresses]
        if self.addresses and _check_resolved(self.policy, self.host, hosts) is None:
            for address in self.addresses:
                self.receiver.addressResolved(address)
        elif not self.addresses:
            refused_hosts.forget(self.host)
        self.receiver.resolutionComplete()


class GuardedHostnameResolver(CachingHostnameResolver):
    """Scrapy's IPv6-capable resolver that refuses a host if any of its addresses is refused."""

    policy: NetworkPolicy | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: ReactorBase) -> Self:
        """Build the resolver; with ``ALLOW_PRIVATE_NETWORKS`` it is Scrapy's own."""
        resolver = super().from_crawler(crawler, reactor)
        resolver.policy = NetworkPolicy.from_settings(crawler.settings)
        return resolver

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[IAddress]] | None = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        """Resolve ``hostName``; report no address at all if any of them is refused."""
        receiver: Any = resolutionReceiver
        if self.policy is not None:
            receiver = _GuardedReceiver(resolutionReceiver, hostName, self.policy)
        return super().resolveHostName(
            receiver, hostName, portNumber, addressTypes, transportSemantics
        )


class NetworkGuardMiddleware:
    """Refuse IP-address hosts that are not public; name the refusals of the resolver.

    It sits just above Scrapy's ``RetryMiddleware`` (550): its ``process_exception`` runs first,
    so a refusal is never retried, and its ``process_request`` runs before the retry back-off.
    """

    def __init__(self, policy: NetworkPolicy) -> None:
        self.policy = policy

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NetworkGuardMiddleware:
        """Build the middleware; ``ALLOW_PRIVATE_NETWORKS`` switches it off."""
        policy = NetworkPolicy.from_settings(crawler.settings)
        if policy is None:
            raise NotConfigured("private networks are allowed")
        return cls(policy)

    def process_request(self, request: Request) -> None:
        """Refuse a request to a non-public IP address before any connection is made."""
        host = urlparse_cached(request).hostname
        if not host:
            return
        try:
            address = ip_address(host)
        except ValueError:
            return  # a name: the resolver checks the addresses it resolves to
        reason = self.policy.refusal(address)
        if reason is not None:
            _refuse(request, f"refused: {host} is {reason}; {HINT}")

    def process_exception(self, request: Request, exception: Exception) -> None:
        """Turn the DNS error of a host the resolver refused into :class:`NetworkRefused`."""
        if not isinstance(exception, CannotResolveHostError | DNSLookupError):
            return
        host = urlparse_cached(request).hostname
        message = refused_hosts.reason(host) if host else None
        if message is not None:
            _refuse(request, message)


def _refuse(request: Request, message: str) -> NoReturn:
    logger.warning("%s %s", request.url, message)
    raise NetworkRefused(message)


def check_url(url: str, policy: NetworkPolicy) -> None:
    """Raise :class:`CrawlerError` if ``url``'s host is, or resolves to, a refused address.

    For fetches outside Scrapy (``newsarchive extract URL``), which connect by themselves: the
    check and the connection resolve the name separately, so unlike the crawler's resolver this
    leaves a DNS-rebinding window; it stops a typed or redirected private address.
    """
    host = urlsplit(url).hostname
    if not host:
        raise CrawlerError(f"{url}: no host")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (OSError, UnicodeError) as err:
        raise CrawlerError(f"{url}: cannot resolve {host}: {err}") from err
    for address in sorted(addresses):
        reason = policy.refusal(str(address))
        if reason is not None:
            raise CrawlerError(f"{url} refused: {host} is {address}, which is {reason}; {HINT}")


class GuardedRedirectHandler(urllib.request.HTTPRedirectHandler):
    """Check every redirect target of a urllib fetch against the policy."""

    def __init__(self, policy: NetworkPolicy) -> None:
        super().__init__()
        self.policy = policy

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        """Refuse a redirect to a refused address; otherwise follow it as urllib does."""
        check_url(newurl, self.policy)
        return super().redirect_request(req, fp, code, msg, headers, newurl)
