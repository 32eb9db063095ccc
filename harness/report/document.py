"""A page as blocks, rendered by the report package to Markdown and to HTML.

Pages other than the race report (``harness compare``'s side-by-side report) are built
as :class:`Block` values — headings, paragraphs, tables, bullet lists, images — whose
text is a sequence of inline parts (plain text, :class:`Bold`, :class:`Link`). The same
blocks render to ``report.md`` (:func:`to_markdown`) and ``index.html``
(:func:`to_html`, escaped, with the race report's style), so no Markdown is ever parsed
back into HTML.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from harness.report.render import STYLE


@dataclass(frozen=True, slots=True, kw_only=True)
class Bold:
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Link:
    text: str
    href: str


Inline = str | Bold | Link
Text = Sequence[Inline]


@dataclass(frozen=True, slots=True, kw_only=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Paragraph:
    text: Text


@dataclass(frozen=True, slots=True, kw_only=True)
class Table:
    header: Sequence[str]
    rows: Sequence[Sequence[Text]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Bullets:
    items: Sequence[Text]


@dataclass(frozen=True, slots=True, kw_only=True)
class Image:
    src: str
    alt: str


Block = Heading | Paragraph | Table | Bullets | Image


def _md(text: Text) -> str:
    parts = []
    for part in text:
        if isinstance(part, Bold):
            parts.append(f"**{part.text}**")
        elif isinstance(part, Link):
            parts.append(f"[{part.text}]({part.href})")
        else:
            parts.append(part)
    return "".join(parts)


def _html(text: Text) -> str:
    e = html.escape
    parts = []
    for part in text:
        if isinstance(part, Bold):
            parts.append(f"<b>{e(part.text)}</b>")
        elif isinstance(part, Link):
            parts.append(f'<a href="{e(part.href)}">{e(part.text)}</a>')
        else:
            parts.append(e(part))
    return "".join(parts)


def to_markdown(blocks: Sequence[Block]) -> str:
    out: list[str] = []
    for block in blocks:
        match block:
            case Heading(level=level, text=text):
                out += ["#" * level + " " + text, ""]
            case Paragraph(text=text):
                out += [_md(text), ""]
            case Table(header=header, rows=rows):
                out += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
                out += [
                    "| " + " | ".join(_md(c).replace("|", "\\|") for c in row) + " |"
                    for row in rows
                ]
                out.append("")
            case Bullets(items=items):
                out += [f"- {_md(item)}" for item in items] + [""]
            case Image(src=src, alt=alt):
                out += [f"![{alt}]({src})", ""]
    return "\n".join(out)


def to_html(blocks: Sequence[Block], *, title: str) -> str:
    e = html.escape
    body: list[str] = []
    for block in blocks:
        match block:
            case Heading(level=level, text=text):
                body.append(f"<h{level}>{e(text)}</h{level}>")
            case Paragraph(text=text):
                body.append(f"<p>{_html(text)}</p>")
            case Table(header=header, rows=rows):
                head = "".join(f"<th>{e(h)}</th>" for h in header)
                cells = ["".join(f"<td>{_html(c)}</td>" for c in row) for row in rows]
                body.append(
                    f"<table><tr>{head}</tr>{''.join(f'<tr>{c}</tr>' for c in cells)}</table>"
                )
            case Bullets(items=items):
                body.append("<ul>" + "".join(f"<li>{_html(i)}</li>" for i in items) + "</ul>")
            case Image(src=src, alt=alt):
                body.append(f'<img src="{e(src)}" alt="{e(alt)}">')
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{e(title)}</title>"
        f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
