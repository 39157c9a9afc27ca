"""A tiny document model rendered to both Markdown and self-contained HTML.

Why not write Markdown and convert: the HTML must embed its figures (base64) so it can be
mailed to a colleague as one file, and tables need alignment and CI formatting that a
generic converter does not know. Sections hold text, tables, figures and example blocks.
"""

from __future__ import annotations

import base64
import html
import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class Figure:
    path: Path
    caption: str


@dataclass
class Example:
    title: str
    prompt: str
    response: str


@dataclass
class Section:
    title: str
    blocks: list[str | Table | Figure | Example] = field(default_factory=list)

    def add(self, block: str | Table | Figure | Example) -> Section:
        self.blocks.append(block)
        return self


@dataclass
class Document:
    title: str
    sections: list[Section] = field(default_factory=list)

    def section(self, title: str) -> Section:
        s = Section(title)
        self.sections.append(s)
        return s

    # ------------------------------------------------------------------ Markdown
    def to_markdown(self, base: Path) -> str:
        """Markdown with figures linked relative to ``base`` (the report folder)."""
        out = [f"# {self.title}\n"]
        for s in self.sections:
            out.append(f"\n## {s.title}\n")
            for b in s.blocks:
                if isinstance(b, str):
                    out.append(b + "\n")
                elif isinstance(b, Table):
                    if b.caption:
                        out.append(f"*{b.caption}*\n")
                    out.append("| " + " | ".join(b.header) + " |")
                    out.append("|" + "|".join("---" for _ in b.header) + "|")
                    for r in b.rows:
                        out.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
                    out.append("")
                elif isinstance(b, Figure):
                    rel = os.path.relpath(b.path, base)
                    out.append(f"![{b.caption}]({rel})\n\n*{b.caption}*\n")
                else:
                    out.append(f"**{b.title}**\n")
                    out.append("> " + b.prompt.replace("\n", "\n> ") + "\n")
                    out.append("```text\n" + b.response + "\n```\n")
        return "\n".join(out)

    # ------------------------------------------------------------------ HTML
    def to_html(self) -> str:
        """One self-contained HTML file: figures embedded as base64 PNG."""
        e = html.escape
        parts = [
            "<!doctype html><html><head><meta charset='utf-8'>",
            f"<title>{e(self.title)}</title><style>{_CSS}</style></head><body><main>",
            f"<h1>{e(self.title)}</h1>",
        ]
        if len(self.sections) > 2:
            parts.append("<nav><b>Contents</b><ol>" + "".join(
                f"<li><a href='#s{i}'>{e(s.title)}</a></li>" for i, s in enumerate(self.sections)
            ) + "</ol></nav>")
        for i, s in enumerate(self.sections):
            parts.append(f"<section id='s{i}'><h2>{e(s.title)}</h2>")
            for b in s.blocks:
                if isinstance(b, str):
                    parts.append(f"<p>{_inline(b)}</p>")
                elif isinstance(b, Table):
                    cap = f"<caption>{e(b.caption)}</caption>" if b.caption else ""
                    head = "".join(f"<th>{e(h)}</th>" for h in b.header)
                    body = "".join(
                        "<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in b.rows
                    )
                    parts.append(f"<div class='tw'><table>{cap}<thead><tr>{head}</tr></thead>"
                                 f"<tbody>{body}</tbody></table></div>")
                elif isinstance(b, Figure):
                    if b.path.exists():
                        data = base64.b64encode(b.path.read_bytes()).decode()
                        parts.append(f"<figure><img alt='{e(b.caption)}' "
                                     f"src='data:image/png;base64,{data}'>"
                                     f"<figcaption>{e(b.caption)}</figcaption></figure>")
                else:
                    parts.append(f"<div class='ex'><div class='ext'>{e(b.title)}</div>"
                                 f"<div class='exp'>{e(b.prompt)}</div>"
                                 f"<pre>{e(b.response)}</pre></div>")
            parts.append("</section>")
        parts.append("</main></body></html>")
        return "\n".join(parts)


def _inline(text: str) -> str:
    """Escape, then turn **bold** and `code` into tags (the only inline markup we use)."""
    import re

    t = html.escape(text)
    t = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", t)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", t)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1d2330;
background:#f6f7f9;margin:0;line-height:1.5}
main{max-width:1040px;margin:0 auto;padding:24px 32px 64px;background:#fff;
box-shadow:0 0 12px rgba(0,0,0,.06)}
h1{font-size:1.7rem;border-bottom:3px solid #3b6ea5;padding-bottom:.3em}
h2{font-size:1.25rem;margin-top:2em;color:#274b73;border-bottom:1px solid #dde3ea;
padding-bottom:.2em}
nav{background:#f0f4f8;padding:8px 16px;border-radius:6px;font-size:.92rem}
nav ol{margin:.3em 0;columns:2}
.tw{overflow-x:auto}
table{border-collapse:collapse;margin:.8em 0;font-size:.9rem;font-variant-numeric:tabular-nums}
caption{caption-side:top;text-align:left;font-style:italic;color:#555;padding-bottom:.3em}
th,td{border:1px solid #d5dbe3;padding:4px 10px;text-align:right;white-space:nowrap}
th{background:#eef2f7}td:first-child,th:first-child{text-align:left;font-weight:600}
tbody tr:nth-child(even){background:#fafbfc}
figure{margin:1.2em 0;text-align:center}img{max-width:100%;border:1px solid #e3e7ec}
figcaption{font-size:.88rem;color:#555;margin-top:.3em}
code{background:#f0f2f5;padding:1px 4px;border-radius:3px}
.ex{border:1px solid #e0e5eb;border-radius:6px;margin:.8em 0;overflow:hidden}
.ext{background:#eef2f7;padding:4px 10px;font-weight:600;font-size:.88rem}
.exp{padding:6px 10px;color:#444;font-size:.9rem;border-bottom:1px dashed #e0e5eb}
pre{margin:0;padding:8px 10px;white-space:pre-wrap;font-size:.86rem;background:#fcfcfd}
"""
