"""The client's address behind reverse proxies, believed only as far as trusted proxies vouch.

``X-Forwarded-For`` is a list each proxy extends on the right with the address it received
the request from. Everything to the left of what *our* proxies wrote is whatever the client
chose to send, so the list is read from the right: entries written by trusted proxies are
skipped, and the first address that is not a trusted proxy is the client. If the peer that
connected to us is not a trusted proxy, the header is ignored altogether. (The same rule as
MDN's "Selecting an IP address" for X-Forwarded-For, and nginx's ``real_ip_recursive``.)

Django-free, so it can be tested and reasoned about alone.

>>> nets = parse_networks(["10.0.0.0/8"])
>>> client_address("10.0.0.5", "6.6.6.6, 203.0.113.7, 10.0.0.9", nets)
'203.0.113.7'
>>> client_address("198.51.100.4", "203.0.113.7", nets)  # peer is no proxy: header ignored
'198.51.100.4'
>>> client_address("10.0.0.5", "not-an-address", nets)  # never a forged string
'10.0.0.5'
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: In ``REVERIE_TRUSTED_PROXIES``, a peer on a Unix socket (which has no IP address).
UNIX = "unix"


@dataclass(frozen=True)
class TrustedProxies:
    networks: tuple[Network, ...] = ()
    unix: bool = False

    def __bool__(self) -> bool:
        return bool(self.networks) or self.unix

    def trusts(self, address: Address) -> bool:
        mapped = getattr(address, "ipv4_mapped", None)
        candidates = (address, mapped) if mapped is not None else (address,)
        return any(
            a in net for a in candidates for net in self.networks if a.version == net.version
        )


def parse_networks(entries: Iterable[str]) -> TrustedProxies:
    """Addresses or CIDR networks (``10.0.0.0/8``, ``::1``), and ``unix``.

    A network with host bits set (``10.0.0.1/8``) is refused rather than widened silently.

    >>> parse_networks(["127.0.0.1", "unix"])
    TrustedProxies(networks=(IPv4Network('127.0.0.1/32'),), unix=True)
    >>> parse_networks(["10.0.0.1/8"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: 10.0.0.1/8 has host bits set
    """
    networks: list[Network] = []
    unix = False
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        if entry.lower() == UNIX:
            unix = True
            continue
        networks.append(ipaddress.ip_network(entry, strict=True))
    return TrustedProxies(tuple(networks), unix)


def parse_address(value: str) -> Address | None:
    """An IP address from one header entry or ``REMOTE_ADDR``, else ``None``.

    Accepts the forms proxies write: bare addresses, ``[v6]``, ``v4:port`` and
    ``[v6]:port``. A zone (``fe80::1%eth0``) is dropped: it names an interface of the
    proxy, not the client, and databases refuse it.

    >>> parse_address(" [2001:db8::1]:443 ")
    IPv6Address('2001:db8::1')
    >>> parse_address("192.0.2.1:8080")
    IPv4Address('192.0.2.1')
    >>> parse_address("unknown") is None and parse_address("") is None
    True
    """
    value = value.strip()
    if not value or len(value) > 64:
        return None
    if value.startswith("["):
        host, bracket, _ = value[1:].partition("]")
        value = host if bracket else ""
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    value = value.partition("%")[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _text(address: Address) -> str:
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped if mapped is not None else address)


def peer_is_trusted(remote_addr: str, trusted: TrustedProxies) -> bool:
    """Whether the connection's peer is one of the trusted proxies (an empty address is a
    Unix-socket peer, trusted only with ``unix`` in the list).

    >>> local = parse_networks(["127.0.0.1"])
    >>> peer_is_trusted("127.0.0.1", local), peer_is_trusted("192.0.2.1", local)
    (True, False)
    >>> peer_is_trusted("", local), peer_is_trusted("", parse_networks(["unix"]))
    (False, True)
    """
    peer = parse_address(remote_addr)
    if peer is None:
        return trusted.unix and not remote_addr.strip()
    return trusted.trusts(peer)


def client_address(remote_addr: str, forwarded_for: str, trusted: TrustedProxies) -> str | None:
    """The client's address as text, or ``None`` when no address can be vouched for.

    ``remote_addr`` is the peer of the connection; ``forwarded_for`` the (comma-joined)
    ``X-Forwarded-For`` header. When the left-most hop we reached is not an address (a
    proxy wrote ``unknown``), the nearest trusted hop is returned instead: a string the
    client wrote must never be taken for an address.

    >>> local = parse_networks(["127.0.0.1", "::1"])
    >>> client_address("127.0.0.1", "", local)
    '127.0.0.1'
    >>> client_address("", "192.0.2.1", parse_networks(["unix"]))
    '192.0.2.1'
    >>> client_address("", "192.0.2.1", local) is None
    True
    """
    peer = parse_address(remote_addr)
    if peer is None:
        # A Unix-socket peer has no address; trust it only when told to.
        if not (trusted.unix and not remote_addr.strip()):
            return None
    elif not trusted.trusts(peer):
        return _text(peer)
    nearest = peer
    for entry in reversed(forwarded_for.split(",") if forwarded_for else []):
        address = parse_address(entry)
        if address is None:
            break
        if not trusted.trusts(address):
            return _text(address)
        nearest = address
    return _text(nearest) if nearest is not None else None
