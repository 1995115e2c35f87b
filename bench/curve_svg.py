#!/usr/bin/env python3
"""Draws the cost curve of bench/curve.sh as a plain SVG (no plotting package): placements on a log x axis; a time
panel (seconds, log y) with converged `ferry reconcile`, `ferry plan` and the per-resource refresh, and a memory panel
(MiB) with the peak RSS of `ferry plan`.

    python3 bench/curve_svg.py RESULTS_DIR/curve.json OUT.svg     # redraw from a saved result
"""

import json
import math
import sys
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 960, 450
FONT = "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\""
TIME_SERIES = [  # key, label, colour, dash, width (plan and reconcile are close: plan wide and pale under reconcile)
    ("refresh_seconds", "per-resource refresh (one GET per file)", "#d62728", "6 4", 2.5),
    ("plan_seconds", "ferry plan", "#6baed6", None, 6),
    ("reconcile_seconds", "ferry reconcile (converged)", "#238b45", None, 2.5),
]
MEMORY_COLOUR = "#9467bd"


def count_label(n: float) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:g}M"
    if n >= 1000:
        return f"{n / 1000:g}k"
    return f"{n:g}"


def seconds_label(s: float) -> str:
    if s >= 1:
        return f"{s:g} s"
    return f"{s * 1000:g} ms"


def log_range(low: float, high: float) -> tuple[float, float]:
    """Whole decades around [low, high]."""
    return 10 ** math.floor(math.log10(low)), 10 ** math.ceil(math.log10(high))


def log_ticks(low: float, high: float, steps=(1, 2, 5)) -> list[float]:
    ticks = []
    decade = low
    while decade <= high * 1.0001:
        for step in steps:
            value = decade * step
            if low * 0.9999 <= value <= high * 1.0001:
                ticks.append(value)
        decade *= 10
    return ticks


def nice_step(span: float, count: int = 5) -> float:
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * power >= raw:
            return m * power
    return 10 * power


class Panel:
    def __init__(self, left, top, width, height, x_range, y_range, y_log):
        self.left, self.top, self.width, self.height = left, top, width, height
        self.x_low, self.x_high = x_range
        self.y_low, self.y_high = y_range
        self.y_log = y_log

    def x(self, value: float) -> float:
        f = (math.log10(value) - math.log10(self.x_low)) / (math.log10(self.x_high) - math.log10(self.x_low))
        return self.left + f * self.width

    def y(self, value: float) -> float:
        if self.y_log:
            f = (math.log10(value) - math.log10(self.y_low)) / (math.log10(self.y_high) - math.log10(self.y_low))
        else:
            f = (value - self.y_low) / (self.y_high - self.y_low)
        return self.top + self.height - f * self.height


def text(x, y, s, size=12, anchor="middle", weight="normal", fill="#222", extra=""):
    return (f'<text x="{x:.1f}" y="{y:.1f}" {FONT} font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}" fill="{fill}"{extra}>{escape(s)}</text>')


def axes(panel: Panel, y_ticks, y_label_of, y_title, title, x_ticks) -> list[str]:
    out = [f'<rect x="{panel.left}" y="{panel.top}" width="{panel.width}" height="{panel.height}" fill="#fafafa" '
           f'stroke="#888" stroke-width="1"/>']
    for value in y_ticks:
        y = panel.y(value)
        major = not panel.y_log or abs(math.log10(value) - round(math.log10(value))) < 1e-9
        out.append(f'<line x1="{panel.left}" y1="{y:.1f}" x2="{panel.left + panel.width}" y2="{y:.1f}" '
                   f'stroke="{"#d0d0d0" if major else "#e8e8e8"}" stroke-width="1"/>')
        out.append(text(panel.left - 6, y + 4, y_label_of(value), size=11, anchor="end"))
    for value in x_ticks:
        x = panel.x(value)
        major = abs(math.log10(value) - round(math.log10(value))) < 1e-9
        out.append(f'<line x1="{x:.1f}" y1="{panel.top}" x2="{x:.1f}" y2="{panel.top + panel.height}" '
                   f'stroke="{"#d0d0d0" if major else "#ececec"}" stroke-width="1"/>')
        majors = sum(1 for t in x_ticks if abs(math.log10(t) - round(math.log10(t))) < 1e-9)
        if major or majors < 2:
            out.append(text(x, panel.top + panel.height + 16, count_label(value), size=11))
    out.append(text(panel.left + panel.width / 2, panel.top + panel.height + 36, "placements (files × endpoints, log scale)",
                    size=12))
    cx, cy = panel.left - 52, panel.top + panel.height / 2
    out.append(text(cx, cy, y_title, size=12, extra=f' transform="rotate(-90 {cx:.1f} {cy:.1f})"'))
    out.append(text(panel.left + panel.width / 2, panel.top - 10, title, size=13, weight="bold"))
    return out


def series(panel: Panel, xs, ys, colour, dash, labels=None, width=2.5) -> list[str]:
    pts = " ".join(f"{panel.x(x):.1f},{panel.y(y):.1f}" for x, y in zip(xs, ys))
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    out = [f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="{width}"{dash_attr}/>']
    for i, (x, y) in enumerate(zip(xs, ys)):
        out.append(f'<circle cx="{panel.x(x):.1f}" cy="{panel.y(y):.1f}" r="{max(4, width / 2 + 1.5)}" fill="{colour}" stroke="#fff" '
                   f'stroke-width="1"/>')
        if labels:
            out.append(text(panel.x(x), panel.y(y) - 9, labels[i], size=11, fill=colour, weight="bold"))
    return out


def render(points: list[dict]) -> str:
    points = sorted(points, key=lambda p: p["placements"])
    xs = [p["placements"] for p in points]
    x_range = (min(xs) / 1.6, max(xs) * 1.6)
    x_ticks = log_ticks(*log_range(*x_range))
    x_ticks = [t for t in x_ticks if x_range[0] <= t <= x_range[1]]

    times = [p[key] for p in points for key, *_ in TIME_SERIES]
    t_range = log_range(min(times), max(times))
    t_panel = Panel(80, 70, 470, 280, x_range, t_range, y_log=True)
    t_steps = (1, 2, 5) if math.log10(t_range[1] / t_range[0]) <= 4 else (1,)

    mem = [p["plan_peak_rss_mib"] for p in points]
    m_step = nice_step(max(mem))
    m_high = m_step * math.ceil(max(mem) * 1.15 / m_step)
    m_panel = Panel(680, 70, 250, 280, x_range, (0, m_high), y_log=False)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
           f'viewBox="0 0 {WIDTH} {HEIGHT}">',
           f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
           text(WIDTH / 2, 26, "Ferry: cost of a pass against the number of placements (3 endpoints, bundled simulator)",
                size=16, weight="bold")]
    out += axes(t_panel, log_ticks(*t_range, steps=t_steps), seconds_label, "wall time (log scale)",
                "Time of one pass (median)", x_ticks)
    for key, _, colour, dash, width in TIME_SERIES:
        out += series(t_panel, xs, [p[key] for p in points], colour, dash, width=width)
    out += axes(m_panel, [m_step * i for i in range(int(round(m_high / m_step)) + 1)], lambda v: f"{v:g}",
                "peak resident memory (MiB)", "Memory of ferry plan (peak RSS)", x_ticks)
    out += series(m_panel, xs, mem, MEMORY_COLOUR, None, labels=[f"{v:.0f}" for v in mem])

    # Legend, one row under the panels.
    legend_y = HEIGHT - 40
    entries = [(label, colour, dash, width) for _, label, colour, dash, width in TIME_SERIES]
    entries.append(("ferry plan peak RSS (right panel)", MEMORY_COLOUR, None, 2.5))
    widths = [len(label) * 6.7 + 46 for label, *_ in entries]
    x = max(8.0, (WIDTH - sum(widths)) / 2)
    for (label, colour, dash, width), w in zip(entries, widths):
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<line x1="{x:.1f}" y1="{legend_y}" x2="{x + 28:.1f}" y2="{legend_y}" stroke="{colour}" '
                   f'stroke-width="{width}"{dash_attr}/>')
        out.append(f'<circle cx="{x + 14:.1f}" cy="{legend_y}" r="4" fill="{colour}"/>')
        out.append(text(x + 34, legend_y + 4, label, size=12, anchor="start"))
        x += w
    out.append(text(WIDTH / 2, HEIGHT - 14, "Setup (the first apply) not shown. Medians of fresh processes; "
                    "the refresh only reads (a lower bound for Terraform).", size=11, fill="#555"))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write(path: str, points: list[dict]) -> None:
    with open(path, "w") as f:
        f.write(render(points))


if __name__ == "__main__":
    write(sys.argv[2], json.load(open(sys.argv[1]))["points"])
