"""The knowledge base in the store: write a source's chunks, search them.

:class:`KnowledgeBase` is one collection in one store. Writing a source replaces its
chunks in a single transaction (a reader sees the old chunks or the new ones, never a
mix; a failure leaves the old ones). Search methods:

* ``bm25``: full-text search, SQLite FTS5 ``bm25()`` (title and heading weigh more than
  body text), Postgres ``ts_rank`` over an English ``tsvector`` with a GIN index. The
  question's words are OR-ed (stop words dropped), so a chunk need not hold them all;
* ``dense``: cosine similarity between the question's vector and every chunk vector of
  the collection made by the configured embedder (numpy over vectors cached per process;
  SQLite here cannot load vector extensions);
* ``hybrid``: reciprocal rank fusion of the two (k = 60).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, select, text, update

from .chunking import Chunk
from .documents import Document
from .schema import ensure_schema
from .tables import knowledge_chunks as chunks_t
from .tables import knowledge_sources as sources_t

if TYPE_CHECKING:
    import numpy as np

    from voicekit_core.store import Store

    from .embedders import Embedder

METHODS = ("bm25", "dense", "hybrid")
RRF_K = 60

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "could",
        "do",
        "does",
        "for",
        "from",
        "have",
        "how",
        "i",
        "if",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "please",
        "should",
        "so",
        "that",
        "the",
        "their",
        "there",
        "these",
        "this",
        "to",
        "us",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "hi",
        "hello",
        "tell",
        "know",
        "want",
        "need",
        "get",
        "el",
        "la",
        "los",
        "las",
        "un",
        "una",
        "de",
        "del",
        "y",
        "o",
        "que",
        "en",
        "por",
        "para",
        "con",
        "es",
        "mi",
        "me",
        "se",
        "lo",
        "al",
        "como",
        "cuando",
        "donde",
        "cual",
        "quiero",
        "saber",
        "puedo",
        "hay",
    ]
)
_WORD = re.compile(r"\w+", re.UNICODE)

# the expression the Postgres GIN index of migration k0001 is built on (keep them equal)
PG_TSV = (
    "to_tsvector('english'::regconfig, coalesce(title, '') || ' ' || coalesce(heading, '')"
    " || ' ' || text)"
)
PG_RANKED = (
    "setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(heading, '')), 'B') || "
    "to_tsvector('english'::regconfig, text)"
)


@dataclass
class Hit:
    """One search result: the chunk's ``text`` with its ``source`` (path or URL), the
    source's ``title``, the chunk's ``heading``, the method's ``score`` (higher is better;
    BM25 scores and cosines are not comparable) and ``rank`` (1 = best)."""

    chunk_id: int
    source: str
    title: str
    heading: str
    text: str
    score: float
    rank: int = 0


@dataclass
class SourceRow:
    """What the store knows about one ingested source."""

    uri: str
    kind: str
    title: str
    content_hash: str
    index_key: str
    embedder: str | None
    chunk_count: int
    byte_count: int
    ingested_at: datetime


def query_terms(query: str, limit: int = 32) -> list[str]:
    """The question's words, lower-cased, stop words and repeats dropped (at most
    ``limit``; none for a question made only of stop words: BM25 then finds nothing)."""
    words = [w.lower() for w in _WORD.findall(query)]
    return [w for w in dict.fromkeys(words) if w not in STOPWORDS][:limit]


class KnowledgeBase:
    """Collection ``collection`` of ``store`` (tables created on first use).

    ``embedder`` (optional) is needed for ``dense`` and ``hybrid`` search.
    """

    def __init__(self, store: Store, collection: str, embedder: Embedder | None = None):
        ensure_schema(store)
        self.store = store
        self.collection = collection
        self.embedder = embedder

    # -- sources -----------------------------------------------------------------------------

    def source(self, uri: str) -> SourceRow | None:
        """The stored row of ``uri``, or None."""
        with self.store.read() as db:
            row = db.execute(
                select(sources_t).where(
                    sources_t.c.collection == self.collection, sources_t.c.uri == uri
                )
            ).first()
        return _source_row(row) if row is not None else None

    def sources(self) -> list[SourceRow]:
        """Every ingested source of the collection, by URI."""
        with self.store.read() as db:
            rows = db.execute(
                select(sources_t)
                .where(sources_t.c.collection == self.collection)
                .order_by(sources_t.c.uri)
            ).all()
        return [_source_row(row) for row in rows]

    def replace_source(
        self,
        document: Document,
        chunks: list[Chunk],
        *,
        index_key: str,
        byte_count: int,
        vectors: np.ndarray | None = None,
        embedder_id: str | None = None,
    ) -> None:
        """Store ``document``'s chunks (and their ``vectors``, one row per chunk) in place
        of whatever the store held for its URI, in one transaction."""
        if vectors is not None and len(vectors) != len(chunks):
            raise ValueError(f"{len(vectors)} vectors for {len(chunks)} chunks")
        now = datetime.now(timezone.utc)
        values = {
            "kind": document.kind,
            "title": document.title,
            "content_hash": document.content_hash,
            "index_key": index_key,
            "embedder": embedder_id if vectors is not None else None,
            "chunk_count": len(chunks),
            "byte_count": byte_count,
            "ingested_at": now,
        }
        with self.store.write() as db:
            source_id = db.execute(
                select(sources_t.c.id).where(
                    sources_t.c.collection == self.collection, sources_t.c.uri == document.uri
                )
            ).scalar()
            if source_id is None:
                source_id = db.execute(
                    insert(sources_t)
                    .values(collection=self.collection, uri=document.uri, **values)
                    .returning(sources_t.c.id)
                ).scalar_one()
            else:
                db.execute(delete(chunks_t).where(chunks_t.c.source_id == source_id))
                db.execute(update(sources_t).where(sources_t.c.id == source_id).values(**values))
            if chunks:
                db.execute(
                    insert(chunks_t),
                    [
                        {
                            "source_id": source_id,
                            "collection": self.collection,
                            "position": chunk.position,
                            "title": document.title,
                            "heading": chunk.heading,
                            "text": chunk.text,
                            "tokens": chunk.tokens,
                            "vector": vectors[i].tobytes() if vectors is not None else None,
                        }
                        for i, chunk in enumerate(chunks)
                    ],
                )

    def remove_source(self, uri: str) -> bool:
        """Delete ``uri`` and its chunks; False if it was not there."""
        with self.store.write() as db:
            source_id = db.execute(
                select(sources_t.c.id).where(
                    sources_t.c.collection == self.collection, sources_t.c.uri == uri
                )
            ).scalar()
            if source_id is None:
                return False
            db.execute(delete(chunks_t).where(chunks_t.c.source_id == source_id))
            db.execute(delete(sources_t).where(sources_t.c.id == source_id))
        return True

    def chunk_texts(self, uri: str) -> list[Hit]:
        """The chunks of ``uri`` in order (score 0)."""
        with self.store.read() as db:
            rows = db.execute(
                select(chunks_t.c.id, chunks_t.c.title, chunks_t.c.heading, chunks_t.c.text)
                .join(sources_t, sources_t.c.id == chunks_t.c.source_id)
                .where(sources_t.c.collection == self.collection, sources_t.c.uri == uri)
                .order_by(chunks_t.c.position)
            ).all()
        return [Hit(r.id, uri, r.title, r.heading, r.text, 0.0, i + 1) for i, r in enumerate(rows)]

    def counts(self) -> tuple[int, int]:
        """``(sources, chunks)`` in the collection."""
        with self.store.read() as db:
            sources = db.execute(
                select(func.count()).where(sources_t.c.collection == self.collection)
            ).scalar_one()
            chunk_count = db.execute(
                select(func.count()).where(chunks_t.c.collection == self.collection)
            ).scalar_one()
        return int(sources), int(chunk_count)

    # -- search ------------------------------------------------------------------------------

    def search(self, query: str, *, k: int = 3, method: str = "bm25") -> list[Hit]:
        """The ``k`` best chunks for ``query`` by ``method`` (see the module docstring).

        Raises ValueError for an unknown method, or ``dense``/``hybrid`` without an
        embedder; an embedder's failure raises its EmbedderError.
        """
        if method not in METHODS:
            raise ValueError(f"unknown search method {method!r} (one of {', '.join(METHODS)})")
        if method == "bm25":
            ranked = self._bm25(query, k)
        elif method == "dense":
            ranked = self._dense(query, k)
        else:
            ranked = self._hybrid(query, k)
        return self._hits(ranked)

    def _bm25(self, query: str, k: int) -> list[tuple[int, float]]:
        terms = query_terms(query)
        if not terms:
            return []
        with self.store.read() as db:
            if self.store.dialect == "sqlite":
                match = " OR ".join(f'"{term}"' for term in terms)
                rows = db.execute(
                    text(
                        "SELECT c.id, bm25(knowledge_fts, 4.0, 2.0, 1.0) AS score "
                        "FROM knowledge_fts JOIN knowledge_chunks c ON c.id = knowledge_fts.rowid "
                        "WHERE knowledge_fts MATCH :match AND c.collection = :collection "
                        "ORDER BY score LIMIT :k"
                    ),
                    {"match": match, "collection": self.collection, "k": k},
                ).all()
                return [(row.id, -float(row.score)) for row in rows]  # FTS5: lower is better
            tsquery = " | ".join(terms)
            rows = db.execute(
                text(
                    f"SELECT id, ts_rank({PG_RANKED}, q) AS score "
                    "FROM knowledge_chunks, to_tsquery('english'::regconfig, :tsquery) AS q "
                    f"WHERE collection = :collection AND {PG_TSV} @@ q "
                    "ORDER BY score DESC, id LIMIT :k"
                ),
                {"tsquery": tsquery, "collection": self.collection, "k": k},
            ).all()
            return [(row.id, float(row.score)) for row in rows]

    def _dense(self, query: str, k: int) -> list[tuple[int, float]]:
        import numpy as np

        if self.embedder is None:
            raise ValueError("dense search needs an embedder ([plugins.knowledge.embedder])")
        ids, matrix = self._vectors()
        if not len(ids):
            return []
        scores = matrix @ self.embedder.embed_query(query)
        order = np.argsort(-scores)[:k]
        return [(int(ids[i]), float(scores[i])) for i in order]

    def _hybrid(self, query: str, k: int) -> list[tuple[int, float]]:
        depth = max(50, k)
        fused: dict[int, float] = {}
        for ranking in (self._bm25(query, depth), self._dense(query, depth)):
            for rank, (chunk_id, _) in enumerate(ranking, start=1):
                fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank)
        return sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]

    def _vectors(self) -> tuple[Any, Any]:
        """``(chunk ids, matrix)`` of the collection's vectors by the current embedder,
        cached per process until a source of the collection changes."""
        import numpy as np

        assert self.embedder is not None
        with self.store.read() as db:
            stamp = tuple(
                db.execute(
                    select(
                        func.count(), func.max(sources_t.c.ingested_at), func.sum(sources_t.c.id)
                    ).where(sources_t.c.collection == self.collection)
                ).one()
            )
            key = (str(self.store.url), self.collection, self.embedder.id)
            with _cache_lock:
                cached = _vector_cache.get(key)
            if cached is not None and cached[0] == stamp:
                return cached[1], cached[2]
            rows = db.execute(
                select(chunks_t.c.id, chunks_t.c.vector)
                .join(sources_t, sources_t.c.id == chunks_t.c.source_id)
                .where(
                    chunks_t.c.collection == self.collection,
                    sources_t.c.embedder == self.embedder.id,
                    chunks_t.c.vector.is_not(None),
                )
                .order_by(chunks_t.c.id)
            ).all()
        ids = np.array([row.id for row in rows], dtype=np.int64)
        matrix = (
            np.stack([np.frombuffer(row.vector, dtype=np.float32) for row in rows])
            if rows
            else np.zeros((0, 1), dtype=np.float32)
        )
        with _cache_lock:
            _vector_cache[key] = (stamp, ids, matrix)
        return ids, matrix

    def unembedded_sources(self) -> list[str]:
        """URIs whose chunks have no vectors by the current embedder (ingested without one
        or with another): dense search does not see them until they are re-ingested."""
        if self.embedder is None:
            return []
        return [s.uri for s in self.sources() if s.embedder != self.embedder.id]

    def _hits(self, ranked: list[tuple[int, float]]) -> list[Hit]:
        if not ranked:
            return []
        with self.store.read() as db:
            rows = {
                row.id: row
                for row in db.execute(
                    select(
                        chunks_t.c.id,
                        chunks_t.c.title,
                        chunks_t.c.heading,
                        chunks_t.c.text,
                        sources_t.c.uri,
                    )
                    .join(sources_t, sources_t.c.id == chunks_t.c.source_id)
                    .where(chunks_t.c.id.in_([chunk_id for chunk_id, _ in ranked]))
                ).all()
            }
        hits = []
        for chunk_id, score in ranked:
            row = rows.get(chunk_id)
            if row is not None:
                hits.append(
                    Hit(chunk_id, row.uri, row.title, row.heading, row.text, score, len(hits) + 1)
                )
        return hits


_cache_lock = threading.Lock()
_vector_cache: dict[tuple[str, str, str], tuple[tuple, Any, Any]] = {}


def _source_row(row: Any) -> SourceRow:
    return SourceRow(
        uri=row.uri,
        kind=row.kind,
        title=row.title,
        content_hash=row.content_hash,
        index_key=row.index_key,
        embedder=row.embedder,
        chunk_count=row.chunk_count,
        byte_count=row.byte_count,
        ingested_at=row.ingested_at,
    )
