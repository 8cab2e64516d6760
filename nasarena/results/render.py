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


def md_table(df: pd.DataFrame) -> str:
    """A GitHub pipe table (pandas' ``to_markdown`` needs ``tabulate``, which is not a dependency)."""
    def cell(v: Any) -> str:
        return fmt(v).replace("|", "\\|").replace("\n", " ")
    head = "| " + " | ".join(str(c) for c in df.columns) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])


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
            out.append(md_table(payload))
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


_CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:0.9em}th,td{border:1px solid #ccc;padding:3px 8px;
text-align:right}th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}
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
            body.append("<table>" + "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                                            for k, v in payload) + "</table>")
        elif kind == "table":
            body.append(payload.map(fmt).to_html(index=False, border=0, escape=True))
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


