"""``voicekit knowledge ...``: ingest, search, list, remove, eval.

Exit status: 0 done; 2 bad input (a config error, a source that could not be ingested, a
bad question file), after every other source was handled. Document text and page titles
are untrusted: printed escaped (``voicekit_core.render.shown``), never as markup.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console

from voicekit_core.render import shown

from .crawl import is_web

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

config_argument = click.argument("config", type=click.Path(path_type=Path))


def _deployment(config: Path):  # type: ignore[no-untyped-def]
    from voicekit_core.deployment import load_deployment

    from .runtime import settings_of

    deployment = load_deployment(config)
    settings_of(deployment.config)  # the plugin must be enabled
    return deployment


@click.group("knowledge")
def knowledge() -> None:
    """The knowledge base the agent answers from (plugin voicekit-knowledge)."""


@knowledge.command()
@config_argument
@click.argument("targets", nargs=-1)
@click.option(
    "--no-follow",
    is_flag=True,
    help="Read the given URLs only: no sitemap, no links.",
)
@click.option(
    "--prune",
    is_flag=True,
    help="Remove sources of the knowledge base that this run did not see.",
)
def ingest(config: Path, targets: tuple[str, ...], no_follow: bool, prune: bool) -> None:
    """Add files, folders and websites (TARGETS) to the knowledge base of CONFIG.

    Without TARGETS, ingests [plugins.knowledge] sources. Markdown, text, PDF, DOCX and
    HTML files; a URL is crawled on its own site (robots.txt honoured, sitemap and links,
    [plugins.knowledge.crawl] limits). A changed source is replaced, an unchanged one is
    skipped. Each source is written whole or not at all; exit 2 if a named one failed.
    """
    from .ingest import Ingester
    from .runtime import knowledge_base, settings_of

    deployment = _deployment(config)
    settings = settings_of(deployment.config)
    if targets:
        chosen = [t if is_web(t) else str(Path(t).expanduser().resolve()) for t in targets]
    else:
        chosen = list(settings.sources)
        if not chosen:
            raise click.UsageError("no TARGETS given and [plugins.knowledge] sources is empty")
    kb = knowledge_base(deployment, auto=False)
    method = "dense (" + kb.embedder.id + ")" if kb.embedder else "bm25"
    err_console.print(
        f"ingesting {len(chosen)} target(s) into {shown(kb.collection)} "
        f"({shown(kb.store.display_url)}, {method})",
        soft_wrap=True,
    )

    def progress(line: str) -> None:
        err_console.print(shown(line), soft_wrap=True)

    summary = Ingester(kb, settings, base_dir=deployment.config.base_dir, progress=progress).run(
        chosen, follow_links=not no_follow, prune=prune
    )
    sources, chunks = kb.counts()
    console.print(
        f"{shown(summary.line())}; the knowledge base holds {sources} sources, {chunks} chunks"
    )
    for result in summary.warnings:
        err_console.print(f"[yellow]warning:[/] {shown(result.uri)}: {shown(result.detail)}")
    if summary.errors:
        for result in summary.errors:
            err_console.print(f"[bold red]error:[/] {shown(result.uri)}: {shown(result.detail)}")
        sys.exit(2)


@knowledge.command()
@config_argument
@click.argument("query")
@click.option("--top-k", type=click.IntRange(1, 50), default=None, help="Results (default: top_k).")
@click.option(
    "--method",
    type=click.Choice(["auto", "bm25", "dense", "hybrid"]),
    default="auto",
    show_default=True,
    help="auto: as configured (dense with an embedder, else BM25).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def search(config: Path, query: str, top_k: int | None, method: str, as_json: bool) -> None:
    """The chunks of CONFIG's knowledge base that best answer QUERY."""
    from .runtime import knowledge_base, settings_of

    deployment = _deployment(config)
    settings = settings_of(deployment.config)
    chosen = settings.method() if method == "auto" else method
    kb = knowledge_base(deployment, with_embedder=chosen != "bm25")
    if chosen != "bm25" and kb.embedder is None:
        raise click.UsageError(f"--method {chosen} needs [plugins.knowledge.embedder]")
    hits = kb.search(query, k=top_k or settings.top_k, method=chosen)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "rank": h.rank,
                        "score": round(h.score, 4),
                        "source": h.source,
                        "title": h.title,
                        "section": h.heading,
                        "text": h.text,
                    }
                    for h in hits
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    if not hits:
        console.print(f"no results ({chosen})")
    for hit in hits:
        where = f"{hit.source}" + (f" — {hit.heading}" if hit.heading else "")
        console.print(
            f"[bold]{hit.rank}.[/] {shown(hit.title)}  [dim]{shown(where)}  {chosen} {hit.score:.3f}[/]"
        )
        console.print(f"   {shown(' '.join(hit.text.split()), 300)}", soft_wrap=True)
    stale = kb.unembedded_sources() if chosen != "bm25" else []
    if stale:
        err_console.print(
            f"[yellow]warning:[/] {len(stale)} source(s) have no vectors from this embedder "
            "(re-run `voicekit knowledge ingest`)"
        )


@knowledge.command("list")
@config_argument
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_sources(config: Path, as_json: bool) -> None:
    """The sources in CONFIG's knowledge base."""
    from rich.table import Table

    from .runtime import knowledge_base

    kb = knowledge_base(_deployment(config), with_embedder=False)
    rows = kb.sources()
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "source": r.uri,
                        "kind": r.kind,
                        "title": r.title,
                        "chunks": r.chunk_count,
                        "bytes": r.byte_count,
                        "embedder": r.embedder,
                        "ingested_at": r.ingested_at.isoformat(),
                        "sha256": r.content_hash,
                    }
                    for r in rows
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    table = Table()
    for header in ("source", "kind", "title", "chunks", "embedder", "ingested"):
        table.add_column(header, overflow="fold")
    for r in rows:
        table.add_row(
            shown(r.uri),
            r.kind,
            shown(r.title, 60),
            str(r.chunk_count),
            shown(r.embedder or "—"),
            f"{r.ingested_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)
    console.print(f"{len(rows)} sources in {shown(kb.collection)}")


@knowledge.command()
@config_argument
@click.argument("sources", nargs=-1, required=True)
def remove(config: Path, sources: tuple[str, ...]) -> None:
    """Remove SOURCES (as `voicekit knowledge list` shows them) and their chunks."""
    from .runtime import knowledge_base

    kb = knowledge_base(_deployment(config), with_embedder=False)
    missing = [s for s in sources if not kb.remove_source(s)]
    for source in sources:
        if source not in missing:
            console.print(f"removed {shown(source)}")
    if missing:
        for source in missing:
            err_console.print(f"[bold red]error:[/] {shown(source)}: not in the knowledge base")
        sys.exit(2)


@knowledge.command("eval")
@config_argument
@click.argument("questions", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option(
    "--method",
    "methods",
    multiple=True,
    type=click.Choice(["bm25", "dense", "hybrid"]),
    help="Methods to compare (default: bm25, plus dense and hybrid with an embedder).",
)
def eval_command(config: Path, questions: Path, methods: tuple[str, ...]) -> None:
    """hit@1 / hit@3 of QUESTIONS (YAML: question + expected source) per search method."""
    from .evaluation import evaluate, load_questions
    from .runtime import knowledge_base

    asked = load_questions(questions)
    deployment = _deployment(config)
    kb = knowledge_base(deployment, with_embedder=set(methods) != {"bm25"})
    chosen = list(methods) or (["bm25", "dense", "hybrid"] if kb.embedder else ["bm25"])
    for method in chosen:
        if method != "bm25" and kb.embedder is None:
            raise click.UsageError(f"--method {method} needs [plugins.knowledge.embedder]")
        result = evaluate(kb, asked, method=method)
        console.print(shown(result.line()))
        for question, got in result.misses:
            console.print(
                f"   [dim]miss:[/] {shown(question)} -> {shown(', '.join(got) or 'nothing')}"
            )
