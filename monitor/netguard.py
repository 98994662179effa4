"""Address checks for URLs that come from feed content (article links and every redirect hop).

Pure functions: deciding whether an address is public, and reading an IP literal however it is
spelled (``127.1``, ``2130706433``, ``0x7f.0.0.1``, ``0177.0.0.1``, ``[::ffff:127.0.0.1]``),
because the platform's resolver accepts all of those forms and would connect to loopback.
The only function that touches the network is ``resolve_public`` (DNS), kept separate.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from monitor.errors import BlockedAddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# 64:ff9b::/96 (NAT64) and 64:ff9b:1::/48 carry an IPv4 address in their low 32 bits.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


def _ipv4_part(text: str) -> int | None:
    """One dotted part as inet_aton reads it: decimal, 0x hex or leading-zero octal."""
    t = text.lower()
    try:
        if t.startswith("0x"):
            return int(t[2:] or "0", 16)
        if len(t) > 1 and t.startswith("0"):
            return int(t[1:], 8)
        return int(t, 10)
    except ValueError:
        return None


def parse_ipv4_loose(host: str) -> ipaddress.IPv4Address | None:
    """An IPv4 address in any form inet_aton accepts (1 to 4 parts), or None."""
    parts = host.split(".")
    if parts and parts[-1] == "":  # a trailing dot is allowed by resolvers
        parts = parts[:-1]
    if not 1 <= len(parts) <= 4 or any(p == "" for p in parts):
        return None
    nums = [_ipv4_part(p) for p in parts]
    if any(n is None or n < 0 for n in nums):
        return None
    *head, last = nums  # type: ignore[misc]
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(nums)):
        return None
    value = 0
    for n in head:
        value = value * 256 + n
    value = value * 256 ** (5 - len(nums)) + last
    return ipaddress.IPv4Address(value)


def parse_ip_literal(host: str) -> IPAddress | None:
    """The IP address a host string denotes literally, or None for a host name."""
    h = host.strip()
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    h = h.split("%", 1)[0]  # zone index (fe80::1%eth0)
    if ":" in h:
        try:
            return ipaddress.IPv6Address(h)
        except ValueError:
            return None
    return parse_ipv4_loose(h)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, 6to4, Teredo, NAT64)."""
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if int(ip) >> 32 == 0 and int(ip) > 1:  # deprecated IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(int(ip))
    return None


def is_public(ip: IPAddress) -> bool:
    """True only for globally routable unicast addresses (and any IPv4 inside them too)."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None and not is_public(inner):
            return False
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved or ip.is_loopback:
        return False
    if ip.is_private or ip.is_link_local:
        return False
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return False
    return ip.is_global


def why_blocked(ip: IPAddress) -> str:
    """A short word for the address class, for error messages."""
    if isinstance(ip, ipaddress.IPv6Address) and embedded_ipv4(ip) is not None:
        return f"embeds {embedded_ipv4(ip)}"
    for attr, word in (
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_unspecified", "unspecified"),
    ):
        if getattr(ip, attr):
            return word
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "carrier-grade NAT"
    if ip.is_private:
        return "private"
    return "reserved"


def check_url_shape(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL; BlockedAddress for anything we refuse to fetch."""
    if "\\" in url or any(ord(c) < 33 for c in url):
        raise BlockedAddress(f"refused URL with backslash or control characters: {url[:200]!r}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise BlockedAddress(f"refused non-http(s) URL: {url[:200]}")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise BlockedAddress(f"refused URL with user info: {url[:200]}")
    try:
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise BlockedAddress(f"refused URL with a bad port: {url[:200]}") from None
    if not host:
        raise BlockedAddress(f"refused URL without a host: {url[:200]}")
    return parts.scheme, host, port


def check_literal(host: str) -> IPAddress | None:
    """Raise for a non-public IP literal; return the address (or None for a host name)."""
    ip = parse_ip_literal(host)
    if ip is not None and not is_public(ip):
        raise BlockedAddress(f"refused {host}: {ip} is a {why_blocked(ip)} address")
    return ip


def resolve_public(host: str, port: int) -> str:
    """Resolve ``host`` and return one address to connect to; raise if any answer is non-public.

    Every answer is checked (not only the first), so a name with one public and one private
    record cannot be used to reach the private one; the caller connects to the address returned,
    so a second lookup cannot answer differently (DNS rebinding).
    """
    ip = check_literal(host)
    if ip is not None:
        return str(ip)
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        raise BlockedAddress(f"refused {host}: a loopback name")
    try:
        infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise BlockedAddress(f"could not resolve {host}: {exc}") from None
    addresses: list[IPAddress] = []
    for info in infos:
        addr = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not is_public(addr):
            raise BlockedAddress(f"refused {host}: resolves to {addr} ({why_blocked(addr)})")
        addresses.append(addr)
    if not addresses:
        raise BlockedAddress(f"could not resolve {host}: no addresses")
    return str(addresses[0])
