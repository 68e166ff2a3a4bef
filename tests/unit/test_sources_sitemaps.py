"""Sitemaps: urlset, Google News, sitemap index, gzip, malformed input, entity and gzip bombs."""

import gzip
import zlib
from datetime import UTC, datetime

import pytest

from service.sources import (
    ChildSitemap,
    DocumentKind,
    DocumentLimits,
    DocumentRefused,
    NotAFeedOrSitemap,
    SourceItem,
    parse_document,
)
from service.sources.sitemaps import parse_sitemap
from tests.measure import peak_traced_bytes

URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>https://news.example/a?id=1&amp;page=2</loc><lastmod>2021-07-17</lastmod></url>
  <url><loc> https://news.example/b </loc><lastmod>2021-07-17T10:00:00+02:00</lastmod></url>
  <url><loc>https://news.example/c</loc><lastmod>2021-07</lastmod></url>
  <url><loc>https://news.example/d</loc></url>
</urlset>"""

NEWS = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url>
    <loc>https://news.example/world/summit</loc>
    <news:news>
      <news:publication><news:name>Example News</news:name>
        <news:language>en</news:language></news:publication>
      <news:publication_date>2021-07-17T08:30:00+02:00</news:publication_date>
      <news:title>Summit: bases &amp; drones</news:title>
    </news:news>
  </url>
</urlset>"""

INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://news.example/sitemap-2021-07.xml.gz</loc>
    <lastmod>2021-07-17T10:00:00Z</lastmod></sitemap>
  <sitemap><loc>https://news.example/sitemap-news.xml</loc></sitemap>
</sitemapindex>"""


def test_urlset_gives_each_loc_with_its_lastmod_in_utc() -> None:
    document = parse_document(URLSET)
    assert document.kind is DocumentKind.SITEMAP
    assert document.warnings == ()
    assert [(item.url, item.updated_at) for item in document.items] == [
        ("https://news.example/a?id=1&page=2", datetime(2021, 7, 17, tzinfo=UTC)),
        ("https://news.example/b", datetime(2021, 7, 17, 8, 0, tzinfo=UTC)),
        ("https://news.example/c", datetime(2021, 7, 1, tzinfo=UTC)),
        ("https://news.example/d", None),
    ]
    assert all(item.published_at is None for item in document.items)


def test_news_sitemap_gives_title_and_publication_date() -> None:
    (item,) = parse_document(NEWS).items
    assert item == SourceItem(
        url="https://news.example/world/summit",
        title="Summit: bases & drones",
        published_at=datetime(2021, 7, 17, 6, 30, tzinfo=UTC),
    )


def test_sitemap_index_names_child_sitemaps_to_fetch() -> None:
    document = parse_document(INDEX)
    assert document.kind is DocumentKind.SITEMAP_INDEX
    assert document.items == ()
    assert document.child_sitemaps == (
        ChildSitemap(
            "https://news.example/sitemap-2021-07.xml.gz", datetime(2021, 7, 17, 10, tzinfo=UTC)
        ),
        ChildSitemap("https://news.example/sitemap-news.xml", None),
    )


def test_sitemap_without_namespace_is_read() -> None:
    body = b"<urlset><url><loc>https://plain.example/x</loc></url></urlset>"
    assert [item.url for item in parse_document(body).items] == ["https://plain.example/x"]


def test_relative_loc_resolves_against_the_sitemap_url_and_other_schemes_are_skipped() -> None:
    body = (
        b"<urlset><url><loc>/rel</loc></url><url><loc>ftp://f.example/x</loc></url>"
        b"<url><loc>javascript:alert(1)</loc></url></urlset>"
    )
    document = parse_document(body, base_url="https://news.example/sitemap.xml")
    assert [item.url for item in document.items] == ["https://news.example/rel"]
    assert document.warnings == ("skipped 2 entries without an http(s) <loc>",)


def test_gzip_sitemap_is_inflated() -> None:
    assert parse_document(gzip.compress(NEWS)).items == parse_document(NEWS).items


def test_multi_member_gzip_sitemap_is_inflated_whole() -> None:
    half = len(URLSET) // 2
    body = gzip.compress(URLSET[:half]) + gzip.compress(URLSET[half:])
    assert len(parse_document(body).items) == 4


def test_truncated_gzip_keeps_what_it_held_with_a_warning() -> None:
    compressed = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    body = compressed.compress(URLSET) + compressed.flush(zlib.Z_SYNC_FLUSH)  # no trailer
    document = parse_document(body)
    assert len(document.items) == 4
    assert "gzip stream truncated, kept what it held" in document.warnings


def test_undecodable_gzip_is_not_a_sitemap() -> None:
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
    with pytest.raises(NotAFeedOrSitemap, match="undecodable gzip"):
        parse_document(header + b"\xff" * 20)
    with pytest.raises(NotAFeedOrSitemap, match="gzip stream ends before content"):
        parse_document(header[:4])


def test_malformed_sitemap_keeps_the_urls_around_the_damage_and_warns() -> None:
    body = URLSET.replace(b"<loc>https://news.example/c</loc>", b"<loc>https://news.example/c & x")
    document = parse_document(body)
    urls = [item.url for item in document.items]
    assert urls[:2] == ["https://news.example/a?id=1&page=2", "https://news.example/b"]
    assert "https://news.example/d" in urls
    assert any(
        w.startswith("malformed sitemap, kept what could be read: ") for w in document.warnings
    )


def test_unreadable_lastmod_is_dropped_and_counted() -> None:
    body = b"<urlset><url><loc>https://a.example/x</loc><lastmod>yesterday</lastmod></url></urlset>"
    document = parse_document(body)
    assert document.items[0].updated_at is None
    assert document.warnings == ("ignored 1 unreadable dates",)


def test_entries_over_the_cap_keep_the_newest_in_document_order() -> None:
    entries = (
        "".join(
            f"<url><loc>https://a.example/{day}</loc><lastmod>2021-07-{day:02d}</lastmod></url>"
            for day in (3, 1, 4, 2, 5)
        )
        + "<url><loc>https://a.example/undated</loc></url>"
    )
    document = parse_document(
        f"<urlset>{entries}</urlset>".encode(), limits=DocumentLimits(max_items=3)
    )
    assert [item.url.rsplit("/", 1)[1] for item in document.items] == ["3", "4", "5"]
    assert document.warnings == ("kept the newest 3 of 6 entries (the cap on items per document)",)


# ---------------------------------------------------------------- bombs


CAP = 1024 * 1024
SMALL = DocumentLimits(max_feed_bytes=CAP, max_sitemap_bytes=CAP)


def test_gzip_bomb_is_refused_having_inflated_at_most_the_cap() -> None:
    # 20 KB on the wire, 20 MB inflated: 20 times the cap.
    body = gzip.compress(b"<urlset>" + b" " * 20_000_000, compresslevel=9)
    assert len(body) < 40_000
    peak, error = peak_traced_bytes(lambda: parse_document(body, limits=SMALL))
    assert isinstance(error, DocumentRefused)
    assert error.reason == f"refused: document inflates past {CAP} bytes"
    assert peak < 4 * CAP


def test_multi_member_gzip_bomb_is_refused_having_inflated_at_most_the_cap() -> None:
    # 20 members of 10 MB each: no single member passes a per-member check of 10 MB.
    member = gzip.compress(b" " * 10_000_000, compresslevel=9)
    body = gzip.compress(b"<urlset>") + member * 20
    peak, error = peak_traced_bytes(lambda: parse_document(body, limits=SMALL))
    assert isinstance(error, DocumentRefused)
    assert peak < 4 * CAP


def _billion_laughs_urlset() -> bytes:
    declarations = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">' for level in range(1, 10)
    ]
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE urlset [\n' + "\n".join(declarations) + "\n]>\n"
        "<urlset><url><loc>https://bomb.example/&lol9;</loc></url></urlset>"
    ).encode()


def test_billion_laughs_sitemap_is_refused() -> None:
    with pytest.raises(DocumentRefused, match="internal subset"):
        parse_document(_billion_laughs_urlset())


def test_gzipped_billion_laughs_sitemap_is_refused() -> None:
    with pytest.raises(DocumentRefused, match="internal subset"):
        parse_document(gzip.compress(_billion_laughs_urlset()))


def test_sitemap_parser_itself_expands_no_entity_declared_in_the_document() -> None:
    # The second wall: even handed an entity bomb directly, past the prolog check, lxml is
    # told to resolve no entities, so the reference stays a reference and nothing grows.
    document = parse_sitemap(_billion_laughs_urlset(), kind=DocumentKind.SITEMAP, max_items=10)
    assert all("lollol" not in item.url for item in document.items)
    assert all(len(item.url) < 100 for item in document.items)


def test_sitemap_parser_reads_no_external_entity() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>'
        b"<urlset><url><loc>https://x.example/&xxe;</loc></url></urlset>"
    )
    with open("/etc/hostname", "rb") as hostname_file:
        hostname = hostname_file.read().strip().decode()
    document = parse_sitemap(body, kind=DocumentKind.SITEMAP, max_items=10)
    assert all(hostname not in item.url for item in document.items)
