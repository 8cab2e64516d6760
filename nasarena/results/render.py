"""Rendering of the report's blocks to Markdown and to one self-contained HTML page.

The report is built once as a list of ``(kind, payload)`` blocks (headings, paragraphs with
``**bold**``/``*italic*``, key-value lists, DataFrames, bullet lists, tracebacks, figures) and
rendered twice, so the two files always say the same thing. HTML embeds every figure as a base64
PNG and escapes all text (error messages can contain anything).
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


def fmt(value: Any, digits: int = 3) -> str:
    """One table cell as text: "—" for missing, tiny numbers in scientific notation, else ``digits``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if value != 0 and abs(value) < 10 ** -digits:
            return f"{value:.2e}"
        return f"{value:,.{digits}f}"
    return str(value)


_NUMERIC_TEXT = re.compile(r"^[\s\d.,+\-−–—±/\[\]()<>e%]*$")


def column_format(values: pd.Series, digits: int = 3) -> Callable[[Any], str]:
    """One number format for a whole column, so that its cells line up and read alike.

    Integers as integers; floats with ``digits`` decimals, more when the column's smallest nonzero
    magnitude needs them to show two significant digits (up to 6), scientific notation for every
    cell when even that is not enough. Non-numeric columns use :func:`fmt` cell by cell.
    """
    if values.dtype == bool or not pd.api.types.is_numeric_dtype(values):
        return fmt
    if pd.api.types.is_integer_dtype(values):
        return lambda v: fmt(v)
    arr = values.to_numpy(float)
    nonzero = np.abs(arr[np.isfinite(arr) & (arr != 0)])
    decimals = digits
    if nonzero.size:
        need = 1 - math.floor(math.log10(float(nonzero.min())))
        if need > 6:
            return lambda v: fmt(v) if pd.isna(v) else f"{float(v):.2e}"
        decimals = max(digits, need)
    return lambda v: "—" if pd.isna(v) else f"{float(v):,.{decimals}f}"


@dataclass(frozen=True)
class TableParts:
    """A table ready to render: text cells, per-column alignment, and the constant columns."""

    header: list[str]
    cells: list[list[str]]
    align: list[str]                       # "left" (text) or "right" (numbers)
    constants: list[tuple[str, str]]       # (column, value) shared by every row, stated once


def table_parts(df: pd.DataFrame, hoist_constants: bool = True) -> TableParts:
    """Format ``df`` column by column; columns with one value in every row (when there are several
    rows) are taken out and returned as ``constants`` (at least one column always stays)."""
    formats = {c: column_format(df[c]) for c in df.columns}
    text = {c: [formats[c](v) for v in df[c]] for c in df.columns}
    constants: list[tuple[str, str]] = []
    keep = list(df.columns)
    if hoist_constants and len(df) > 1:
        for c in list(df.columns):
            if len(set(text[c])) == 1 and len(keep) > 1:
                constants.append((str(c), text[c][0]))
                keep.remove(c)
    align = ["right" if pd.api.types.is_numeric_dtype(df[c]) and df[c].dtype != bool
             or all(_NUMERIC_TEXT.match(t) for t in text[c]) else "left" for c in keep]
    cells = [[text[c][i] for c in keep] for i in range(len(df))]
    return TableParts([str(c) for c in keep], cells, align, constants)


def constants_line(constants: list[tuple[str, str]]) -> str:
    """The sentence above a table that states its constant columns once."""
    return "All rows: " + "; ".join(f"{k} = {v}" for k, v in constants) + "."


def md_table(df: pd.DataFrame, hoist_constants: bool = False) -> str:
    """A GitHub pipe table (pandas' ``to_markdown`` needs ``tabulate``, which is not a dependency):
    one format per column, text left- and numbers right-aligned; constant columns optionally
    stated once above it."""
    parts = table_parts(df, hoist_constants)

    def cell(v: str) -> str:
        return v.replace("|", "\\|").replace("\n", " ")
    head = "| " + " | ".join(cell(c) for c in parts.header) + " |"
    rule = "|" + "|".join(":---" if a == "left" else "---:" for a in parts.align) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in parts.cells]
    lines = [head, rule, *body]
    if parts.constants:
        lines = [constants_line(parts.constants), "", *lines]
    return "\n".join(lines)


def html_table(df: pd.DataFrame) -> str:
    """An HTML table with the same formatting and constant-column sentence as :func:`md_table`."""
    parts = table_parts(df)
    cls = ["l" if a == "left" else "r" for a in parts.align]
    head = "".join(f'<th class="{c}">{html.escape(h)}</th>' for h, c in zip(parts.header, cls, strict=True))
    # Short text (names) stays on one line; long text (errors, claims) may wrap.
    rows = "".join("<tr>" + "".join(f'<td class="{c}{" w" if len(v) > 32 else ""}">{html.escape(v)}</td>'
                                    for v, c in zip(row, cls, strict=True)) + "</tr>" for row in parts.cells)
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    if parts.constants:
        table = f'<p class="const">{html.escape(constants_line(parts.constants))}</p>' + table
    return table


def render_markdown(blocks: list[tuple[str, Any]]) -> str:
    """``report.md``: pipe tables, figures linked as relative paths (PNG, with the SVG named)."""
    out: list[str] = []
    for kind, payload in blocks:
        if kind in ("h1", "h2", "h3"):
            out.append("#" * int(kind[1]) + " " + payload)
        elif kind in ("p", "md"):
            out.append(payload.rstrip())
        elif kind == "kv":
            out.append("\n".join(f"- **{k}**: {v}" for k, v in payload))
        elif kind == "table":
            out.append(md_table(payload, hoist_constants=True))
        elif kind == "list":
            out.append("\n".join(f"- {item}" for item in payload))
        elif kind == "details":
            out.append("\n\n".join(f"<details><summary>{html.escape(rid)}</summary>\n\n```\n{err}\n```\n"
                                   f"</details>" for rid, err in payload))
        elif kind == "figure":
            name, caption, png, root = payload
            out.append(f"![{caption}]({png.relative_to(root).as_posix()})\n\n*{caption}* "
                       f"(SVG: `{png.with_suffix('.svg').relative_to(root).as_posix()}`)")
    return "\n\n".join(out) + "\n"


def _inline_md(text: str) -> str:
    """Escape for HTML, then render the two inline marks the report uses (**bold**, *italic*)."""
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", text)


_CSS = """body{font-family:system-ui,sans-serif;max-width:1300px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1em;font-size:0.85em}th,td{border:1px solid #ccc;
padding:3px 6px;vertical-align:top}th{background:#f2f2f2}.l{text-align:left}td.l{white-space:nowrap}
td.w{white-space:normal;min-width:14em}
.r{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}table.kv th{text-align:left}
table.kv td{text-align:left}p.const{margin:0.8em 0 0;color:#444;font-size:0.9em}
figure{margin:1.5em 0}img{max-width:100%}figcaption{font-style:italic;color:#444}
pre{background:#f6f6f6;padding:0.5em;overflow-x:auto;font-size:0.85em}"""


def render_html(blocks: list[tuple[str, Any]]) -> str:
    """``report.html``: one file with inline CSS and every figure embedded, nothing fetched."""
    body: list[str] = []
    for kind, payload in blocks:
        if kind in ("h1", "h2", "h3"):
            body.append(f"<{kind}>{html.escape(payload)}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{_inline_md(payload)}</p>")
        elif kind == "md":
            items = [" ".join(ln.strip() for ln in item.splitlines())
                     for item in payload.split("\n* ") if item.strip()]
            items = [i[2:] if i.startswith("* ") else i for i in items]
            body.append("<ul>" + "".join(f"<li>{_inline_md(i)}</li>" for i in items) + "</ul>")
        elif kind == "kv":
            rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in payload)
            body.append(f'<table class="kv">{rows}</table>')
        elif kind == "table":
            body.append(html_table(payload))
        elif kind == "list":
            body.append("<ul>" + "".join(f"<li>{_inline_md(i)}</li>" for i in payload) + "</ul>")
        elif kind == "details":
            body.extend(f"<details><summary>{html.escape(rid)}</summary><pre>{html.escape(err)}</pre></details>"
                        for rid, err in payload)
        elif kind == "figure":
            name, caption, png, _ = payload
            data = base64.b64encode(png.read_bytes()).decode("ascii")
            body.append(f'<figure id="{html.escape(name)}"><img alt="{html.escape(caption)}" '
                        f'src="data:image/png;base64,{data}"><figcaption>{html.escape(caption)}'
                        f"</figcaption></figure>")
    title = "nasarena study report"
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>"
            f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


