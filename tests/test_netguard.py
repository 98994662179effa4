import ipaddress

import pytest

from monitor.errors import BlockedAddress
from monitor.netguard import (
    check_literal,
    check_url_shape,
    is_public,
    parse_ip_literal,
    resolve_public,
)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.1",
        "2130706433",
        "0x7f.0.0.1",
        "0x7f000001",
        "0177.0.0.1",
        "127.000.000.001",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "10.0.0.5",
        "172.16.3.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "0",
        "240.0.0.1",
        "255.255.255.255",
        "224.0.0.1",
        "[fe80::1]",
        "[fc00::1]",
        "[64:ff9b::a9fe:a9fe]",  # NAT64 of 169.254.169.254
        "[2002:7f00:1::]",  # 6to4 of 127.0.0.1
        "198.18.0.1",  # benchmarking range
        "192.0.2.10",  # documentation
    ],
)
def test_non_public_literals_are_refused_however_spelled(host: str) -> None:
    with pytest.raises(BlockedAddress):
        check_literal(host)


@pytest.mark.parametrize(
    "spelling,expected",
    [
        ("127.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("192.168.257", "192.168.1.1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("8.8.8.8.", "8.8.8.8"),
    ],
)
def test_loose_ipv4_spellings_parse_like_inet_aton(spelling: str, expected: str) -> None:
    assert str(parse_ip_literal(spelling)) == expected


@pytest.mark.parametrize("host", ["example.org", "256.1.1.1.1", "1.2.3.4.5", "a.b", "0x7g"])
def test_names_are_not_literals(host: str) -> None:
    assert parse_ip_literal(host) is None


@pytest.mark.parametrize("addr", ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111"])
def test_public_addresses_pass(addr: str) -> None:
    assert is_public(ipaddress.ip_address(addr))
    assert check_literal(addr) is not None


def test_ipv4_mapped_addresses_are_never_public() -> None:
    # A mapped address is how a dual-stack socket reaches IPv4: refuse the whole class.
    assert not is_public(ipaddress.ip_address("::ffff:8.8.8.8"))
    assert not is_public(ipaddress.ip_address("::ffff:10.0.0.1"))


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://example.org/",
        "ftp://example.org/x",
        "http://user:pw@example.org/",
        "http://example.org@127.0.0.1/",
        "http://example.org\\@127.0.0.1/",
        "http://exa mple.org/",
        "http:///nohost",
        "http://example.org:99999/",
    ],
)
def test_url_shapes_we_refuse(url: str) -> None:
    with pytest.raises(BlockedAddress):
        check_url_shape(url)


def test_url_shape_gives_default_ports() -> None:
    assert check_url_shape("https://Example.org/a") == ("https", "example.org", 443)
    assert check_url_shape("http://example.org:8080/a") == ("http", "example.org", 8080)


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST.", "api.localhost", "127.1", "[::1]"])
def test_resolve_refuses_loopback_names_without_asking_dns(host: str) -> None:
    with pytest.raises(BlockedAddress, match="refused"):
        resolve_public(host, 80)


def test_resolve_returns_public_literal_unchanged() -> None:
    assert resolve_public("8.8.8.8", 80) == "8.8.8.8"
