"""The tune folder's report.html: one self-contained page, like a training run's report.

The page shows the study's summary (trials by state, the best trial, the
baseline recipe's score, the final test accuracy), Optuna's plots embedded as
``data:`` URIs (so it opens offline, even when moved alone), the trials table,
the search space and ``best.toml``.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from backprop.fileio import atomic_write_text
from backprop.tune.results import BEST_TOML, PLOTS, trial_rows

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
table { border-collapse: collapse; font-size: 0.85rem; }
td, th { border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: right; }
th { background: #f3f3f3; } td.l, th.l { text-align: left; }
tr.best td { background: #e8f5e9; font-weight: bold; }
figure { margin: 1rem 0; } img { max-width: 100%; border: 1px solid #ddd; }
pre { background: #f7f7f7; padding: 0.8rem; overflow-x: auto; font-size: 0.85rem; }
"""


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    name = html.escape(path.name)
    return (
        f'<figure><a href="{name}"><img src="data:image/png;base64,{data}" '
        f'alt="{html.escape(alt)}">'
        f"</a><figcaption>{html.escape(alt)} ({name})</figcaption></figure>"
    )


def _table(rows: list[dict], best_number: int | None) -> str:
    if not rows:
        return "<p>No trials yet.</p>"
    head = "".join(
        f'<th class="{"l" if k in ("state", "note", "host") else ""}">{html.escape(k)}</th>'
        for k in rows[0]
    )
    body = []
    for row in rows:
        cls = ' class="best"' if row["number"] == best_number else ""
        cells = []
        for key, value in row.items():
            text = f"{value:.4g}" if isinstance(value, float) else str(value)
            left = ' class="l"' if key in ("state", "note", "host") else ""
            cells.append(f"<td{left}>{html.escape(text)}</td>")
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _summary(summary: dict) -> str:
    items = "".join(
        f"<tr><th class='l'>{html.escape(k)}</th><td class='l'>{html.escape(str(v))}</td></tr>"
        for k, v in summary.items()
    )
    return f"<table>{items}</table>"


def write_report(study, tune_dir: Path, summary: dict, skipped: dict[str, str]) -> Path:
    """Write ``tune_dir/report.html`` and return its path.

    Parameters
    ----------
    study : optuna.Study
    tune_dir : Path
    summary : dict
        Lines of the summary table (label -> value), in order.
    skipped : dict
        Plots not drawn, with the reason (from ``write_plots``).
    """
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    best_number = study.best_trial.number if complete else None
    figures = []
    titles = {
        "history.png": "Optimisation history: each trial's validation accuracy, the best so far",
        "importances.png": "Parameter importances (fANOVA)",
        "parallel.png": "Parallel coordinates: each line is a trial",
    }
    for name in PLOTS:
        path = tune_dir / name
        if path.is_file():
            figures.append(_img(path, titles[name]))
        else:
            figures.append(f"<p>{html.escape(name)} not drawn: {html.escape(skipped.get(name, ''))}"
                           "</p>")
    space = (tune_dir / "space.toml").read_text(encoding="utf-8")
    best_path = tune_dir / BEST_TOML
    best = best_path.read_text(encoding="utf-8") if best_path.is_file() else "(no best trial yet)"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>backprop tune: {html.escape(tune_dir.name)}</title>
<style>{STYLE}</style></head><body>
<h1>backprop tune: {html.escape(str(tune_dir))}</h1>
{_summary(summary)}
<h2>Plots</h2>
{''.join(figures)}
<h2>Trials</h2>
<p>Validation accuracy is measured on data held out from the training set; the test set is
used once, by the final training of the best recipe.</p>
{_table(trial_rows(study), best_number)}
<h2>Search space (space.toml)</h2>
<pre>{html.escape(space)}</pre>
<h2>best.toml</h2>
<pre>{html.escape(best)}</pre>
</body></html>
"""
    return atomic_write_text(tune_dir / "report.html", page)
