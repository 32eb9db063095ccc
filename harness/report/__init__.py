"""Race reports: violations.json, summary.json, report.md, index.html and PNG plots.

``writer`` assembles the files, ``summary`` builds the run-summary header,
``interleaving`` renders one violation in the note's table style, ``timeline`` draws it
as a picture (PNG and inline SVG), ``ledger`` judges the note's claims, ``plots`` draws
the figures, ``render`` lays out Markdown and HTML, and ``ci`` writes what CI systems
read (JUnit XML, a job summary).
"""

from harness.report.interleaving import Interleaving, interleaving, interleaving_table
from harness.report.ledger import Judgement, LedgerRow, claims_ledger
from harness.report.writer import violations_json, write_report

__all__ = [
    "Interleaving",
    "Judgement",
    "LedgerRow",
    "claims_ledger",
    "interleaving",
    "interleaving_table",
    "violations_json",
    "write_report",
]
