"""The tools a call gets: ``search_knowledge(query)`` or ``lookup_topic(topic)``.

Both return JSON text the model reads: the excerpts with their title, section and
source. A lookup runs in a thread, says a filler line when the caller has waited
``filler_after_seconds`` (livekit's ``RunContext.with_filler``) and gives up after
``timeout_seconds`` with a ToolError the agent can say. When dense search fails (the
embedding API is down) the lookup falls back to BM25 and says so in the report's notes.
Every lookup is recorded in ``report.data["knowledge"]["lookups"]`` (query, method,
seconds, sources and scores, no text).

No ``from __future__ import annotations``: livekit reads tool annotations at call time.
"""

import asyncio
import json
import logging
import time
from typing import Any

from voicekit_core import CallContext

from .embedders import EmbedderError
from .index import Hit, KnowledgeBase
from .runtime import knowledge_base, settings_of
from .settings import NAME, KnowledgeSettings
from .topics import Topic, TopicsError, load_topics

logger = logging.getLogger("voicekit.knowledge")

FILLERS = {
    "en": "Let me look that up.",
    "es": "Un momento, lo estoy consultando.",
}
SEARCH_TOOL = "search_knowledge"
TOPIC_TOOL = "lookup_topic"


def filler_for(settings: KnowledgeSettings, language: str) -> str:
    """``settings.filler``, else the stock line in ``language`` (English if none)."""
    return settings.filler or FILLERS.get(language, FILLERS["en"])


def knowledge_data(call: CallContext) -> dict[str, Any]:
    """``call.data["knowledge"]`` (created on first use)."""
    return call.data.setdefault(NAME, {"lookups": []})


def excerpt(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a sentence end when one is near."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind(".\n"), cut.rfind("? "), cut.rfind("! "))
    return (cut[: end + 1] if end > limit // 2 else cut.rstrip()) + " …"


def results_json(hits: list[Hit], settings: KnowledgeSettings) -> str:
    """The tool's answer: ``{"results": [{"title", "section", "source", "text"}]}`` (or an
    empty list with a ``note`` telling the model what to do)."""
    if not hits:
        return json.dumps(
            {
                "results": [],
                "note": "Nothing in the knowledge base matches. Say you don't have that "
                "information and offer to take a message.",
            },
            ensure_ascii=False,
        )
    return json.dumps(
        {
            "results": [
                {
                    "title": hit.title,
                    "section": hit.heading,
                    "source": hit.source,
                    "text": excerpt(hit.text, settings.max_result_chars),
                }
                for hit in hits
            ]
        },
        ensure_ascii=False,
    )


def lookup(call: CallContext, kb: KnowledgeBase, query: str, *, k: int, method: str) -> list[Hit]:
    """Search with ``method``, falling back to BM25 when the embedder fails; records the
    lookup in the report. Runs in a worker thread (blocking I/O)."""
    started = time.perf_counter()
    used = method
    try:
        hits = kb.search(query, k=k, method=method)
    except EmbedderError as exc:
        used = "bm25"
        call.note(f"knowledge: {method} search failed ({exc}); BM25 used instead")
        hits = kb.search(query, k=k, method="bm25")
    knowledge_data(call)["lookups"].append(
        {
            "query": query,
            "method": used,
            "seconds": round(time.perf_counter() - started, 3),
            "results": [
                {"source": h.source, "section": h.heading, "score": round(h.score, 4)} for h in hits
            ],
        }
    )
    return hits


def search_tool(call: CallContext) -> Any:
    """The ``search_knowledge`` function tool for ``call``."""
    from livekit.agents import RunContext, ToolError, function_tool

    settings = settings_of(call.config)
    filler = filler_for(settings, call.config.agent.language)

    @function_tool
    async def search_knowledge(context: RunContext, query: str) -> str:
        """Search the company's documents (policies, hours, prices, procedures) for what the
        caller asks. Call it before answering any question about the company; answer only
        from the results.

        Args:
            query: the caller's question in a few words, e.g. "pet deposit amount".
        """
        current: CallContext = context.userdata
        query = query.strip()
        if not query:
            raise ToolError("the query is empty: ask with the caller's question in a few words")
        try:
            kb = await asyncio.to_thread(knowledge_base, current.deployment)
            async with context.with_filler(filler, delay=settings.filler_after_seconds):
                hits = await asyncio.wait_for(
                    asyncio.to_thread(
                        lookup, current, kb, query, k=settings.top_k, method=settings.method()
                    ),
                    timeout=settings.timeout_seconds,
                )
        except asyncio.TimeoutError:
            current.note(f"knowledge: lookup timed out after {settings.timeout_seconds} s")
            raise ToolError(
                "The knowledge base did not answer in time. Tell the caller you can't check "
                "right now and offer to take a message."
            ) from None
        except Exception as exc:  # store down, embedder misconfigured: the call goes on
            logger.warning("knowledge lookup failed: %s", exc)
            current.note(f"knowledge: lookup failed ({type(exc).__name__}: {exc})")
            raise ToolError(
                "The knowledge base is not available. Tell the caller you can't check right "
                "now and offer to take a message."
            ) from None
        return results_json(hits, settings)

    return search_knowledge


def topic_tool(call: CallContext) -> Any:
    """The ``lookup_topic`` tool: a raw schema whose ``topic`` enum lists every topic.

    Raises TopicsError when the topics cannot be read (the call does not start).
    """
    from livekit.agents import RunContext, ToolError, function_tool

    settings = settings_of(call.config)
    topics = load_topics(settings, call.config.base_dir)
    by_key: dict[str, Topic] = {topic.key: topic for topic in topics}
    listing = "; ".join(f"{t.key} ({t.title})" for t in topics)
    schema = {
        "name": TOPIC_TOOL,
        "description": (
            "The company's information on one topic. Call it before answering a question "
            f"about the company and answer only from what it returns. Topics: {listing}."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "topic": {
                    "type": "string",
                    "enum": list(by_key),
                    "description": "the topic the caller asks about",
                }
            },
            "required": ["topic"],
            "additionalProperties": False,
        },
    }

    @function_tool(raw_schema=schema)
    async def lookup_topic(raw_arguments: dict[str, Any], context: RunContext) -> str:
        current: CallContext = context.userdata
        key = str(raw_arguments.get("topic", "")).strip()
        topic = by_key.get(key) or by_key.get(key.lower())
        record = {"query": key, "method": "topic", "seconds": 0.0, "results": []}
        knowledge_data(current)["lookups"].append(record)
        if topic is None:
            raise ToolError(f"there is no topic {key!r}; choose one of: {', '.join(by_key)}")
        record["results"] = [{"source": topic.source, "section": topic.title, "score": 1.0}]
        return json.dumps(
            {
                "topic": topic.key,
                "title": topic.title,
                "source": topic.source,
                "text": excerpt(topic.text, settings.max_result_chars * 2),
            },
            ensure_ascii=False,
        )

    return lookup_topic


def tools_for(call: CallContext) -> list[Any]:
    """The tools of the configured mode (none in ``prefetch`` mode)."""
    settings = settings_of(call.config)
    if settings.mode == "search":
        return [search_tool(call)]
    if settings.mode == "topics":
        try:
            return [topic_tool(call)]
        except TopicsError as exc:
            from voicekit_core.errors import PluginError

            raise PluginError(f"[plugins.{NAME}] {exc}") from None
    return []
