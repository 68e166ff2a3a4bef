"""fetch_page against real HTTP servers on 127.0.0.1; DNS is a fake resolver table."""

import datetime
import gzip
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from service.fetching import (
    FetchedPage,
    FetchFailed,
    Resolver,
    URLRefused,
    fetch_page,
)
from tests.fetch_policies import DEFAULT_POLICY, local_policy
from tests.local_http import serving
from tests.waiting import poll_until

# Small cap so that "too large" bodies stay small and fast to serve.
CAP_BYTES = 10_000
# Local servers answer in milliseconds; short limits keep a failing test from hanging.
LOCAL = local_policy(max_bytes=CAP_BYTES)
# Targets in the refusal table must be refused before any connection; if one is not, these
# limits make the stray connection attempt fail fast instead of hanging the run.
STRICT = replace(DEFAULT_POLICY, connect_timeout_s=0.5, read_timeout_s=0.5, total_timeout_s=1.0)

ARTICLE_HTML = (
    b"<!DOCTYPE html><html><head><title>Geneva summit</title></head>"
    b"<body><article><p>Putin offered Biden bases, Kommersant reports.</p></article></body></html>"
)
TRICKLE_INTERVAL_S = 0.2


def fake_resolver(table: dict[str, list[str]]) -> Resolver:
    """A DNS stand-in: names in ``table`` resolve, any other name fails like getaddrinfo."""

    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} is not in the test's DNS table")
        return list(table[host])

    return resolve


class PageServer(ThreadingHTTPServer):
    daemon_threads = True  # a trickling handler must not hold up shutdown

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), PageHandler)
        self.host_headers: list[str] = []
        self.body_bytes_sent: dict[str, int] = {}

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


class PageHandler(BaseHTTPRequestHandler):
    server: PageServer

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean

    def do_GET(self) -> None:
        self.server.host_headers.append(self.headers.get("Host", ""))
        path = urlsplit(self.path).path
        query = parse_qs(urlsplit(self.path).query)
        if path.startswith("/chain/"):
            remaining = int(path.removeprefix("/chain/"))
            if remaining:
                self._redirect(f"/chain/{remaining - 1}")
            else:
                self._send(200, ARTICLE_HTML, content_type="text/html")
            return
        route = ROUTES.get(path)
        if route is None:
            self._send(404, b"<html><body>not found</body></html>", content_type="text/html")
        else:
            route(self, query)

    def _send(
        self,
        status: int,
        body: bytes,
        *,
        content_type: str | None,
        declare_length: bool = True,
        extra_headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        if declare_length:
            self.send_header("Content-Length", str(len(body)))
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def article(self, query: dict[str, list[str]]) -> None:
        self._send(200, ARTICLE_HTML, content_type="text/html; charset=UTF-8")

    def plain_text(self, query: dict[str, list[str]]) -> None:
        self._send(200, b"Plain wire copy.", content_type="text/plain")

    def untyped_html(self, query: dict[str, list[str]]) -> None:
        self._send(200, ARTICLE_HTML, content_type=None)

    def untyped_binary(self, query: dict[str, list[str]]) -> None:
        self._send(200, b"%PDF-1.7\n" + bytes(range(256)), content_type=None)

    def pdf(self, query: dict[str, list[str]]) -> None:
        declared = 50 * 1024 * 1024
        self.send_response(200)
        self.send_header("Content-Type", "application/pdf")
        self.send_header("Content-Length", str(declared))
        self.end_headers()
        sent = 0
        try:
            while sent < declared:
                self.wfile.write(b"\0" * 65536)
                sent += 65536
        except OSError:
            pass  # the client hung up, as it should
        finally:
            self.server.body_bytes_sent["/pdf"] = sent

    def big_declared(self, query: dict[str, list[str]]) -> None:
        self._send(200, b"x" * (CAP_BYTES + 1), content_type="text/html")

    def big_undeclared(self, query: dict[str, list[str]]) -> None:
        body = b"<html><body>" + b"x" * (3 * CAP_BYTES)
        self._send(200, body, content_type="text/html", declare_length=False)

    def gzip_bomb(self, query: dict[str, list[str]]) -> None:
        # About 1 KB on the wire, 1 MB once inflated: 100 times the cap.
        body = gzip.compress(b"<html><body>" + b" " * 1_000_000)
        self._send(200, body, content_type="text/html", extra_headers={"Content-Encoding": "gzip"})

    def gzip_article(self, query: dict[str, list[str]]) -> None:
        body = gzip.compress(ARTICLE_HTML)
        self._send(200, body, content_type="text/html", extra_headers={"Content-Encoding": "gzip"})

    def brotli_article(self, query: dict[str, list[str]]) -> None:
        # We never ask for br; a server that sends it anyway gets a clear refusal.
        headers = {"Content-Encoding": "br"}
        self._send(200, b"\x1b\x00", content_type="text/html", extra_headers=headers)

    def trickle(self, query: dict[str, list[str]]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        try:
            for _ in range(100):  # 20 s in all: far longer than any test's deadline
                self.wfile.write(b"x")
                time.sleep(TRICKLE_INTERVAL_S)
        except OSError:
            pass

    def stall(self, query: dict[str, list[str]]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        time.sleep(5)  # silent for longer than the test's deadline, shorter than read timeout

    def missing(self, query: dict[str, list[str]]) -> None:
        self._send(404, b"<html><body>gone</body></html>", content_type="text/html")

    def loop_a(self, query: dict[str, list[str]]) -> None:
        self._redirect("/loop-b")

    def loop_b(self, query: dict[str, list[str]]) -> None:
        self._redirect("/loop-a")

    def redirect_to(self, query: dict[str, list[str]]) -> None:
        self._redirect(query["target"][0])


ROUTES: dict[str, Callable[[PageHandler, dict[str, list[str]]], None]] = {
    "/article": PageHandler.article,
    "/plain": PageHandler.plain_text,
    "/untyped-html": PageHandler.untyped_html,
    "/untyped-binary": PageHandler.untyped_binary,
    "/pdf": PageHandler.pdf,
    "/big-declared": PageHandler.big_declared,
    "/big-undeclared": PageHandler.big_undeclared,
    "/gzip-bomb": PageHandler.gzip_bomb,
    "/gzip-article": PageHandler.gzip_article,
    "/brotli-article": PageHandler.brotli_article,
    "/trickle": PageHandler.trickle,
    "/stall": PageHandler.stall,
    "/missing": PageHandler.missing,
    "/loop-a": PageHandler.loop_a,
    "/loop-b": PageHandler.loop_b,
    "/redirect-to": PageHandler.redirect_to,
}


@pytest.fixture(scope="module")
def server() -> Iterator[PageServer]:
    with serving(PageServer()) as page_server:
        yield page_server


# ---------------------------------------------------------------- refused targets (no server)

RESOLVER_TABLE = {
    "loopy.test": ["127.0.0.1"],
    "mixed.test": ["93.184.216.34", "10.1.2.3"],
    "mapped.test": ["::ffff:127.0.0.1"],
    "metadata-alias.test": ["169.254.169.254"],
    "v6private.test": ["2606:4700:4700::1111", "fd12:3456::1"],
}


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1/", "loopback address 127.0.0.1"),
        ("http://localhost/", "loopback host name localhost"),
        ("http://0.0.0.0/", "unspecified address 0.0.0.0"),
        ("http://[::1]/", "loopback address ::1"),
        ("http://[::ffff:127.0.0.1]/", "loopback address 127.0.0.1"),
        ("http://[64:ff9b::7f00:1]/", "loopback address 127.0.0.1 embedded in NAT64"),
        ("http://2130706433/", "loopback address 127.0.0.1"),
        ("http://0x7f.1/", "loopback address 127.0.0.1"),
        ("http://0177.0.0.1/", "loopback address 127.0.0.1"),
        ("http://10.0.0.1/", "private address 10.0.0.1"),
        ("http://172.16.0.1/", "private address 172.16.0.1"),
        ("http://192.168.1.1/", "private address 192.168.1.1"),
        ("http://100.64.0.1/", "CGNAT address 100.64.0.1"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata address 169.254.169.254"),
        ("http://metadata.google.internal/", "cloud metadata host name"),
        ("http://[fd00::1]/", "private address fd00::1"),
        ("http://[fe80::1]/", "link-local address fe80::1"),
        ("http://224.0.0.1/", "multicast address 224.0.0.1"),
        ("http://loopy.test/", "loopy.test resolves to loopback address 127.0.0.1"),
        ("http://mixed.test/", "mixed.test resolves to private address 10.1.2.3"),
        ("http://mapped.test/", "mapped.test resolves to loopback address 127.0.0.1"),
        ("http://metadata-alias.test/", "resolves to cloud metadata address 169.254.169.254"),
        ("http://v6private.test/", "v6private.test resolves to private address fd12:3456::1"),
        ("file:///etc/passwd", "scheme file not allowed"),
        ("gopher://example.com:70/_", "scheme gopher not allowed"),
        ("http://user:pass@example.com/", "credentials in URL"),
        ("http://[::ffff:169.254.169.254]/", "cloud metadata address 169.254.169.254"),
        ("http://[2002:7f00:1::]/", "loopback address 127.0.0.1 embedded in 6to4"),
        ("http://198.18.0.1/", "benchmarking address 198.18.0.1"),
        ("http://255.255.255.255/", "broadcast address 255.255.255.255"),
        ("http://[fd00:ec2::254]/", "cloud metadata address fd00:ec2::254"),
        ("http://169.254.1.1/", "link-local address 169.254.1.1"),
        ("http://api.localhost/", "loopback host name"),
        ("http://intranet/", "single-label host name"),
    ],
)
def test_fetch_page_refuses_forbidden_target_saying_why(url: str, why: str) -> None:
    with pytest.raises(URLRefused) as refused:
        fetch_page(url, policy=STRICT, resolver=fake_resolver(RESOLVER_TABLE))
    assert refused.value.reason.startswith("refused: ")
    assert why in refused.value.reason


# ---------------------------------------------------------------- loopback allowed, rest not


def test_allow_loopback_fetches_page_from_local_server(server: PageServer) -> None:
    page = fetch_page(server.url("/article"), policy=LOCAL)
    assert page == FetchedPage(
        url=server.url("/article"),
        status=200,
        content_type="text/html",
        charset="utf-8",
        body=ARTICLE_HTML,
    )


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://10.0.0.1/", "private"),
        ("http://169.254.169.254/", "cloud metadata"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://[fd00::1]/", "private"),
        ("http://100.64.0.1/", "CGNAT"),
    ],
)
def test_allow_loopback_still_refuses_other_internal_addresses(url: str, why: str) -> None:
    with pytest.raises(URLRefused, match=why):
        fetch_page(url, policy=LOCAL, resolver=fake_resolver({}))


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("http://intranet.test/admin", "intranet.test resolves to private address 10.0.0.5"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata address 169.254.169.254"),
        ("http://[::ffff:10.0.0.5]/", "private address 10.0.0.5"),
        ("file:///etc/passwd", "scheme file not allowed"),
    ],
)
def test_redirect_to_forbidden_target_is_refused_at_that_hop(
    server: PageServer, target: str, why: str
) -> None:
    resolver = fake_resolver({"intranet.test": ["10.0.0.5"]})
    with pytest.raises(URLRefused) as refused:
        fetch_page(server.url(f"/redirect-to?target={target}"), policy=LOCAL, resolver=resolver)
    assert refused.value.reason.startswith("refused: redirect to ")
    assert why in refused.value.reason


# ---------------------------------------------------------------- connecting to the checked IP


def test_fetch_connects_to_resolved_address_and_sends_original_host(server: PageServer) -> None:
    lookups: list[tuple[str, int]] = []

    def resolver(host: str, port: int) -> list[str]:
        lookups.append((host, port))
        return ["127.0.0.1"]

    # news.test exists in no real DNS: the page can only arrive over the pinned address.
    page = fetch_page(server.url("/article", host="news.test"), policy=LOCAL, resolver=resolver)
    assert page.body == ARTICLE_HTML
    assert page.url == f"http://news.test:{server.port}/article"
    assert server.host_headers[-1] == f"news.test:{server.port}"
    assert lookups == [("news.test", server.port)]  # one lookup, no second one to rebind


def test_redirect_hop_is_resolved_once_and_keeps_host_header(server: PageServer) -> None:
    lookups: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    target = f"http://other.test:{server.port}/article"
    page = fetch_page(
        server.url(f"/redirect-to?target={target}", host="news.test"),
        policy=LOCAL,
        resolver=resolver,
    )
    assert page.url == target
    assert lookups == ["news.test", "other.test"]
    assert server.host_headers[-1] == f"other.test:{server.port}"


def test_fetch_falls_back_to_next_checked_address_when_first_refuses(server: PageServer) -> None:
    # Nothing listens on 127.0.0.2 at this port, so that connection is refused at once.
    resolver = fake_resolver({"news.test": ["127.0.0.2", "127.0.0.1"]})
    page = fetch_page(server.url("/article", host="news.test"), policy=LOCAL, resolver=resolver)
    assert page.body == ARTICLE_HTML


def test_unresolvable_name_fails_with_resolution_reason() -> None:
    with pytest.raises(FetchFailed) as failed:
        fetch_page("http://nowhere.test/", policy=LOCAL, resolver=fake_resolver({}))
    assert failed.value.reason.startswith("cannot resolve nowhere.test: ")


def test_closed_port_fails_with_connect_reason() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchFailed, match=f"cannot connect to 127.0.0.1:{port}"):
        fetch_page(f"http://127.0.0.1:{port}/", policy=LOCAL)


# ---------------------------------------------------------------- redirects, status, type


def test_redirect_loop_fails(server: PageServer) -> None:
    with pytest.raises(FetchFailed) as failed:
        fetch_page(server.url("/loop-a"), policy=LOCAL)
    assert failed.value.reason == f"too many redirects: loop back to {server.url('/loop-a')}"


def test_redirects_up_to_max_are_followed_and_one_more_fails(server: PageServer) -> None:
    page = fetch_page(server.url("/chain/5"), policy=LOCAL)
    assert page.url == server.url("/chain/0")
    with pytest.raises(FetchFailed, match="too many redirects: more than 5"):
        fetch_page(server.url("/chain/6"), policy=LOCAL)


def test_http_404_fails_with_status_reason(server: PageServer) -> None:
    with pytest.raises(FetchFailed) as failed:
        fetch_page(server.url("/missing"), policy=LOCAL)
    assert failed.value.reason == "HTTP 404"


def test_pdf_is_refused_by_content_type_without_downloading_it(server: PageServer) -> None:
    with pytest.raises(FetchFailed) as failed:
        fetch_page(server.url("/pdf"), policy=LOCAL)
    assert failed.value.reason == "unsupported content type application/pdf"
    # The server gets to fill the socket buffers at most, never the 50 MiB it declared.
    poll_until(lambda: "/pdf" in server.body_bytes_sent, timeout_s=5, what="the server to finish")
    assert server.body_bytes_sent["/pdf"] < 50 * 1024 * 1024


def test_text_plain_is_accepted(server: PageServer) -> None:
    page = fetch_page(server.url("/plain"), policy=LOCAL)
    assert (page.content_type, page.body) == ("text/plain", b"Plain wire copy.")


def test_untyped_body_is_accepted_only_if_it_sniffs_as_html(server: PageServer) -> None:
    page = fetch_page(server.url("/untyped-html"), policy=LOCAL)
    assert (page.content_type, page.charset, page.body) == ("text/html", None, ARTICLE_HTML)
    with pytest.raises(FetchFailed, match="unsupported content type"):
        fetch_page(server.url("/untyped-binary"), policy=LOCAL)


# ---------------------------------------------------------------- size and time bounds


def test_declared_body_over_cap_fails(server: PageServer) -> None:
    with pytest.raises(FetchFailed) as failed:
        fetch_page(server.url("/big-declared"), policy=LOCAL)
    assert failed.value.reason == f"body exceeds {CAP_BYTES} bytes"


def test_undeclared_body_over_cap_fails_while_streaming(server: PageServer) -> None:
    with pytest.raises(FetchFailed) as failed:
        fetch_page(server.url("/big-undeclared"), policy=LOCAL)
    assert failed.value.reason == f"body exceeds {CAP_BYTES} bytes"


def test_gzip_body_is_decoded(server: PageServer) -> None:
    assert fetch_page(server.url("/gzip-article"), policy=LOCAL).body == ARTICLE_HTML


def test_gzip_body_expanding_past_cap_fails(server: PageServer) -> None:
    with pytest.raises(FetchFailed) as failed:
        fetch_page(server.url("/gzip-bomb"), policy=LOCAL)
    assert failed.value.reason == f"body exceeds {CAP_BYTES} bytes"


def test_unrequested_content_encoding_fails(server: PageServer) -> None:
    with pytest.raises(FetchFailed, match="unsupported content encoding br"):
        fetch_page(server.url("/brotli-article"), policy=LOCAL)


def test_trickling_server_is_cut_off_at_total_timeout(server: PageServer) -> None:
    # A byte every 0.2 s: no read ever times out, only the whole fetch can.
    policy = replace(LOCAL, total_timeout_s=1.0)
    with pytest.raises(FetchFailed) as failed:
        fetch_page(server.url("/trickle"), policy=policy)
    assert failed.value.reason == "timed out: fetch took longer than 1.0 s"


def test_silent_server_is_cut_off_at_total_timeout_before_read_timeout(
    server: PageServer,
) -> None:
    # read_timeout_s alone would wait 10 s; the deadline caps every read at the time left.
    policy = replace(DEFAULT_POLICY, allow_loopback=True, read_timeout_s=10.0, total_timeout_s=1.0)
    with pytest.raises(FetchFailed) as failed:
        fetch_page(server.url("/stall"), policy=policy)
    assert failed.value.reason == "timed out: fetch took longer than 1.0 s"


# ---------------------------------------------------------------- TLS to a pinned address


def _self_signed_certificate(host_name: str, directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, host_name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host_name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_https_to_pinned_address_sends_sni_and_verifies_certificate_for_host_name(
    tmp_path: Path,
) -> None:
    cert_path, key_path = _self_signed_certificate("news.test", tmp_path)
    server_names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    context.sni_callback = lambda _socket, name, _context: server_names.append(name)

    tls_server = PageServer()
    tls_server.socket = context.wrap_socket(tls_server.socket, server_side=True)
    thread = threading.Thread(target=tls_server.serve_forever, daemon=True)
    thread.start()
    try:
        resolver = fake_resolver({"news.test": ["127.0.0.1"]})
        # The certificate is self-signed, so verification must fail: proof that it runs, and
        # the server saw SNI for the name although the client dialled 127.0.0.1.
        with pytest.raises(FetchFailed, match="CERTIFICATE_VERIFY_FAILED"):
            fetch_page(
                f"https://news.test:{tls_server.port}/article", policy=LOCAL, resolver=resolver
            )
        assert server_names == ["news.test"]
    finally:
        tls_server.shutdown()
        tls_server.server_close()
