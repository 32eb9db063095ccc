"""The side-by-side report of ``harness compare``: one set of blocks, rendered by the
report package to Markdown and to escaped HTML (no Markdown parsed back into HTML)."""

from __future__ import annotations

from pathlib import Path

from harness.compare import Comparison, write_compare_report
from harness.report.document import Bold, Bullets, Heading, Link, Table, to_html, to_markdown
from harness.run import RunResult


def comparison(folder: Path) -> Comparison:
    naive = RunResult(run_dir=folder / "naive-chaos", report=None, counts={"lost": 2})
    safe = RunResult(run_dir=folder / "safe-chaos", report=None, error="<script>x</script>")
    return Comparison(
        folder=folder,
        results={("chaos", "naive"): naive, ("chaos", "safe"): safe},
        profiles=("chaos",),
        interrupted=False,
    )


def test_both_renderings_come_from_the_same_blocks(tmp_path: Path) -> None:
    write_compare_report(comparison(tmp_path))
    markdown = (tmp_path / "report.md").read_text()
    page = (tmp_path / "index.html").read_text()
    assert "| chaos | **UNKNOWN** (lost 2) | **UNKNOWN** |" in markdown
    assert "<td>chaos</td><td><b>UNKNOWN</b> (lost 2)</td><td><b>UNKNOWN</b></td>" in page
    assert '<a href="naive-chaos/index.html">naive under chaos</a>' in page
    assert "[naive under chaos](naive-chaos/index.html)" in markdown
    assert "&lt;script&gt;x&lt;/script&gt;" in page  # escaped, never markup
    assert "<script>" not in page
    assert "**" not in page


def test_blocks_render_pipes_in_markdown_cells_and_escape_html() -> None:
    blocks = [
        Heading(level=2, text="A & B"),
        Table(header=["a"], rows=[[["x | y"]]]),
        Bullets(items=[[Bold(text="b"), " and ", Link(text="l", href="r.html?a=1&b=2")]]),
    ]
    assert (
        to_markdown(blocks)
        == "## A & B\n\n| a |\n|---|\n| x \\| y |\n\n- **b** and [l](r.html?a=1&b=2)\n"
    )
    page = to_html(blocks, title="t")
    assert "<h2>A &amp; B</h2>" in page
    assert '<li><b>b</b> and <a href="r.html?a=1&amp;b=2">l</a></li>' in page
