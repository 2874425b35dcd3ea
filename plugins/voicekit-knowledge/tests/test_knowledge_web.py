"""Websites from a local HTTP server: robots.txt, sitemap, same-site links, per-page errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from knowledge_kit import config, make_pdf
from voicekit_knowledge.crawl import Fetcher, parse_sitemap
from voicekit_knowledge.settings import CrawlSettings

from voicekit_core.cli import build_cli


def run(*args: str):
    return CliRunner().invoke(build_cli(), ["knowledge", *map(str, args)])


def page(title: str, body: str, links: tuple[str, ...] = ()) -> str:
    anchors = "".join(f'<a href="{href}">{href}</a> ' for href in links)
    return (
        f"<html><head><title>{title}</title></head><body><nav>{anchors}</nav>"
        f"<main><h1>{title}</h1><p>{body}</p></main></body></html>"
    )


@pytest.fixture
def site(httpserver):
    """A small property-management site with a disallowed folder, a broken link, an
    off-site link, an image, a PDF and a sitemap."""
    httpserver.no_handler_status_code = 404
    base = httpserver.url_for("/").rstrip("/")
    httpserver.expect_request("/robots.txt").respond_with_data(
        f"User-agent: *\nDisallow: /private/\nSitemap: {base}/sitemap.xml\n",
        content_type="text/plain",
    )
    httpserver.expect_request("/sitemap.xml").respond_with_data(
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{base}/</loc></url><url><loc>{base}/rent</loc></url></urlset>",
        content_type="application/xml",
    )
    home_links = (
        "/pets",
        "/private/staff",
        "/broken",
        "https://elsewhere.test/page",
        "/rent#late-fees",
        "/logo.png",
        "/docs/guide.pdf",
        "mailto:office@example.test",
    )
    pages = {
        "/": page(
            "Birchwood Residential",
            "Apartments on the east side, managed with care for residents and their families.",
            home_links,
        ),
        "/pets": page("Pet policy", "Each cat or dog needs a pet deposit of 300 dollars."),
        "/rent": page(
            "Paying rent", "Rent is due on the first; a late fee applies after the fifth."
        ),
        "/private/staff": page("Staff only", "The alarm code is 1234."),
    }
    for path, html in pages.items():
        httpserver.expect_request(path).respond_with_data(html, content_type="text/html")
    httpserver.expect_request("/docs/guide.pdf").respond_with_data(
        make_pdf([["Laundry", "The laundry room opens at 7 am every day."]]),
        content_type="application/pdf",
    )
    return httpserver


def requested(httpserver) -> list[str]:
    return [request.path for request, _ in httpserver.log]


def test_crawl_reads_the_site_and_honours_robots(voicekit, site):
    folder = voicekit.write(config()).parent
    result = run("ingest", folder, site.url_for("/"))
    assert result.exit_code == 0, result.output
    listed = {row["source"] for row in json.loads(run("list", folder, "--json").output)}
    base = site.url_for("/").rstrip("/")
    assert listed == {f"{base}/", f"{base}/rent", f"{base}/pets", f"{base}/docs/guide.pdf"}
    paths = requested(site)
    assert "/private/staff" not in paths  # robots.txt said no: never requested
    assert "/logo.png" not in paths
    assert paths.count("/rent") == 1  # from the sitemap and a link: read once
    assert f"warning: {base}/broken: HTTP 404" in result.output
    found = json.loads(run("search", folder, "laundry room hours", "--json").output)
    assert found[0]["source"].endswith("/docs/guide.pdf")


def test_a_disallowed_url_given_explicitly_is_an_error(voicekit, site):
    folder = voicekit.write(config()).parent
    result = run("ingest", folder, site.url_for("/private/staff"))
    assert result.exit_code == 2
    assert "disallowed by robots.txt for user agent 'voicekit-knowledge/0.1'" in result.output
    assert requested(site) == ["/robots.txt"]
    assert json.loads(run("list", folder, "--json").output) == []


def test_a_missing_page_given_explicitly_is_an_error(voicekit, site):
    folder = voicekit.write(config()).parent
    result = run("ingest", folder, site.url_for("/nowhere"), "--no-follow")
    assert result.exit_code == 2
    assert f"error: {site.url_for('/nowhere')}: HTTP 404" in result.output
    assert json.loads(run("list", folder, "--json").output) == []


def test_no_follow_reads_only_the_given_pages(voicekit, site):
    folder = voicekit.write(config()).parent
    result = run("ingest", folder, site.url_for("/pets"), site.url_for("/rent"), "--no-follow")
    assert result.exit_code == 0, result.output
    assert sorted(p for p in requested(site) if p != "/robots.txt") == ["/pets", "/rent"]


def test_max_pages_bounds_the_crawl(voicekit, site):
    folder = voicekit.write(config("[plugins.knowledge.crawl]\nmax_pages = 2")).parent
    assert run("ingest", folder, site.url_for("/")).exit_code == 0
    assert len(json.loads(run("list", folder, "--json").output)) == 2


def test_unreadable_robots_stops_the_site(voicekit, httpserver):
    httpserver.expect_request("/robots.txt").respond_with_data("busy", status=503)
    httpserver.expect_request("/").respond_with_data(page("Home", "Hello there, residents."))
    folder = voicekit.write(config()).parent
    result = run("ingest", folder, httpserver.url_for("/"))
    assert result.exit_code == 2
    assert "robots.txt answered HTTP 503: not crawling this site" in result.output
    assert requested(httpserver) == ["/robots.txt"]


def test_redirects_within_the_site_are_followed_and_off_site_refused(voicekit, httpserver):
    httpserver.no_handler_status_code = 404
    httpserver.expect_request("/old").respond_with_data(
        "", status=301, headers={"Location": "/new"}
    )
    httpserver.expect_request("/new").respond_with_data(
        page("Parking", "Each apartment includes one parking space in the resident lot."),
        content_type="text/html",
    )
    httpserver.expect_request("/away").respond_with_data(
        "", status=302, headers={"Location": "https://elsewhere.test/"}
    )
    folder = voicekit.write(config()).parent
    moved = run("ingest", folder, httpserver.url_for("/old"), "--no-follow")
    assert moved.exit_code == 0, moved.output
    assert json.loads(run("list", folder, "--json").output)[0]["source"] == httpserver.url_for(
        "/new"
    )
    away = run("ingest", folder, httpserver.url_for("/away"), "--no-follow")
    assert away.exit_code == 2
    assert "redirects to another site (https://elsewhere.test)" in away.output


def test_oversized_and_unsupported_pages_are_refused(voicekit, httpserver):
    httpserver.no_handler_status_code = 404  # no robots.txt: everything allowed
    httpserver.expect_request("/big").respond_with_data("x" * 5000, content_type="text/html")
    httpserver.expect_request("/photo").respond_with_data(b"\x89PNG", content_type="image/png")
    folder = voicekit.write(config("[plugins.knowledge.crawl]\nmax_page_bytes = 1000")).parent
    result = run(
        "ingest", folder, httpserver.url_for("/big"), httpserver.url_for("/photo"), "--no-follow"
    )
    assert result.exit_code == 2
    assert "larger than max_page_bytes" in result.output
    assert "unsupported content type 'image/png'" in result.output


def test_crawl_delay_is_waited(httpserver):
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nCrawl-delay: 2\n")
    httpserver.expect_request("/a").respond_with_data(page("A", "First page text."))
    httpserver.expect_request("/b").respond_with_data(page("B", "Second page text."))
    waits: list[float] = []
    with Fetcher(CrawlSettings(), sleep=waits.append) as fetcher:
        fetcher.get(httpserver.url_for("/a"))
        fetcher.get(httpserver.url_for("/b"))
    assert waits and all(1.5 < w <= 2.0 for w in waits)


def test_sitemap_parsing_is_safe():
    index, locations = parse_sitemap(
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&e;</loc></url>'
        b"<url><loc>https://example.test/a</loc></url></urlset>",
        10_000,
    )
    assert not index
    assert locations == ["https://example.test/a"]  # the external entity was not resolved
    assert parse_sitemap(b"not xml", 10_000) == (False, [])
