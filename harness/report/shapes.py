"""A violation timeline's picture as a list of shapes, written as SVG text and as a PNG.

Matplotlib drew each timeline twice (a PNG for report.md, SVG for index.html): about a
quarter of a CPU-second per picture, and a report shows up to ``top`` per kind (30 by
default) — more than the checks of a 2-million-event history. These pictures need only
rectangles, lines, markers and text in pixel coordinates, so they are laid out once
here and written by hand: SVG elements (no script, nothing external) and a Pillow
image (Pillow comes with matplotlib), both in a few milliseconds.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

FONT_PX = {"small": 10, "normal": 13, "title": 14}


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    colour: str
    alpha: float = 1.0


@dataclass(frozen=True, slots=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    colour: str
    width: float = 1.0
    dotted: bool = False
    alpha: float = 1.0


@dataclass(frozen=True, slots=True)
class Mark:
    """A filled circle (``o``) or a downward triangle (``v``) of ``size`` px across."""

    x: float
    y: float
    size: float
    colour: str
    shape: str = "o"


@dataclass(frozen=True, slots=True)
class Text:
    x: float
    y: float  # the baseline
    text: str
    colour: str = "#333333"
    size: str = "normal"
    anchor: str = "start"  # start, middle, end
    bold: bool = False


Shape = Rect | Line | Mark | Text


@dataclass(slots=True)
class Canvas:
    width: int
    height: int
    shapes: list[Shape] = field(default_factory=list)

    def add(self, shape: Shape) -> None:
        self.shapes.append(shape)

    def svg(self) -> str:
        """Plain SVG elements; text stays text (searchable, selectable)."""
        out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}pt" '
            f'height="{self.height}pt" viewBox="0 0 {self.width} {self.height}" '
            'font-family="DejaVu Sans, Bitstream Vera Sans, Arial, sans-serif">',
            f'<rect x="0" y="0" width="{self.width}" height="{self.height}" fill="#ffffff"/>',
        ]
        for s in self.shapes:
            out.append(_svg(s))
        out.append("</svg>")
        return "\n".join(out)

    def png(self, path: Path) -> None:
        from PIL import Image, ImageDraw

        image = Image.new("RGB", (self.width, self.height), "#ffffff")
        draw = ImageDraw.Draw(image)
        for s in self.shapes:
            _pil(draw, s)
        image.save(path, optimize=False, compress_level=1)


def _f(value: float) -> str:
    return f"{value:.1f}"


def _svg(s: Shape) -> str:
    if isinstance(s, Rect):
        return (
            f'<rect x="{_f(s.x)}" y="{_f(s.y)}" width="{_f(s.w)}" height="{_f(s.h)}" '
            f'fill="{s.colour}" fill-opacity="{s.alpha}"/>'
        )
    if isinstance(s, Line):
        dash = ' stroke-dasharray="2,3"' if s.dotted else ""
        return (
            f'<line x1="{_f(s.x1)}" y1="{_f(s.y1)}" x2="{_f(s.x2)}" y2="{_f(s.y2)}" '
            f'stroke="{s.colour}" stroke-width="{s.width}" stroke-opacity="{s.alpha}"{dash}/>'
        )
    if isinstance(s, Mark):
        if s.shape == "v":
            r = s.size / 2
            points = (
                f"{_f(s.x - r)},{_f(s.y - r)} {_f(s.x + r)},{_f(s.y - r)} {_f(s.x)},{_f(s.y + r)}"
            )
            return f'<polygon points="{points}" fill="{s.colour}"/>'
        return f'<circle cx="{_f(s.x)}" cy="{_f(s.y)}" r="{_f(s.size / 2)}" fill="{s.colour}"/>'
    weight = ' font-weight="bold"' if s.bold else ""
    return (
        f'<text x="{_f(s.x)}" y="{_f(s.y)}" font-size="{FONT_PX[s.size]}" fill="{s.colour}" '
        f'text-anchor="{s.anchor}"{weight}>{html.escape(s.text)}</text>'
    )


def _blend(colour: str, alpha: float) -> tuple[int, int, int]:
    """``colour`` at ``alpha`` over white (the pictures' shapes barely overlap)."""
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    r, g, b = (round(255 - (255 - c) * alpha) for c in rgb)
    return r, g, b


@cache
def _font(size: str, bold: bool) -> Any:
    import matplotlib
    from PIL import ImageFont

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(
        str(Path(matplotlib.get_data_path()) / "fonts/ttf" / name), FONT_PX[size]
    )


def text_width(text: str, size: str = "normal", bold: bool = False) -> float:
    """The width of ``text`` in px (DejaVu Sans, as drawn in the PNG)."""
    return float(_font(size, bold).getlength(text))


def _pil(draw: Any, s: Shape) -> None:
    if isinstance(s, Rect):
        draw.rectangle([s.x, s.y, s.x + s.w, s.y + s.h], fill=_blend(s.colour, s.alpha))
    elif isinstance(s, Line):
        colour, width = _blend(s.colour, s.alpha), max(1, round(s.width))
        if not s.dotted:
            draw.line([s.x1, s.y1, s.x2, s.y2], fill=colour, width=width)
            return
        length = math.hypot(s.x2 - s.x1, s.y2 - s.y1) or 1.0
        dx, dy = (s.x2 - s.x1) / length, (s.y2 - s.y1) / length
        at = 0.0
        while at < length:
            end = min(at + 2, length)
            draw.line(
                [s.x1 + dx * at, s.y1 + dy * at, s.x1 + dx * end, s.y1 + dy * end],
                fill=colour,
                width=width,
            )
            at += 5
    elif isinstance(s, Mark):
        r = s.size / 2
        if s.shape == "v":
            draw.polygon([(s.x - r, s.y - r), (s.x + r, s.y - r), (s.x, s.y + r)], fill=s.colour)
        else:
            draw.ellipse([s.x - r, s.y - r, s.x + r, s.y + r], fill=s.colour)
    else:
        anchor = {"start": "ls", "middle": "ms", "end": "rs"}[s.anchor]
        draw.text((s.x, s.y), s.text, fill=s.colour, font=_font(s.size, s.bold), anchor=anchor)


def nice_ticks(low: float, high: float, most: int = 8) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 times a power of ten) from ``low`` to ``high``."""
    span = max(high - low, 1e-9)
    raw = span / most
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    count = math.floor((high - first) / step + 1e-9) + 1
    return [round(first + n * step, 10) for n in range(max(count, 0))]
