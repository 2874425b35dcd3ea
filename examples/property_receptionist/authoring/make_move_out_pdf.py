"""Writes ``docs/move_out.pdf``, the example's one PDF document (run once, at authoring time).

The PDF is committed; this script only documents how it was made and remakes it after an
edit of the text below::

    python -m venv /tmp/pdf && /tmp/pdf/bin/pip install fpdf2==2.8.9
    /tmp/pdf/bin/python authoring/make_move_out_pdf.py

fpdf2 is not a dependency of voicekit: the knowledge plugin reads the PDF with pypdf.
"""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

TITLE = "Moving out"
SECTIONS = [
    (
        "Giving notice",
        "Give the office written notice at least 60 days before your move-out date, through "
        "the resident portal or by letter to 200 Maple Avenue, Suite 5. A phone call is not "
        "notice. Notice given late means rent is owed for 60 days from the day we receive it. "
        "Leaving before the lease ends costs a lease break fee of two months' rent.",
    ),
    (
        "The move-out inspection",
        "Book a move-out inspection with the office during your last week. You may be there "
        "for it. The inspector compares the apartment with the move-in report and photos, and "
        "notes any damage beyond normal wear and tear.",
    ),
    (
        "Cleaning checklist",
        "Leave the apartment empty and clean: appliances cleaned inside and out, the "
        "refrigerator emptied and left on, floors vacuumed or mopped, bathrooms scrubbed, and "
        "all trash taken to the dumpsters. Do not paint or patch walls yourself; small nail "
        "holes are normal wear.",
    ),
    (
        "Keys, remotes and parking permits",
        "Return every key, mailbox key, garage remote and fob to the office by noon on your "
        "move-out day, in an envelope with your name and unit. Scrape off your parking permit. "
        "Missing keys cost $25 each and a lock change $75.",
    ),
    (
        "Your security deposit",
        "We return the security deposit within 30 days after you move out, minus unpaid rent "
        "and the cost of repairing damage beyond normal wear, with an itemized list. Give us a "
        "forwarding address in writing: the deposit is mailed there as a check, or paid by "
        "bank transfer if you ask for it in the portal.",
    ),
    (
        "Utilities and mail",
        "Transfer or close electricity and internet accounts in your name as of the move-out "
        "date, and file a change of address with the post office.",
    ),
]


def build(target: Path) -> None:
    pdf = FPDF(format="letter")
    pdf.set_title("Maple Property Management - Moving out")
    pdf.set_author("Maple Property Management (fictional)")
    pdf.set_creation_date(__import__("datetime").datetime(2025, 1, 1))  # a stable file
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 12, TITLE, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(0, 6, "Maple Property Management - resident guide", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    for heading, text in SECTIONS:
        pdf.set_font("Helvetica", "B", 13)
        pdf.cell(0, 9, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    pdf.output(str(target))


if __name__ == "__main__":
    build(Path(__file__).resolve().parents[1] / "docs" / "move_out.pdf")
