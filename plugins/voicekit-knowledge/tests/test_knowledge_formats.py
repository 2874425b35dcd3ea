"""Each format read into sections, chunked on headings; unreadable files are clear errors."""

from __future__ import annotations

import pytest
from knowledge_kit import PROPERTY_DOCS, make_docx, make_pdf
from voicekit_knowledge.chunking import chunk_document, count_tokens
from voicekit_knowledge.documents import SourceError, parse_markdown
from voicekit_knowledge.loaders import load

LONG_PARAGRAPH = " ".join(
    f"Sentence number {i} explains one more detail of the parking rules." for i in range(80)
)


def test_markdown_headings_front_matter_and_code_fences():
    title, sections = parse_markdown(
        "---\ntitle: 'Resident guide'\n---\n"
        "Intro before any heading.\n\n"
        "## Pets\n\nCats welcome.\n\n### Deposit\n\n300 dollars, see [the form](https://x/f).\n\n"
        "```\n# not a heading\n```\n\n"
        "Parking\n-------\n\nOne space each.\n"
    )
    assert title == "Resident guide"
    assert [s.path for s in sections] == [(), ("Pets",), ("Pets", "Deposit"), ("Parking",)]
    assert "the form" in sections[2].text and "https://" not in sections[2].text
    assert "# not a heading" in sections[2].text


def test_text_file_is_one_section_titled_by_its_first_line():
    document = load(b"Birchwood FAQ\n\nRent is due on the first.", uri="faq.txt", kind="text")
    assert document.title == "Birchwood FAQ"
    assert document.sections[0].text.endswith("due on the first.")
    assert len(document.content_hash) == 64


def test_pdf_text_and_headings():
    pdf = make_pdf(
        [
            ["Parking rules", "Each apartment includes one space in the resident lot.", ""],
            ["Guest parking", "Guests may park in visitor spaces for up to 48 hours."],
        ],
        title="Parking guide",
    )
    document = load(pdf, uri="docs/parking.pdf", kind="pdf", stem="parking")
    assert document.title == "Parking guide"
    assert [s.path for s in document.sections] == [("Parking rules",), ("Guest parking",)]
    assert "48 hours" in document.sections[1].text


def test_docx_headings_and_tables():
    data = make_docx(
        [
            ("heading1", "Pet policy"),
            ("p", "Cats and dogs are welcome."),
            ("heading2", "Fees"),
            ("table", [["Pet", "Monthly fee"], ["Dog", "25 dollars"]]),
        ],
    )
    document = load(data, uri="pets.docx", kind="docx", stem="pets")
    assert document.title == "Pet policy"
    assert document.sections[1].path == ("Pet policy", "Fees")
    assert "Dog | 25 dollars" in document.sections[1].text


def test_html_keeps_main_content_and_headings_drops_navigation():
    html = (
        b"<html><head><title>Pets | Birchwood</title></head><body>"
        b"<nav><a href='/'>Home</a><a href='/rent'>Rent</a></nav><main><h1>Pet policy</h1>"
        b"<p>Cats and dogs up to 60 pounds are welcome in every building we manage.</p>"
        b"<h2>Deposit</h2><p>Each pet needs a refundable deposit of 300 dollars at move-in.</p>"
        b"</main><footer>Copyright 2026 Birchwood</footer></body></html>"
    )
    document = load(html, uri="https://example.test/pets", kind="html", stem="pets")
    assert document.title == "Pet policy"  # trafilatura drops the site name
    assert ("Pet policy", "Deposit") in [s.path for s in document.sections]
    text = " ".join(s.text for s in document.sections)
    assert "300 dollars" in text and "Copyright" not in text


@pytest.mark.parametrize(
    ("data", "kind", "reason"),
    [
        (b"", "markdown", "the file is empty"),
        (b"  \n\n ", "text", "the file is empty"),
        (b"%PDF-1.4\n1 0 obj garbage", "pdf", "not a readable PDF"),
        (b"<html>renamed</html>", "pdf", "not a PDF (no %PDF- header)"),
        (b"PK\x03\x04 not really a zip", "docx", "not a readable .docx"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "text", "binary data, not text"),
        (b"<html><body><script>x()</script></body></html>", "html", "no readable text"),
    ],
)
def test_unreadable_sources_are_clear_errors(data, kind, reason):
    with pytest.raises(SourceError) as caught:
        load(data, uri="docs/bad.file", kind=kind)
    assert caught.value.uri == "docs/bad.file"
    assert reason in caught.value.reason
    assert str(caught.value).startswith("docs/bad.file: ")


def test_pdf_without_text_layer_says_so():
    pdf = make_pdf([[]])
    with pytest.raises(SourceError, match="no text layer"):
        load(pdf, uri="scan.pdf", kind="pdf")


def test_chunks_stay_within_size_and_keep_their_heading():
    document = load(
        f"# Parking\n\n## Rules\n\n{LONG_PARAGRAPH}\n\n## Guests\n\nGuests park 48 hours.\n".encode(),
        uri="parking.md",
        kind="markdown",
    )
    chunks = chunk_document(document, max_tokens=300, min_tokens=100)
    assert len(chunks) >= 3
    assert all(chunk.tokens <= 320 for chunk in chunks)  # heading lines may add a few
    assert all(chunk.text.startswith(chunk.heading) for chunk in chunks)
    assert chunks[0].heading == "Parking > Rules"
    assert "Guests park 48 hours." in chunks[-1].text  # the short section joined a neighbour
    assert [c.position for c in chunks] == list(range(len(chunks)))


def test_small_sections_merge_into_chunks_of_the_target_size():
    document = load((PROPERTY_DOCS / "rent_payment.md").read_bytes(), uri="r.md", kind="markdown")
    small = chunk_document(document, max_tokens=120, min_tokens=40)
    whole = chunk_document(document, max_tokens=400, min_tokens=200)
    assert len(whole) == 1 and len(small) == 3
    assert whole[0].tokens == count_tokens(whole[0].text)
    assert all(heading in whole[0].text for heading in ("Late fees", "How to pay"))
