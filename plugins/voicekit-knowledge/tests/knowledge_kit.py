"""Helpers for the knowledge tests: documents made on the fly (PDF, DOCX), deployments,
and a fake OpenAI-compatible embeddings server for the real ``openai`` SDK."""

from __future__ import annotations

import io
import json
import re
import zlib
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
PROPERTY_DOCS = FIXTURES / "property_docs"
QUESTIONS = FIXTURES / "property_questions.yaml"
EXAMPLE = HERE.parents[2] / "examples" / "property_receptionist"


def config(settings: str = "", *, enable: str = '"knowledge"', extra: str = "") -> str:
    """A deployment enabling the knowledge plugin; ``settings`` go in
    ``[plugins.knowledge]`` (TOML lines)."""
    return (
        '[agent]\nname = "birchwood"\ninstructions = "You are the receptionist."\n\n'
        f'[leads]\nsource = "none"\n\n[plugins]\nenable = [{enable}]\n\n'
        f"[plugins.knowledge]\n{settings}\n{extra}"
    )


def property_files(prefix: str = "docs") -> dict[str, str]:
    """The fixture documents as ``{relative path: text}`` for ``voicekit.write(files=)``."""
    return {f"{prefix}/{p.name}": p.read_text(encoding="utf-8") for p in PROPERTY_DOCS.glob("*.md")}


# -- PDF ---------------------------------------------------------------------------------


def _pdf_string(text: str) -> str:
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def make_pdf(pages: list[list[str]], *, title: str | None = None) -> bytes:
    """A valid PDF with one Helvetica text line per entry of each page (a text layer
    pypdf can read), and an optional ``/Title``."""
    objects: list[bytes] = []
    page_ids = [4 + 2 * i for i in range(len(pages))]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for index, lines in enumerate(pages):
        content_id = page_ids[index] + 1
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {content_id} 0 R >>".encode()
        )
        ops = ["BT", "/F1 11 Tf", "14 TL", "72 740 Td"]
        for line in lines:
            ops.append(f"{_pdf_string(line)} Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        objects.append(f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream")
    info_id = None
    if title:
        objects.append(f"<< /Title {_pdf_string(title)} >>".encode("latin-1"))
        info_id = len(objects)
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    trailer = f"<< /Size {len(objects) + 1} /Root 1 0 R"
    if info_id:
        trailer += f" /Info {info_id} 0 R"
    out.write(f"trailer\n{trailer} >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def make_docx(blocks: list[tuple[str, Any]], *, title: str = "") -> bytes:
    """A .docx from ``("heading1", text)``, ``("p", text)``, ``("table", rows)`` blocks."""
    import docx

    document = docx.Document()
    if title:
        document.core_properties.title = title
    for kind, value in blocks:
        if kind.startswith("heading"):
            document.add_heading(value, level=int(kind[-1]))
        elif kind == "p":
            document.add_paragraph(value)
        elif kind == "table":
            table = document.add_table(rows=len(value), cols=len(value[0]))
            for r, row in enumerate(value):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = cell
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# -- a fake OpenAI-compatible embeddings server ---------------------------------------------

DIM = 256


def bag_of_words(text: str) -> list[float]:
    """A deterministic stand-in for a real embedding: hashed counts of the words that are
    not stop words (their first five letters, a crude stemmer), ``DIM`` long."""
    from voicekit_knowledge.index import STOPWORDS

    vector = [0.0] * DIM
    for word in re.findall(r"\w+", text.lower()):
        if word not in STOPWORDS:
            vector[zlib.crc32(word[:5].encode()) % DIM] += 1.0
    return vector


class FakeEmbeddings:
    """``POST /v1/embeddings`` on a pytest-httpserver, as OpenAI answers it; records each
    request body and whether it carried the bearer key; ``fail_next(status)`` answers the
    next request with an OpenAI error."""

    def __init__(self, httpserver: Any, *, key: str = "sk-test"):
        from werkzeug import Response

        self.httpserver = httpserver
        self.key = key
        self.requests: list[dict[str, Any]] = []
        self.failures: list[int] = []
        self._response = Response

        httpserver.expect_request("/v1/embeddings", method="POST").respond_with_handler(
            self._handle
        )

    @property
    def base_url(self) -> str:
        return self.httpserver.url_for("/v1")

    def fail_next(self, status: int, times: int = 1) -> None:
        self.failures += [status] * times

    def _handle(self, request: Any) -> Any:
        body = json.loads(request.data)
        authorized = request.headers.get("Authorization") == f"Bearer {self.key}"
        self.requests.append({"body": body, "authorized": authorized})
        if not authorized:
            return self._error(401, "Incorrect API key provided", "invalid_api_key")
        if self.failures:
            status = self.failures.pop(0)
            return self._error(status, "The server had an error", "server_error")
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [
            {"object": "embedding", "index": i, "embedding": bag_of_words(text)}
            for i, text in enumerate(inputs)
        ]
        payload = {
            "object": "list",
            "data": data,
            "model": body["model"],
            "usage": {"prompt_tokens": 5 * len(inputs), "total_tokens": 5 * len(inputs)},
        }
        return self._response(json.dumps(payload), status=200, content_type="application/json")

    def _error(self, status: int, message: str, code: str) -> Any:
        payload = {"error": {"message": message, "type": "invalid_request_error", "code": code}}
        return self._response(json.dumps(payload), status=status, content_type="application/json")
