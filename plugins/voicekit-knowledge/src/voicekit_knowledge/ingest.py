"""Ingest files, folders and websites into a :class:`~.index.KnowledgeBase`.

Each source goes through: read the bytes -> SHA-256 -> skip if the store holds the same
hash under the same index key (chunk sizes, chunker version, embedder id) -> parse
(:mod:`.loaders`) -> chunk (:mod:`.chunking`) -> embed (when an embedder is configured)
-> one write transaction replacing the source's chunks. Every step before the write can
fail without touching the store, so a corrupt, empty or unreachable source leaves nothing
behind (and a changed file whose new version is broken keeps its old chunks).

Files are stored under their path relative to the deployment folder when they are inside
it (``docs/pets.md``: the knowledge base moves with the deployment and no server path
reaches the model), else under their absolute path; pages under their URL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .chunking import CHUNKER_VERSION, chunk_document
from .crawl import Fetched, Fetcher, crawl, is_web
from .documents import SourceError, sha256
from .index import KnowledgeBase
from .loaders import SUFFIXES, kind_for_name, load
from .settings import KnowledgeSettings

MAX_FILE_BYTES = 50_000_000
EMBED_BATCH = 16

Status = Literal["added", "updated", "unchanged", "failed", "skipped", "removed"]


@dataclass
class SourceResult:
    """What happened to one source. ``explicit``: named by the user (or in ``sources``);
    False for files found in a folder and pages found by a crawl. ``detail``: why it
    failed or was skipped."""

    uri: str
    status: Status
    chunks: int = 0
    detail: str = ""
    explicit: bool = True


@dataclass
class IngestSummary:
    """Every source's :class:`SourceResult`, in the order they were handled."""

    results: list[SourceResult] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def errors(self) -> list[SourceResult]:
        """Failures of sources the user named (these make ``ingest`` exit 2)."""
        return [r for r in self.results if r.status == "failed" and r.explicit]

    @property
    def warnings(self) -> list[SourceResult]:
        """Failures of pages and files found on the way (broken links...)."""
        return [r for r in self.results if r.status == "failed" and not r.explicit]

    def line(self) -> str:
        parts = [
            f"{self.count(s)} {s}"
            for s in ("added", "updated", "unchanged", "removed", "skipped", "failed")
            if self.count(s)
        ]
        chunks = sum(r.chunks for r in self.results if r.status in ("added", "updated"))
        return ", ".join(parts or ["nothing to do"]) + f"; {chunks} chunks written"


def index_key(settings: KnowledgeSettings, embedder_id: str | None) -> str:
    """What a source's stored chunks depend on besides its bytes (16 hex digits)."""
    text = (
        f"{CHUNKER_VERSION}:{settings.max_chunk_tokens}:{settings.min_chunk_tokens}:"
        f"{embedder_id or ''}"
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Ingester:
    """Ingest into ``kb`` with ``settings``; ``base_dir`` is the deployment folder;
    ``progress(line)`` is told about each source as it is handled."""

    def __init__(
        self,
        kb: KnowledgeBase,
        settings: KnowledgeSettings,
        *,
        base_dir: Path,
        progress: Callable[[str], None] | None = None,
        fetcher: Fetcher | None = None,
    ):
        self.kb = kb
        self.settings = settings
        self.base_dir = base_dir.resolve()
        self.progress = progress or (lambda line: None)
        self.embedder = kb.embedder
        self.key = index_key(settings, self.embedder.id if self.embedder else None)
        self._fetcher = fetcher
        self._hashes: dict[str, str] = {}  # content hash -> first URI with it, this run

    def run(
        self, targets: list[str], *, follow_links: bool = True, prune: bool = False
    ) -> IngestSummary:
        """Ingest every target (file, folder, URL). ``prune`` removes the collection's
        other sources (those not seen in this run). Raises EmbedderError when the
        embedder fails (sources written before stay, each whole)."""
        summary = IngestSummary()
        seen: set[str] = set()
        fetcher = self._fetcher or Fetcher(self.settings.crawl)
        try:
            for target in targets:
                for result in self._target(target, fetcher, follow_links):
                    summary.results.append(result)
                    seen.add(result.uri)
                    self._report(len(summary.results), result)
        finally:
            if self._fetcher is None:
                fetcher.close()
        if prune:
            for source in self.kb.sources():
                if source.uri not in seen:
                    self.kb.remove_source(source.uri)
                    result = SourceResult(source.uri, "removed", detail="not in this ingest")
                    summary.results.append(result)
                    self._report(len(summary.results), result)
        return summary

    def _report(self, number: int, result: SourceResult) -> None:
        if result.status in ("added", "updated"):
            detail = f"{result.chunks} chunks"
        else:
            detail = result.detail
        self.progress(
            f"[{number}] {result.status:<9} {result.uri}" + (f": {detail}" if detail else "")
        )

    # -- targets -----------------------------------------------------------------------------

    def _target(self, target: str, fetcher: Fetcher, follow: bool) -> Iterator[SourceResult]:
        if is_web(target):
            yield from self._site(target, fetcher, follow)
            return
        path = Path(target).expanduser()
        if not path.is_absolute():
            path = self.base_dir / path
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            supported = [p for p in files if kind_for_name(p.name)]
            if not supported:
                yield SourceResult(
                    self._uri(path),
                    "failed",
                    detail=f"no supported files in this folder ({', '.join(sorted(SUFFIXES))})",
                )
            for file in supported:
                yield self._file(file, explicit=False)
            return
        if not path.exists():
            yield SourceResult(self._uri(path), "failed", detail="no such file or folder")
            return
        yield self._file(path, explicit=True)

    def _uri(self, path: Path) -> str:
        resolved = path.resolve()
        try:
            return resolved.relative_to(self.base_dir).as_posix()
        except ValueError:
            return str(resolved)

    def _file(self, path: Path, *, explicit: bool) -> SourceResult:
        uri = self._uri(path)
        kind = kind_for_name(path.name)
        if kind is None:
            return SourceResult(
                uri,
                "failed",
                detail=f"unsupported file type {path.suffix or '(none)'!r} "
                f"(supported: {', '.join(sorted(SUFFIXES))})",
                explicit=explicit,
            )
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise SourceError(uri, f"larger than {MAX_FILE_BYTES // 1_000_000} MB")
            data = path.read_bytes()
        except OSError as exc:
            return SourceResult(uri, "failed", detail=exc.strerror or str(exc), explicit=explicit)
        except SourceError as exc:
            return SourceResult(uri, "failed", detail=exc.reason, explicit=explicit)
        return self._ingest(uri, data, kind, stem=path.stem, explicit=explicit)

    def _site(self, start: str, fetcher: Fetcher, follow: bool) -> Iterator[SourceResult]:
        crawl_settings = self.settings.crawl
        for item in crawl(
            start,
            fetcher,
            max_pages=crawl_settings.max_pages,
            max_depth=crawl_settings.max_depth,
            follow=follow,
        ):
            if isinstance(item, SourceError):
                yield SourceResult(
                    item.uri, "failed", detail=item.reason, explicit=not item.discovered
                )
                continue
            yield self._page(item, explicit=item.url == start or not follow)

    def _page(self, page: Fetched, *, explicit: bool) -> SourceResult:
        stem = page.url.rstrip("/").rsplit("/", 1)[-1] or page.url
        return self._ingest(page.url, page.data, page.kind, stem=stem, explicit=explicit)

    # -- one source --------------------------------------------------------------------------

    def _ingest(
        self, uri: str, data: bytes, kind: str, *, stem: str, explicit: bool
    ) -> SourceResult:
        digest = sha256(data)
        first = self._hashes.setdefault(digest, uri)
        if first != uri:
            return SourceResult(
                uri, "skipped", detail=f"same content as {first}", explicit=explicit
            )
        stored = self.kb.source(uri)
        if stored is not None and stored.content_hash == digest and stored.index_key == self.key:
            return SourceResult(uri, "unchanged", stored.chunk_count, "unchanged", explicit)
        try:
            document = load(data, uri=uri, kind=kind, stem=stem)
        except SourceError as exc:
            return SourceResult(uri, "failed", detail=exc.reason, explicit=explicit)
        chunks = chunk_document(
            document,
            max_tokens=self.settings.max_chunk_tokens,
            min_tokens=self.settings.min_chunk_tokens,
        )
        vectors = None
        if self.embedder is not None:
            vectors = self._embed(uri, [chunk.text for chunk in chunks])
        self.kb.replace_source(
            document,
            chunks,
            index_key=self.key,
            byte_count=len(data),
            vectors=vectors,
            embedder_id=self.embedder.id if self.embedder else None,
        )
        status: Status = "added" if stored is None else "updated"
        return SourceResult(uri, status, len(chunks), explicit=explicit)

    def _embed(self, uri: str, texts: list[str]):  # type: ignore[no-untyped-def]
        import numpy as np

        assert self.embedder is not None
        parts = []
        for start in range(0, len(texts), EMBED_BATCH):
            if len(texts) > EMBED_BATCH:
                self.progress(f"    embedding {uri}: {start}/{len(texts)} chunks")
            parts.append(self.embedder.embed_passages(texts[start : start + EMBED_BATCH]))
        return np.concatenate(parts) if parts else np.zeros((0, 1), dtype=np.float32)
