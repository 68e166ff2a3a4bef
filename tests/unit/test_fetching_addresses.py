"""The SSRF guard's judgement of addresses and URL text, without any network or DNS."""

import socket
from dataclasses import replace

import pytest

from service.fetching import URLRefused, check_address, check_url_syntax
from tests.fetch_policies import DEFAULT_POLICY

STRICT = DEFAULT_POLICY
LOOPBACK_ALLOWED = replace(STRICT, allow_loopback=True)


@pytest.mark.parametrize(
    ("address", "named_class"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("::", "unspecified"),
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("fc00::1", "private"),
        ("fec0::1", "private"),
        ("100.64.0.1", "CGNAT"),
        ("100.127.255.254", "CGNAT"),
        ("169.254.0.1", "link-local"),
        ("fe80::1", "link-local"),
        ("169.254.169.254", "cloud metadata"),
        ("169.254.170.2", "cloud metadata"),
        ("100.100.100.200", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("255.255.255.255", "broadcast"),
        ("240.0.0.1", "reserved"),
        ("192.0.0.8", "reserved"),
        ("192.0.2.1", "documentation"),
        ("2001:db8::1", "documentation"),
        ("198.18.0.1", "benchmarking"),
        ("198.19.255.254", "benchmarking"),
        ("100::1", "reserved"),
        ("::7f00:1", "reserved"),  # deprecated IPv4-compatible ::127.0.0.1
        ("64:ff9b:1::a00:1", "reserved"),  # local-use NAT64
        ("4000::1", "outside global unicast"),
        # IPv6 forms that carry an IPv4 address are judged by that address.
        ("::ffff:127.0.0.1", "loopback address 127.0.0.1 embedded in IPv4-mapped"),
        ("::ffff:10.0.0.1", "private address 10.0.0.1 embedded in IPv4-mapped"),
        ("::ffff:169.254.169.254", "cloud metadata address 169.254.169.254"),
        ("64:ff9b::7f00:1", "loopback address 127.0.0.1 embedded in NAT64"),
        ("64:ff9b::a9fe:a9fe", "cloud metadata address 169.254.169.254 embedded in NAT64"),
        ("2002:7f00:1::", "loopback address 127.0.0.1 embedded in 6to4"),
        ("2002:c0a8:101::1", "private address 192.168.1.1 embedded in 6to4"),
        # Teredo: server 8.8.8.8, client 10.0.0.1 stored inverted as f5ff:fffe.
        ("2001:0:808:808::f5ff:fffe", "private address 10.0.0.1 embedded in Teredo client"),
    ],
)
def test_check_address_refuses_non_public_address_naming_its_class(
    address: str, named_class: str
) -> None:
    with pytest.raises(URLRefused) as refused:
        check_address(address, policy=STRICT)
    assert refused.value.reason.startswith("refused: ")
    assert named_class in refused.value.reason


@pytest.mark.parametrize(
    "address",
    [
        "93.184.216.34",
        "8.8.8.8",
        "1.1.1.1",
        "2606:4700:4700::1111",
        "2a00:1450:4007:80e::200e",
        "::ffff:93.184.216.34",  # IPv4-mapped public address
        "64:ff9b::808:808",  # NAT64 of 8.8.8.8
        "2002:5db8:d822::1",  # 6to4 of 93.184.216.34
    ],
)
def test_check_address_accepts_public_unicast_address(address: str) -> None:
    check_address(address, policy=STRICT)


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_allow_loopback_lifts_the_loopback_refusal(address: str) -> None:
    check_address(address, policy=LOOPBACK_ALLOWED)


@pytest.mark.parametrize(
    ("address", "named_class"),
    [
        ("10.0.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "cloud metadata"),
        ("169.254.1.1", "link-local"),
        ("100.64.0.1", "CGNAT"),
        ("0.0.0.0", "unspecified"),  # reaches local services on Linux, yet is not loopback
        ("::", "unspecified"),
        # Through a NAT64/6to4 gateway 127.0.0.1 is the gateway's loopback, never ours.
        ("64:ff9b::7f00:1", "loopback"),
        ("2002:7f00:1::", "loopback"),
    ],
)
def test_allow_loopback_keeps_every_other_class_refused(address: str, named_class: str) -> None:
    with pytest.raises(URLRefused, match=named_class):
        check_address(address, policy=LOOPBACK_ALLOWED)


def test_check_address_refuses_text_that_is_not_an_address() -> None:
    with pytest.raises(URLRefused, match="not an IP address"):
        check_address("example.com", policy=STRICT)


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        ("HTTP://News.Example.COM./a?b=1#frag", "http://news.example.com/a?b=1"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("http://example.com:80/x", "http://example.com/x"),
        ("https://bücher.de/", "https://xn--bcher-kva.de/"),
        ("http://[2606:4700:4700::1111]/", "http://[2606:4700:4700::1111]/"),
        # Odd spellings of a public IPv4 address are rewritten to the address itself.
        ("http://0x5d.0xb8.0xd8.0x22/", "http://93.184.216.34/"),
        ("http://1572395042/", "http://93.184.216.34/"),
    ],
)
def test_check_url_syntax_returns_normalized_url(url: str, normalized: str) -> None:
    assert check_url_syntax(url, policy=STRICT) == normalized


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("file:///etc/passwd", "scheme file"),
        ("gopher://example.com:70/_", "scheme gopher"),
        ("ftp://example.com/", "scheme ftp"),
        ("data:text/html,<p>hi", "scheme data"),
        ("javascript:alert(1)", "scheme javascript"),
        ("example.com/no-scheme", "scheme (none)"),
        ("http://user:secret@example.com/", "credentials"),
        ("http://user@example.com/", "credentials"),
        ("http:///path-only", "missing host"),
        ("http://example.com:0/", "port 0"),
        ("http://localhost/", "loopback host name localhost"),
        ("http://LOCALHOST./", "loopback host name localhost"),
        ("http://api.localhost/", "loopback host name api.localhost"),
        ("http://metadata.google.internal/computeMetadata/v1/", "cloud metadata host name"),
        ("http://metadata/", "cloud metadata host name"),
        ("http://instance-data/latest/", "cloud metadata host name"),
        ("http://db.internal/", "internal host name"),
        ("http://printer.local/", "internal host name"),
        ("http://intranet/", "single-label host name"),
        ("http://%6c%6fcalhost/", "invalid characters"),
        ("http://127.0.0.1/", "loopback address 127.0.0.1"),
        ("http://127.1/", "loopback address 127.0.0.1"),
        ("http://2130706433/", "loopback address 127.0.0.1"),
        ("http://0x7f.1/", "loopback address 127.0.0.1"),
        ("http://0x7f000001/", "loopback address 127.0.0.1"),
        ("http://0177.0.0.1/", "loopback address 127.0.0.1"),
        ("http://127.0.0.1./", "loopback address 127.0.0.1"),
        ("http://0/", "unspecified address 0.0.0.0"),
        ("http://[::1]/", "loopback address ::1"),
        ("http://[::ffff:127.0.0.1]/", "loopback address 127.0.0.1"),
        ("http://[fe80::1%25eth0]/", "zone ID"),
        ("http://1.2.3.4.5/", "malformed numeric host"),
        ("http://999.1.1.1/", "invalid URL"),
    ],
)
def test_check_url_syntax_refuses_forbidden_url_saying_why(url: str, why: str) -> None:
    with pytest.raises(URLRefused) as refused:
        check_url_syntax(url, policy=STRICT)
    assert why in refused.value.reason


def test_check_url_syntax_admits_loopback_names_only_with_allow_loopback() -> None:
    assert check_url_syntax("http://localhost:8000/", policy=LOOPBACK_ALLOWED) == (
        "http://localhost:8000/"
    )
    with pytest.raises(URLRefused, match="cloud metadata"):
        check_url_syntax("http://metadata.google.internal/", policy=LOOPBACK_ALLOWED)


def test_check_url_syntax_does_no_dns_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(*args: object, **kwargs: object) -> list[object]:
        raise AssertionError("check_url_syntax must not resolve names")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    assert check_url_syntax("https://news.example/a", policy=STRICT) == "https://news.example/a"
