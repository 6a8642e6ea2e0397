"""Markdown with LaTeX, and a self-contained HTML page (no script, no network)."""

from __future__ import annotations

import html

import numpy as np

from backprop.explain.model import Check, Equation, Explanation, Note
from backprop.explain.text import _belongs, _check_value, _fmt


def _tex_num(x: float) -> str:
    s = _fmt(x)
    if "e" in s and "inf" not in s:
        mant, _, exp = s.partition("e")
        return f"{mant}\\times 10^{{{exp}}}"
    return s


def _tex_matrix(m: np.ndarray) -> str:
    m = np.atleast_2d(m)
    if m.size == 1:
        return _tex_num(m.flat[0])
    rows = " \\\\ ".join(" & ".join(_tex_num(x) for x in row) for row in m)
    return f"\\begin{{bmatrix}} {rows} \\end{{bmatrix}}"


def _tex_terms(terms: list) -> str:
    return " ".join(_tex_matrix(t) if isinstance(t, np.ndarray) else t.tex for t in terms)


def _check_md(c: Check) -> str:
    return f"- {'✓' if c.ok else '✗'} {c.what} ({_check_value(c)})"


def render_markdown(ex: Explanation) -> str:
    out = [f"# {ex.title}", ""]
    done: set[int] = set()
    for step in ex.steps:
        tags = f" ({step.tags[0]})–({step.tags[-1]})" if step.tags else ""
        out += [f"## {step.title}{tags}", ""]
        for item in step.items:
            if isinstance(item, Note):
                out += [item.text, ""]
            elif isinstance(item, Equation):
                tag = f" \\tag{{{item.tag}}}" if item.tag else ""
                label = f"({item.tag}) " if item.tag else ""
                if item.tex:
                    out += [f"{label}${item.tex}$", ""]
                if item.terms:
                    out += ["$$", f"{_tex_terms(item.terms)}{tag}", "$$", ""]
                elif item.tag:
                    out += ["$$", f"{item.tex}{tag}", "$$", ""]
        lines = [_check_md(c) for n, c in enumerate(ex.checks)
                 if n not in done and _belongs(c, step)]
        done |= {n for n, c in enumerate(ex.checks) if _belongs(c, step)}
        if lines:
            out += lines + [""]
    rest = [_check_md(c) for n, c in enumerate(ex.checks) if n not in done]
    if rest:
        out += ["## Other checks", ""] + rest + [""]
    out += ["## Where in the code", ""]
    for r in ex.code_refs:
        out.append(f"- {r.label} ({r.role}) `{r.path}:{r.line}`: {r.what} — `{r.code}`")
    out += ["", "The derivation, equation by equation: [docs/math.md](math.md).", ""]
    n_ok = sum(c.ok for c in ex.checks)
    out += [f"**{n_ok} of {len(ex.checks)} checks passed.**", ""]
    return "\n".join(out)


_CSS = """
body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;
color:#1d2330;line-height:1.45}
h1{font-size:1.4rem}h2{font-size:1.15rem;border-bottom:1px solid #ccd;margin-top:2rem}
.eq{margin:.8rem 0}.sym{font-family:'STIX Two Math','Cambria Math','Latin Modern Math',
'Times New Roman',serif;font-size:1.15rem}
.tag{color:#a05a00;font-weight:600;margin-right:.6rem}
.num{display:flex;flex-wrap:wrap;align-items:center;gap:.45rem;margin:.35rem 0 0 2.2rem;
font-family:'STIX Two Math','Cambria Math',serif}
table.mat{border-collapse:separate;border-spacing:.55rem .1rem;position:relative;
border-left:2px solid #444;border-right:2px solid #444;border-radius:4px;
font-family:ui-monospace,monospace;font-size:.9rem}
table.mat td{text-align:right;padding:0}
.checks{list-style:none;padding-left:1rem}.ok{color:#17702f}.bad{color:#b00020;font-weight:600}
code{background:#f2f3f7;padding:0 .2rem}
"""


def _html_terms(terms: list) -> str:
    parts = []
    for t in terms:
        if isinstance(t, np.ndarray) and t.size == 1:
            parts.append(f'<span class="sym">{_fmt(t.flat[0])}</span>')
        elif isinstance(t, np.ndarray):
            rows = "".join(
                "<tr>" + "".join(f"<td>{html.escape(_fmt(x))}</td>" for x in row) + "</tr>"
                for row in np.atleast_2d(t)
            )
            parts.append(f'<table class="mat">{rows}</table>')
        else:
            parts.append(f'<span class="sym">{html.escape(t.text)}</span>')
    return '<div class="num">' + "".join(parts) + "</div>"


def _check_html(c: Check) -> str:
    cls, mark = ("ok", "✓") if c.ok else ("bad", "✗")
    val = html.escape(_check_value(c))
    return f'<li class="{cls}">{mark} {html.escape(c.what)} ({val})</li>'


def render_html(ex: Explanation) -> str:
    body = [f"<h1>{html.escape(ex.title)}</h1>"]
    done: set[int] = set()
    for step in ex.steps:
        tags = f" ({step.tags[0]})–({step.tags[-1]})" if step.tags else ""
        body.append(f"<section><h2>{html.escape(step.title + tags)}</h2>")
        for item in step.items:
            if isinstance(item, Note):
                body.append(f"<p>{html.escape(item.text)}</p>")
            elif isinstance(item, Equation):
                tag = f'<span class="tag">({item.tag})</span>' if item.tag else ""
                body.append(f'<div class="eq">{tag}<span class="sym">{html.escape(item.text)}'
                            "</span>" if item.text else '<div class="eq">')
                if item.terms:
                    body.append(_html_terms(item.terms))
                body.append("</div>")
        lines = [_check_html(c) for n, c in enumerate(ex.checks)
                 if n not in done and _belongs(c, step)]
        done |= {n for n, c in enumerate(ex.checks) if _belongs(c, step)}
        if lines:
            body.append('<ul class="checks">' + "".join(lines) + "</ul>")
        body.append("</section>")
    rest = [_check_html(c) for n, c in enumerate(ex.checks) if n not in done]
    if rest:
        body.append('<section><h2>Other checks</h2><ul class="checks">' + "".join(rest)
                    + "</ul></section>")
    body.append("<section><h2>Where in the code</h2><ul>")
    for r in ex.code_refs:
        label = f"{r.label} ({r.role})"
        body.append(f"<li>{html.escape(label)} <code>{html.escape(r.path)}:{r.line}</code>: "
                    f"{html.escape(r.what)} — <code>{html.escape(r.code)}</code></li>")
    body.append('</ul><p>The derivation, equation by equation: '
                '<a href="docs/math.md">docs/math.md</a>.</p></section>')
    n_ok = sum(c.ok for c in ex.checks)
    cls = "ok" if ex.ok else "bad"
    body.append(f'<p class="{cls}"><strong>{n_ok} of {len(ex.checks)} checks passed.'
                "</strong></p>")
    title = html.escape(ex.title)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{title}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
