"""report.html: the report as one self-contained page, for a browser on an offline network.

It is report.md rendered by markdown-it-py (CommonMark with tables), so the two never disagree,
with every figure inlined as a ``data:`` URI and a small script that makes each table sortable by
a click on its header. Nothing is fetched: no CDN, no font, no image beside the file.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping

from markdown_it import MarkdownIt

#: Sort a table by the clicked column: numerically when every cell of the column reads as a number
#: (the report's "0.8123 [0.80, 0.83]" reads as 0.8123, "78,333 [..]" as 78333), else as text; a
#: second click reverses.
#: ``data-sortable`` marks each table the script has prepared, which the HTML test checks.
SORT_SCRIPT = """
document.addEventListener("DOMContentLoaded", () => {
  const key = (cell) => {
    const text = cell.textContent.trim();
    const plain = text.replace(/(\\d),(?=\\d{3}\\b)/g, "$1");  // 78,333 -> 78333
    const number = parseFloat(plain.replace(/[^0-9eE+\\-.]/g, " ").trim().split(" ")[0]);
    return { text, number };
  };
  for (const table of document.querySelectorAll("table")) {
    const body = table.tBodies[0];
    if (!body) continue;
    table.querySelectorAll("thead th").forEach((th, column) => {
      th.title = "click to sort";
      th.addEventListener("click", () => {
        const rows = Array.from(body.rows);
        const keys = rows.map((row) => key(row.cells[column]));
        const numeric = keys.every((k) => !Number.isNaN(k.number) || k.text === "");
        const order = th.dataset.order === "asc" ? -1 : 1;
        th.dataset.order = order === 1 ? "asc" : "desc";
        const index = rows.map((row, i) => i);
        index.sort((a, b) => order * (numeric
          ? (keys[a].number || 0) - (keys[b].number || 0)
          : keys[a].text.localeCompare(keys[b].text)));
        index.forEach((i) => body.appendChild(rows[i]));
      });
    });
    table.dataset.sortable = "ready";
  }
  document.body.dataset.ready = "true";
});
"""

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.45; color: #1b1b1b; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; }
th { background: #f2f2f2; cursor: pointer; user-select: none; }
th[data-order="asc"]::after { content: " \\25B2"; }
th[data-order="desc"]::after { content: " \\25BC"; }
td { font-variant-numeric: tabular-nums; }
img { max-width: 100%; }
pre { background: #f7f7f7; padding: 0.75rem; overflow-x: auto; font-size: 0.85rem; }
"""


def render_html(markdown: str, images: Mapping[str, bytes], title: str) -> bytes:
    """report.html from report.md's text, its figures inlined from ``images`` ({file name: PNG})."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(markdown)
    for token in tokens:
        for child in token.children or []:
            src = child.attrGet("src") if child.type == "image" else None
            if isinstance(src, str) and src in images:
                child.attrSet("src", "data:image/png;base64," + base64.b64encode(images[src]).decode())
    body = md.renderer.render(tokens, md.options, {})
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n<script>{SORT_SCRIPT}</script>\n"
        f"</head>\n<body>\n{body}</body>\n</html>\n"
    )
    return page.encode()
