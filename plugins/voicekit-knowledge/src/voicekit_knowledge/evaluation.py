"""Retrieval evaluation: hit@1 and hit@3 of a question set against a knowledge base.

A question set is YAML, a list of questions each naming where the answer is::

    - question: When is rent due?
      expect: rent_payment.md              # a source: path or URL ending like this
    - question: Can I have a dog?
      expect: [pets.md, faq.md#Pets]       # any of several; "#Section" narrows to a heading

``voicekit knowledge eval CONFIG QUESTIONS.yaml`` prints the table; the test suite runs
the same code over its fixture documents and the example's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from voicekit_core.errors import InputError, Problem

from .index import Hit, KnowledgeBase


@dataclass
class Question:
    """One question and the sources (``file`` or ``file#Section``) that answer it."""

    question: str
    expect: list[str]


@dataclass
class EvalResult:
    """``hit1`` / ``hit3``: questions whose answer is the first result / among the first
    three; ``misses``: ``(question, sources returned)`` of those not in the first three."""

    method: str
    total: int
    hit1: int = 0
    hit3: int = 0
    misses: list[tuple[str, list[str]]] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.method:<8} hit@1 {self.hit1}/{self.total} ({self.hit1 / self.total:.0%})  "
            f"hit@3 {self.hit3}/{self.total} ({self.hit3 / self.total:.0%})"
        )


def load_questions(path: Path) -> list[Question]:
    """The question set at ``path``. Raises InputError naming the entry and the problem."""
    import yaml

    file = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError([Problem(file, "", "", exc.strerror or str(exc))]) from None
    except yaml.YAMLError as exc:
        raise InputError([Problem(file, "", "", f"not YAML: {exc}")]) from None
    if not isinstance(data, list) or not data:
        raise InputError([Problem(file, "", "", "must be a non-empty list of questions")])
    questions, problems = [], []
    for index, entry in enumerate(data):
        key = f"[{index}]"
        if not isinstance(entry, dict):
            problems.append(Problem(file, key, "", "must be a table with question and expect"))
            continue
        text = entry.get("question") or entry.get("q")
        expect = entry.get("expect")
        if isinstance(expect, str):
            expect = [expect]
        if not isinstance(text, str) or not text.strip():
            problems.append(Problem(file, f"{key}.question", "", "missing"))
        elif not isinstance(expect, list) or not all(isinstance(e, str) and e for e in expect):
            problems.append(Problem(file, f"{key}.expect", str(expect), "a source or a list"))
        else:
            questions.append(Question(text.strip(), expect))
    if problems:
        raise InputError(problems)
    return questions


def is_hit(hit: Hit, expect: list[str]) -> bool:
    """Whether ``hit`` comes from one of the expected sources (and section)."""
    for wanted in expect:
        source, _, section = wanted.partition("#")
        if not (hit.source == source or hit.source.endswith("/" + source.lstrip("/"))):
            continue
        if not section or section.lower() in (hit.heading + "\n" + hit.text).lower():
            return True
    return False


def evaluate(kb: KnowledgeBase, questions: list[Question], *, method: str) -> EvalResult:
    """hit@1 and hit@3 of ``method`` over ``questions``."""
    result = EvalResult(method, len(questions))
    for question in questions:
        hits = kb.search(question.question, k=3, method=method)
        flags = [is_hit(hit, question.expect) for hit in hits]
        if flags[:1] == [True]:
            result.hit1 += 1
        if any(flags):
            result.hit3 += 1
        else:
            result.misses.append((question.question, [hit.source for hit in hits]))
    return result
