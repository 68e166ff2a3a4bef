"""Feeds: RSS 0.91/2.0, RDF and Atom read from bytes; detection; malformed feeds; entity bombs."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.sources import (
    DocumentKind,
    DocumentLimits,
    DocumentRefused,
    NotAFeedOrSitemap,
    SourceItem,
    detect_kind,
    parse_document,
)
from service.sources.feeds import parse_feed
from tests.measure import peak_traced_bytes

RSS2 = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>Example News</title>
  <link>https://news.example/</link>
  <item>
    <title>Geneva summit: bases offered</title>
    <link>https://news.example/world/geneva-summit?utm_source=rss</link>
    <guid isPermaLink="false">news-example-1001</guid>
    <pubDate>Sat, 17 Jul 2021 08:30:00 +0200</pubDate>
    <dc:creator>Anna Reporter</dc:creator>
  </item>
  <item>
    <title>Relative link</title>
    <link>/politics/relative</link>
    <pubDate>Sat, 17 Jul 2021 07:00:00 GMT</pubDate>
  </item>
  <item>
    <title>Permalink guid, no link</title>
    <guid>https://news.example/guid-only</guid>
  </item>
  <item>
    <title>Opaque guid, no link</title>
    <guid isPermaLink="false">opaque-42</guid>
  </item>
</channel>
</rss>"""

RSS091 = b"""<?xml version="1.0"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
  "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel><title>Old</title><link>http://old.example/</link>
<description>d</description><language>en</language>
<item><title>Vintage</title><link>http://old.example/1</link></item>
</channel></rss>"""

RDF = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="http://rdf.example/"><title>RDF</title><link>http://rdf.example/</link>
  <description>d</description></channel>
  <item rdf:about="http://rdf.example/a"><title>RDF item</title>
    <link>http://rdf.example/a</link><dc:date>2021-07-17T10:00:00+02:00</dc:date></item>
</rdf:RDF>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Atom News</title>
  <id>urn:uuid:feed</id>
  <updated>2021-07-17T10:00:00Z</updated>
  <entry>
    <title>Entrée en matière</title>
    <link rel="alternate" href="https://atom.example/a"/>
    <link rel="self" href="https://atom.example/a.atom"/>
    <id>tag:atom.example,2021:a</id>
    <updated>2021-07-17T10:00:00-04:00</updated>
    <author><name>Bea Writer</name></author>
  </entry>
</feed>""".encode()


def test_rss2_items_give_link_title_aware_date_guid_and_author() -> None:
    document = parse_document(RSS2, base_url="https://news.example/feed.xml")
    assert document.kind is DocumentKind.RSS
    assert document.title == "Example News"
    assert document.items[0] == SourceItem(
        url="https://news.example/world/geneva-summit?utm_source=rss",
        title="Geneva summit: bases offered",
        published_at=datetime(2021, 7, 17, 6, 30, tzinfo=UTC),
        updated_at=None,
        guid="news-example-1001",
        author="Anna Reporter",
    )


def test_rss2_relative_link_resolves_against_the_feed_url() -> None:
    document = parse_document(RSS2, base_url="https://news.example/feed.xml")
    assert document.items[1].url == "https://news.example/politics/relative"
    assert document.items[1].published_at == datetime(2021, 7, 17, 7, 0, tzinfo=UTC)


def test_rss2_permalink_guid_stands_in_for_a_missing_link_but_opaque_guid_does_not() -> None:
    document = parse_document(RSS2, base_url="https://news.example/feed.xml")
    urls = [item.url for item in document.items]
    assert urls[-1] == "https://news.example/guid-only"
    assert len(urls) == 3
    assert document.warnings == ("skipped 1 items without an http(s) link",)


def test_item_without_any_link_is_counted_in_a_warning() -> None:
    feed = RSS2.replace(b"<guid>https://news.example/guid-only</guid>", b"")
    document = parse_document(feed, base_url="https://news.example/feed.xml")
    assert "skipped 2 items without an http(s) link" in document.warnings


def test_rss091_with_netscape_doctype_is_read() -> None:
    document = parse_document(RSS091)
    assert document.kind is DocumentKind.RSS
    assert [item.url for item in document.items] == ["http://old.example/1"]


def test_rdf_feed_is_rss_with_its_dc_date() -> None:
    document = parse_document(RDF)
    assert document.kind is DocumentKind.RSS
    assert document.items[0].url == "http://rdf.example/a"
    assert document.items[0].published_at == datetime(2021, 7, 17, 8, 0, tzinfo=UTC)


def test_atom_entry_gives_alternate_link_updated_as_published_and_author() -> None:
    document = parse_document(ATOM)
    assert document.kind is DocumentKind.ATOM
    (entry,) = document.items
    assert entry.url == "https://atom.example/a"
    assert entry.title == "Entrée en matière"
    assert entry.guid == "tag:atom.example,2021:a"
    assert entry.author == "Bea Writer"
    # Atom entries often carry only <updated>: it stands in for the publication date.
    assert entry.published_at == entry.updated_at == datetime(2021, 7, 17, 14, 0, tzinfo=UTC)


def test_utf16_feed_is_read() -> None:
    document = parse_document(ATOM.decode().replace("utf-8", "utf-16").encode("utf-16"))
    assert document.items[0].title == "Entrée en matière"


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (RSS2, DocumentKind.RSS),
        (RDF, DocumentKind.RSS),
        (ATOM, DocumentKind.ATOM),
        (b"\xef\xbb\xbf\n\n  <!-- generated --><?xml-stylesheet href='s.xsl'?>" + RSS2[39:], "rss"),
        (b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>', "sitemap"),
        (
            b"<sitemapindex><sitemap><loc>https://a.example/s.xml</loc></sitemap></sitemapindex>",
            "sitemap index",
        ),
    ],
    ids=["rss2", "rdf", "atom", "bom-comment-pi-first", "urlset", "sitemapindex"],
)
def test_kind_is_detected_from_the_bytes(body: bytes, kind: str) -> None:
    assert detect_kind(body) == kind


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"<!DOCTYPE html><html><head><title>Home</title></head></html>", "an HTML page"),
        (b'{"items": []}', "no XML markup at the start"),
        (b"", "no XML markup at the start"),
        (b'<?xml version="1.0"?><opml version="2.0"/>', "root element <opml>"),
        (b"Service Unavailable", "no XML markup at the start"),
    ],
)
def test_neither_feed_nor_sitemap_is_a_clear_domain_error(body: bytes, why: str) -> None:
    with pytest.raises(NotAFeedOrSitemap) as error:
        parse_document(body)
    assert error.value.reason == f"not a feed or sitemap: {why}"


def test_malformed_feed_keeps_what_it_can_and_says_what_was_wrong() -> None:
    broken = RSS2.replace(b"Geneva summit: bases offered", b"Bases & drones <b>offered")
    document = parse_document(broken, base_url="https://news.example/feed.xml")
    assert len(document.items) == 3
    assert document.items[1].url == "https://news.example/politics/relative"
    assert document.warnings[0].startswith("malformed feed, kept what could be read: ")
    assert document.warnings[1:] == ("skipped 1 items without an http(s) link",)


def test_short_junk_before_the_xml_is_skipped_with_a_warning() -> None:
    junk = b"Warning: headers already sent\n"
    document = parse_document(junk + RSS2, base_url="https://news.example/feed.xml")
    assert len(document.items) == 3
    assert document.warnings[0] == "skipped 30 bytes of text before the XML"


def test_items_over_the_cap_keep_the_newest_in_document_order() -> None:
    items = "".join(
        f"<item><title>{day}</title><link>https://c.example/{day}</link>"
        f"<pubDate>{day:02d} Jul 2021 10:00:00 GMT</pubDate></item>"
        for day in (3, 1, 4, 2, 5)
    )
    feed = f'<rss version="2.0"><channel><title>c</title>{items}</channel></rss>'.encode()
    document = parse_document(feed, limits=DocumentLimits(max_items=3))
    assert [item.title for item in document.items] == ["3", "4", "5"]
    assert document.warnings == ("kept the newest 3 of 5 items (the cap on items per document)",)


def test_feed_over_its_byte_cap_is_refused() -> None:
    with pytest.raises(DocumentRefused, match="feed exceeds 100 bytes"):
        parse_document(RSS2, limits=DocumentLimits(max_feed_bytes=100))


# ---------------------------------------------------------------- entity bombs


def _billion_laughs(root: str) -> bytes:
    declarations = ['<!ENTITY lol "lol">']
    for level in range(1, 10):
        declarations.append(
            f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">'.replace("&lol0;", "&lol;")
        )
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE {root} [\n' + "\n".join(declarations) + "\n]>\n"
        f'<{root} version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title>'
        f"<link>https://bomb.example/a</link></item></channel></{root}>"
    ).encode()


def _quadratic_blowup(references: int, entity_bytes: int) -> bytes:
    # One large entity referenced many times: no nesting, so it slips past checks that only
    # look for entities defined in terms of entities. feedparser's loose parser expands it.
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "'
        + b"x" * entity_bytes
        + b'">\n]>\n<rss version="2.0"><channel><title>t</title><item><title>'
        + b"&a;" * references
        + b"</title><link>https://bomb.example/a</link></item></channel></rss>"
    )


def test_billion_laughs_feed_is_refused() -> None:
    with pytest.raises(DocumentRefused, match="internal subset"):
        parse_document(_billion_laughs("rss"))


def test_quadratic_blowup_feed_is_refused_in_bounded_memory() -> None:
    # 20 MB if expanded (1,000 references to a 20 KB entity) from a 24 KB document.
    body = _quadratic_blowup(references=1_000, entity_bytes=20_000)
    peak, error = peak_traced_bytes(lambda: parse_document(body))
    assert isinstance(error, DocumentRefused)
    assert peak < 2 * 1024 * 1024


def test_external_entity_feed_is_refused() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<rss version="2.0"><channel><title>&xxe;</title></channel></rss>'
    )
    with pytest.raises(DocumentRefused):
        parse_document(body)


def test_entity_declarations_hidden_behind_a_comment_are_still_refused() -> None:
    body = b"<!-- <rss> -->" + _billion_laughs("rss").removeprefix(b'<?xml version="1.0"?>\n')
    with pytest.raises(DocumentRefused):
        parse_document(body)


def test_utf16_entity_bomb_is_refused() -> None:
    with pytest.raises(DocumentRefused):
        parse_document(_billion_laughs("rss").decode().encode("utf-16"))


def test_feed_bytes_are_never_taken_for_a_file_name(tmp_path: Path) -> None:
    # feedparser.parse(bytes) first tries open(bytes) as a path: a body naming a file on our
    # disk would be read from it. The feed parser must only ever see the body as a stream.
    local_feed = tmp_path / "local.xml"
    local_feed.write_bytes(RSS2)
    document = parse_feed(
        str(local_feed).encode(), kind=DocumentKind.RSS, max_items=10, base_url=None
    )
    assert document.items == ()
