"""Which URLs and IP addresses the fetcher may contact: the SSRF guard, without DNS.

Addresses are judged against an explicit deny-list of networks, checked in order so that the first
match names the refusal. ``ipaddress``' own flags are not enough on their own: ``is_private``
misses 100.64.0.0/10, ``is_global`` admits multicast, and IPv6 forms such as ::ffff:127.0.0.1 or
64:ff9b::7f00:1 hide an IPv4 address that must be judged as IPv4.

Host names are judged by their spelling only: names that are local by definition (localhost,
cloud metadata names, reserved internal suffixes) are refused here; every other name is judged
by the addresses it resolves to, in ``safe_client``.
"""

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import httpx

from service.fetching.policy import FetchPolicy, URLRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = frozenset({"http", "https"})

LOOPBACK = "loopback"
CLOUD_METADATA = "cloud metadata"

# The first matching entry names the refusal, so narrower entries come before the networks that
# contain them (metadata before link-local, broadcast before reserved).
_IPV4_DENY_LIST: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(network), label)
    for network, label in (
        ("169.254.169.254/32", CLOUD_METADATA),  # AWS, GCP, Azure, OpenStack, Oracle, DO
        ("169.254.170.2/32", CLOUD_METADATA),  # AWS ECS task metadata
        ("100.100.100.200/32", CLOUD_METADATA),  # Alibaba Cloud
        ("0.0.0.0/8", "unspecified"),  # "this network"; Linux routes 0.0.0.0 to the local host
        ("127.0.0.0/8", LOOPBACK),
        ("10.0.0.0/8", "private"),
        ("172.16.0.0/12", "private"),
        ("192.168.0.0/16", "private"),
        ("100.64.0.0/10", "CGNAT"),  # carrier-grade NAT, RFC 6598
        ("169.254.0.0/16", "link-local"),
        ("192.0.0.0/24", "reserved"),  # IETF protocol assignments
        ("192.0.2.0/24", "documentation"),  # TEST-NET-1
        ("198.51.100.0/24", "documentation"),  # TEST-NET-2
        ("203.0.113.0/24", "documentation"),  # TEST-NET-3
        ("192.88.99.0/24", "reserved"),  # former 6to4 relay anycast
        ("198.18.0.0/15", "benchmarking"),  # RFC 2544, often used for internal lab networks
        ("224.0.0.0/4", "multicast"),
        ("255.255.255.255/32", "broadcast"),
        ("240.0.0.0/4", "reserved"),
    )
)

_IPV6_DENY_LIST: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(network), label)
    for network, label in (
        ("fd00:ec2::254/128", CLOUD_METADATA),  # AWS instance metadata over IPv6
        ("::/128", "unspecified"),
        ("::1/128", LOOPBACK),
        ("::/8", "reserved"),  # IPv4-compatible and other deprecated forms
        ("64:ff9b:1::/48", "reserved"),  # local-use NAT64 (RFC 8215): v4 position varies
        ("100::/64", "reserved"),  # discard-only, RFC 6666
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),  # RFC 9637
        ("2001::/23", "reserved"),  # IETF protocol assignments (Teredo is handled before)
        ("5f00::/16", "reserved"),  # SRv6 segment identifiers, RFC 9602
        ("fc00::/7", "private"),  # unique local addresses
        ("fec0::/10", "private"),  # deprecated site-local
        ("fe80::/10", "link-local"),
        ("ff00::/8", "multicast"),
    )
)

# Only global unicast space is assigned to the public Internet; anything outside it that the
# deny-list did not name is still not a place a news page lives.
_IPV6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
# The well-known NAT64 prefix (RFC 6052) carries an IPv4 address in its last 32 bits.
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")

# Names that are local by definition, refused before any DNS lookup. With allow_loopback the
# loopback names go on to resolution, where their addresses are checked like any other.
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_METADATA_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
# Suffixes reserved for private use (ICANN's .internal, mDNS .local, RFC 8375 home.arpa, the
# common .localdomain): no public news site lives there.
_INTERNAL_SUFFIXES = (".internal", ".local", ".localdomain", ".home.arpa")

# Letters, digits, hyphen and underscore (seen in real CDN names) in dot-separated labels, after
# IDNA encoding. Anything else (a percent sign, a backslash) is a parser trick, not a host.
_HOST_NAME = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*$")
# One number as inet_aton reads it: hexadecimal (0x7f), octal (0177) or decimal.
_NUMERIC_PART = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


@dataclass(frozen=True)
class CheckedURL:
    """A URL that passed the syntax checks, with the parts the client needs."""

    url: httpx.URL
    host: str  # IDNA-encoded, lower-case, no trailing dot; an IP literal without brackets
    port: int
    ip_literal: IPAddress | None  # set when the host is an address, so no DNS is needed


def address_refusal(ip: str, *, policy: FetchPolicy) -> str | None:
    """Say why ``ip`` must not be contacted (e.g. "loopback address 127.0.0.1"), or None."""
    try:
        address = ipaddress.ip_address(unquote(ip))
    except ValueError:
        return f"not an IP address: {ip!r}"
    return _refusal(address, allow_loopback=policy.allow_loopback)


def check_address(ip: str, *, policy: FetchPolicy) -> None:
    """Raise URLRefused naming the address class if ``ip`` is not a public unicast address."""
    refusal = address_refusal(ip, policy=policy)
    if refusal is not None:
        raise URLRefused(f"refused: {refusal}")


def check_url_syntax(url: str, *, policy: FetchPolicy) -> str:
    """Return the normalized URL, or raise URLRefused; looks at the text only, no DNS."""
    return str(parse_checked_url(url, policy=policy).url)


def parse_checked_url(url: str, *, policy: FetchPolicy) -> CheckedURL:
    """Parse ``url`` with httpx's own parser (no parser differential) and apply the checks."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        refusal = _numeric_host_refusal(url, allow_loopback=policy.allow_loopback)
        raise URLRefused(f"refused: {refusal or f'invalid URL ({exc})'}") from exc
    if parsed.scheme not in ALLOWED_SCHEMES:
        shown = parsed.scheme or "(none)"
        raise URLRefused(f"refused: scheme {shown} not allowed, only http and https")
    if parsed.userinfo:
        raise URLRefused("refused: credentials in URL")
    raw_host = parsed.raw_host.decode("ascii")
    if not raw_host:
        raise URLRefused("refused: missing host")
    port = parsed.port if parsed.port is not None else (443 if parsed.scheme == "https" else 80)
    if port == 0:
        raise URLRefused("refused: port 0")

    host, ip_literal = _canonical_host(raw_host, allow_loopback=policy.allow_loopback)
    # The fragment is never sent; dropping it makes redirect-loop detection see equal URLs.
    normalized = parsed.copy_with(host=host, fragment=None)
    return CheckedURL(url=normalized, host=host, port=port, ip_literal=ip_literal)


def _canonical_host(raw_host: str, *, allow_loopback: bool) -> tuple[str, IPAddress | None]:
    """Canonical spelling of the host, and its address if it is an IP literal; refuse bad ones."""
    if ":" in raw_host:  # only an IPv6 literal has a colon once httpx has split off the port
        try:
            ipv6 = ipaddress.IPv6Address(unquote(raw_host))
        except ValueError as exc:
            raise URLRefused(f"refused: malformed IPv6 address {raw_host}") from exc
        if ipv6.scope_id:
            raise URLRefused(f"refused: zone ID in IPv6 address {raw_host}")
        _refuse_address(ipv6, allow_loopback=allow_loopback)
        return str(ipv6), ipv6

    host = raw_host.lower().removesuffix(".")  # "localhost." is localhost
    labels = host.split(".")
    if all(_NUMERIC_PART.match(label) for label in labels):
        # getaddrinfo reads these with inet_aton: 2130706433, 0x7f.1, 0177.0.0.1 and 127.1 are
        # all 127.0.0.1. Decode the same way and judge (and write) the real address.
        address = _parse_inet_aton(host)
        _refuse_address(address, allow_loopback=allow_loopback)
        return str(address), address

    if not _HOST_NAME.match(host):
        raise URLRefused(f"refused: invalid characters in host name {raw_host!r}")
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        if not allow_loopback:
            raise URLRefused(f"refused: loopback host name {host}")
        return host, None
    if host in _METADATA_NAMES:
        raise URLRefused(f"refused: cloud metadata host name {host}")
    if host.endswith(_INTERNAL_SUFFIXES):
        raise URLRefused(f"refused: internal host name {host}")
    if "." not in host:
        # A bare name is completed with the resolver's search domains: an intranet name.
        raise URLRefused(f"refused: single-label host name {host}")
    return host, None


def _numeric_host_refusal(url: str, *, allow_loopback: bool) -> str | None:
    """Name the address behind a numeric host httpx rejects (0177.0.0.1), for a clearer reason."""
    try:
        host = (urlsplit(url).hostname or "").removesuffix(".")
    except ValueError:
        return None
    if not host or not all(_NUMERIC_PART.match(label) for label in host.split(".")):
        return None
    try:
        address = _parse_inet_aton(host)
    except URLRefused:
        return None
    refusal = _refusal(address, allow_loopback=allow_loopback)
    return None if refusal is None else f"{refusal} (written {host})"


def _parse_inet_aton(host: str) -> ipaddress.IPv4Address:
    """Decode a numeric host as inet_aton (and browsers) do: 1 to 4 parts, the last fills up."""
    parts = host.split(".")
    if len(parts) > 4:
        raise URLRefused(f"refused: malformed numeric host {host}")
    try:
        numbers = [_parse_inet_aton_part(part) for part in parts]
    except ValueError as exc:
        raise URLRefused(f"refused: malformed numeric host {host}") from exc
    *leading, last = numbers
    last_part_bits = 8 * (5 - len(parts))
    if any(number > 0xFF for number in leading) or last >= 1 << last_part_bits:
        raise URLRefused(f"refused: malformed numeric host {host}")
    value = last
    for index, number in enumerate(leading):
        value |= number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _parse_inet_aton_part(part: str) -> int:
    if part.startswith("0x"):
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8)
    return int(part)


def _refuse_address(address: IPAddress, *, allow_loopback: bool) -> None:
    refusal = _refusal(address, allow_loopback=allow_loopback)
    if refusal is not None:
        raise URLRefused(f"refused: {refusal}")


def _refusal(address: IPAddress, *, allow_loopback: bool) -> str | None:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            # ::ffff:a.b.c.d is a.b.c.d on a dual-stack socket, loopback included.
            return _embedded_refusal(
                address, address.ipv4_mapped, "IPv4-mapped", allow_loopback=allow_loopback
            )
        translated = _translated_ipv4(address)
        if translated:
            # NAT64, 6to4 and Teredo go through a gateway and never reach our own loopback,
            # so an embedded loopback address is refused whatever the policy.
            refusals = (
                _embedded_refusal(address, embedded, kind, allow_loopback=False)
                for embedded, kind in translated
            )
            return next((refusal for refusal in refusals if refusal is not None), None)
    return _native_refusal(address, allow_loopback=allow_loopback)


def _translated_ipv4(address: ipaddress.IPv6Address) -> list[tuple[ipaddress.IPv4Address, str]]:
    """IPv4 addresses carried inside an IPv6 transition address, with the mechanism's name."""
    if address in _NAT64_WELL_KNOWN:
        return [(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), "NAT64")]
    if address.sixtofour is not None:
        return [(address.sixtofour, "6to4")]
    if address.teredo is not None:
        server, client = address.teredo
        return [(server, "Teredo server"), (client, "Teredo client")]
    return []


def _embedded_refusal(
    outer: ipaddress.IPv6Address,
    embedded: ipaddress.IPv4Address,
    kind: str,
    *,
    allow_loopback: bool,
) -> str | None:
    refusal = _native_refusal(embedded, allow_loopback=allow_loopback)
    if refusal is None:
        return None
    return f"{refusal} embedded in {kind} address {outer}"


def _native_refusal(address: IPAddress, *, allow_loopback: bool) -> str | None:
    deny_list: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...]
    deny_list = _IPV4_DENY_LIST if address.version == 4 else _IPV6_DENY_LIST
    for network, label in deny_list:
        if address in network:
            if label == LOOPBACK and allow_loopback:
                return None
            return f"{label} address {address}"
    if isinstance(address, ipaddress.IPv6Address):
        if address not in _IPV6_GLOBAL_UNICAST:
            return f"reserved address {address} (outside global unicast 2000::/3)"
    elif not address.is_global:
        # Belt and braces: the standard library's registry, should the deny-list miss a range.
        return f"reserved address {address} (not globally routable)"
    return None
