"""Read a website: robots.txt first, then its sitemap and same-site links.

:func:`crawl` yields each page it read (:class:`Fetched`) or why it could not
(:class:`~.documents.SourceError`), breadth first from the start URL, at most
``max_pages`` pages and ``max_depth`` link hops. Rules:

* robots.txt (parsed by protego) is honoured for every request, redirects included,
  with the configured user agent. A missing robots.txt (4xx) allows everything; one that
  cannot be read (5xx, timeout, refused) stops the site (RFC 9309: rules unknown).
  ``Crawl-delay`` is waited (up to 10 s).
* Same site only: the start URL's scheme and host (and port). Off-site links are ignored;
  a page redirecting off-site is an error.
* Pages are HTML, PDF, DOCX, Markdown or plain text (by ``Content-Type``, else suffix);
  anything larger than ``max_page_bytes`` is refused. Sitemaps (``Sitemap:`` lines of
  robots.txt, else ``/sitemap.xml``; sitemap indexes and ``.gz`` too) are parsed with
  entities and network access off.

Errors of pages the crawl *found* (a broken link) carry ``discovered = True``: they are
reported but are not the user's input.
"""

from __future__ import annotations

import gzip
import io
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from .documents import SourceError
from .loaders import CONTENT_TYPES, kind_for_name
from .settings import CrawlSettings

MAX_REDIRECTS = 5
MAX_SITEMAPS = 10
MAX_CRAWL_DELAY = 10.0
SKIPPED_SUFFIXES = [
    ".jpg",
    ".jpeg",
    ".png",
    ".gif",
    ".svg",
    ".webp",
    ".ico",
    ".css",
    ".js",
    ".json",
    ".xml",
    ".zip",
    ".gz",
    ".mp3",
    ".mp4",
    ".mov",
    ".avi",
    ".woff",
    ".woff2",
    ".ttf",
    ".eot",
    ".xlsx",
    ".xls",
    ".pptx",
    ".ppt",
    ".doc",
    ".exe",
    ".dmg",
    ".tar",
    ".rss",
    ".atom",
]


@dataclass
class _Reply:
    status_code: int
    headers: Any
    content: bytes

    @property
    def is_redirect(self) -> bool:
        return self.status_code in (301, 302, 303, 307, 308) and "location" in self.headers


@dataclass
class Fetched:
    """A page read: its final ``url`` (after same-site redirects), the bytes, the format."""

    url: str
    data: bytes
    kind: str


def normalize(url: str) -> str:
    """``url`` without its fragment, scheme and host lower-cased, ``/`` for an empty path."""
    parts = urlsplit(url.strip())
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, "")
    )


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def is_web(target: str) -> bool:
    """True for an ``http://`` or ``https://`` URL."""
    return urlsplit(target).scheme.lower() in ("http", "https") and bool(urlsplit(target).netloc)


class Fetcher:
    """HTTP GETs that honour robots.txt, limits and same-site redirects (one httpx client)."""

    def __init__(self, settings: CrawlSettings, *, sleep: Callable[[float], None] = time.sleep):
        import httpx

        self.settings = settings
        self._httpx = httpx
        self.client = httpx.Client(
            timeout=settings.timeout_seconds,
            follow_redirects=False,
            headers={"User-Agent": settings.user_agent},
        )
        self._robots: dict[str, Any] = {}
        self._last_request: dict[str, float] = {}
        self._sleep = sleep

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- robots.txt ----------------------------------------------------------------------------

    def robots(self, url: str) -> Any:
        """The parsed robots.txt of ``url``'s site (None: no file, everything allowed).

        Raises SourceError when it cannot be read (5xx, timeout): the site is not crawled.
        """
        site = origin(url)
        if site in self._robots:
            cached = self._robots[site]
            if isinstance(cached, SourceError):
                raise cached
            return cached
        from protego import Protego

        where = f"{site}/robots.txt"
        try:
            response = self._request(where)
        except SourceError as exc:
            error = SourceError(url, f"robots.txt could not be read ({exc.reason}): not crawling")
            self._robots[site] = error
            raise error from None
        if response.status_code >= 500 or response.status_code == 429:
            error = SourceError(
                url, f"robots.txt answered HTTP {response.status_code}: not crawling this site"
            )
            self._robots[site] = error
            raise error
        parsed = None
        if response.status_code == 200:
            parsed = Protego.parse(response.content[:500_000].decode("utf-8", errors="replace"))
        self._robots[site] = parsed
        return parsed

    def allowed(self, url: str) -> bool:
        """Whether robots.txt lets our user agent fetch ``url`` (raises like :meth:`robots`)."""
        rules = self.robots(url)
        return rules is None or bool(rules.can_fetch(url, self.settings.user_agent))

    def sitemaps(self, url: str) -> list[str]:
        """Sitemap URLs of ``url``'s site: robots.txt's ``Sitemap:`` lines, else
        ``/sitemap.xml``."""
        rules = self.robots(url)
        listed = list(rules.sitemaps) if rules is not None else []
        return listed or [f"{origin(url)}/sitemap.xml"]

    # -- fetching ------------------------------------------------------------------------------

    def get(self, url: str) -> Fetched:
        """GET ``url`` (same-site redirects followed, each hop checked against robots.txt).

        Raises SourceError: disallowed by robots.txt, HTTP error status, redirect off-site,
        too large, not a supported format.
        """
        current = normalize(url)
        for _ in range(MAX_REDIRECTS + 1):
            if not self.allowed(current):
                raise SourceError(
                    url if current == normalize(url) else f"{url} (redirected to {current})",
                    f"disallowed by robots.txt for user agent {self.settings.user_agent!r}",
                )
            response = self._request(current)
            if response.is_redirect:
                target = normalize(urljoin(current, response.headers.get("location", "")))
                if origin(target) != origin(current):
                    raise SourceError(url, f"redirects to another site ({origin(target)})")
                current = target
                continue
            if response.status_code != 200:
                raise SourceError(url, f"HTTP {response.status_code}")
            kind = self._kind(current, response)
            return Fetched(current, response.content, kind)
        raise SourceError(url, f"more than {MAX_REDIRECTS} redirects")

    def _kind(self, url: str, response: _Reply) -> str:
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        kind = CONTENT_TYPES.get(content_type)
        if kind is None and content_type in ("", "application/octet-stream"):
            kind = kind_for_name(urlsplit(url).path)
        if kind is None:
            raise SourceError(url, f"unsupported content type {content_type or 'none'!r}")
        return kind

    def _request(self, url: str) -> _Reply:
        """One GET, paced per site, body capped at ``max_page_bytes``."""
        self._pace(url)
        httpx = self._httpx
        limit = self.settings.max_page_bytes
        try:
            with self.client.stream("GET", url) as response:
                length = response.headers.get("content-length")
                if length and length.isdigit() and int(length) > limit:
                    raise SourceError(url, f"larger than max_page_bytes ({int(length)} > {limit})")
                body = bytearray()
                for block in response.iter_bytes():
                    body += block
                    if len(body) > limit:
                        raise SourceError(url, f"larger than max_page_bytes ({limit})")
                return _Reply(response.status_code, response.headers, bytes(body))
        except httpx.TimeoutException:
            raise SourceError(url, f"timed out after {self.settings.timeout_seconds} s") from None
        except httpx.HTTPError as exc:
            raise SourceError(url, f"request failed ({type(exc).__name__}: {exc})") from None

    def _pace(self, url: str) -> None:
        site = origin(url)
        delay = self.settings.delay_seconds
        rules = self._robots.get(site)
        if rules is not None and not isinstance(rules, SourceError):
            crawl_delay = rules.crawl_delay(self.settings.user_agent)
            if crawl_delay:
                delay = max(delay, min(float(crawl_delay), MAX_CRAWL_DELAY))
        last = self._last_request.get(site)
        if last is not None and delay > 0:
            wait = last + delay - time.monotonic()
            if wait > 0:
                self._sleep(wait)
        self._last_request[site] = time.monotonic()

    # -- sitemaps and links --------------------------------------------------------------------

    def sitemap_urls(self, url: str) -> list[str]:
        """Page URLs listed by the site's sitemaps (indexes followed, at most
        :data:`MAX_SITEMAPS` files); unreadable sitemaps are skipped."""
        pending = deque(self.sitemaps(url))
        seen: set[str] = set()
        pages: list[str] = []
        while pending and len(seen) < MAX_SITEMAPS:
            where = normalize(pending.popleft())
            if where in seen or origin(where) != origin(url):
                continue
            seen.add(where)
            try:
                if not self.allowed(where):
                    continue
                response = self._request(where)
            except SourceError:
                continue
            if response.status_code != 200:
                continue
            index, locations = parse_sitemap(response.content, self.settings.max_page_bytes)
            (pending.extend if index else pages.extend)(locations)
        return pages


def parse_sitemap(data: bytes, limit: int) -> tuple[bool, list[str]]:
    """``(is_index, locations)`` of a sitemap (``urlset``) or sitemap index; gzip is
    unpacked up to ``limit`` bytes. Malformed XML gives ``(False, [])``."""
    from lxml import etree

    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
                data = handle.read(limit + 1)
        except OSError:
            return False, []
        if len(data) > limit:
            return False, []
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, recover=False
    )
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError:
        return False, []
    is_index = etree.QName(root).localname == "sitemapindex"
    locations = [
        (node.text or "").strip() for node in root.iter("{*}loc") if (node.text or "").strip()
    ]
    return is_index, locations


def page_links(page: Fetched) -> list[str]:
    """Absolute URLs of an HTML page's ``<a href>`` links (``<base href>`` honoured)."""
    if page.kind != "html":
        return []
    import lxml.html
    from lxml import etree

    try:
        tree = lxml.html.fromstring(page.data)
    except (etree.ParserError, ValueError):
        return []
    base = page.url
    for href in tree.xpath("//base/@href")[:1]:
        base = urljoin(page.url, str(href))
    links = []
    for href in tree.xpath("//a/@href"):
        href = str(href).strip()
        if not href or href.startswith(("#", "mailto:", "tel:", "javascript:", "data:")):
            continue
        links.append(urljoin(base, href))
    return links


def _crawlable(url: str, site: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or origin(url) != site:
        return False
    return not parts.path.lower().endswith(tuple(SKIPPED_SUFFIXES))


def crawl(
    start: str, fetcher: Fetcher, *, max_pages: int, max_depth: int, follow: bool = True
) -> Iterator[Fetched | SourceError]:
    """Pages of ``start``'s site, breadth first (see the module docstring).

    ``follow=False`` reads ``start`` alone. The start page's own failure is an error the
    caller should report as such; failures of pages found on the way have
    ``discovered = True``.
    """
    start = normalize(start)
    site = origin(start)
    try:
        if not fetcher.allowed(start):
            yield SourceError(
                start,
                f"disallowed by robots.txt for user agent {fetcher.settings.user_agent!r}",
            )
            return
    except SourceError as exc:
        yield exc
        return
    queue: deque[tuple[str, int]] = deque([(start, 0)])
    seen = {start}
    if follow:
        for url in fetcher.sitemap_urls(start):
            url = normalize(url)
            if url not in seen and _crawlable(url, site):
                seen.add(url)
                queue.append((url, 0))
    read = 0
    while queue and read < max_pages:
        url, depth = queue.popleft()
        try:
            if url != start and not fetcher.allowed(url):
                continue  # found on the way: robots.txt says no, silently skipped
            page = fetcher.get(url)
        except SourceError as exc:
            exc.discovered = url != start
            yield exc
            continue
        read += 1
        seen.add(page.url)
        yield page
        if follow and depth < max_depth:
            for link in page_links(page):
                link = normalize(link)
                if link not in seen and _crawlable(link, site):
                    seen.add(link)
                    queue.append((link, depth + 1))
