"""Benchmark: backprop against PyTorch (CPU), scikit-learn and plain NumPy.

Every (competitor, configuration, round) runs in its own process (NumPy's and
PyTorch's thread pools fight when they share one), competitors interleaved
round by round; the table shows the median seconds per epoch over the rounds,
the ratios, GFLOP/s against the sgemm peak measured in the same run (a 2048³
float32 product, once per round), the child's peak RSS (``os.wait4``) and the
test accuracy after the same epochs.  Writes bench/RESULTS.md.

    python bench/run.py                 # everything (about an hour on 2 cores)
    python bench/run.py --quick         # the three headline configurations
    python bench/run.py --configs 784-800-10/adam/128 --rounds 5 --no-scaling

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from the children's
environment (some machines set them for old OpenBLAS builds; they slow a
current NumPy); the BLAS kernel actually used is recorded in the results.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np
from benchlib import DEFAULT_DATA, gflop_per_epoch

HERE = Path(__file__).resolve().parent
COMPETITORS = ("backprop", "torch", "sklearn", "numpy")
HEADLINE = ["784-800-10/momentum/128", "784-800-10/adam/128", "784-100-10/momentum/128"]
FULL = [f"{s}/{o}/{b}" for s in ("784-800-10", "784-100-10") for o in ("momentum", "adam")
        for b in (64, 128, 256)]
SCALE_N = [10000, 20000, 40000, 60000]
SCALE_H = [100, 400, 800, 1600, 3200]
INFERENCE = "784-800-10/momentum/128"


def child_env(src: Path = HERE.parent / "src") -> dict:
    env = dict(os.environ)
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(name, None)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(src), env.get("PYTHONPATH", "")])
    return env


def export_ref(ref: str) -> Path:
    """backprop's src/ at git revision ``ref``, unpacked into a temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix="backprop-baseline-"))
    archive = subprocess.run(["git", "-C", str(HERE.parent), "archive", ref, "src"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder / "src"


class _Popen(subprocess.Popen):
    """Popen that reaps with os.wait4, keeping the child's own peak RSS."""

    def _try_wait(self, wait_flags):
        pid, status, usage = os.wait4(self.pid, wait_flags)
        if pid:
            self._bench_rss = usage.ru_maxrss / 1024  # KiB on Linux
        return pid, status


def run_child(script: str, argv: list[str], timeout: float = 1800, src: Path | None = None
              ) -> dict:
    """Run one script in its own process; its RESULT dict plus peak RSS in MiB."""
    cmd = [sys.executable, str(HERE / script), *argv]
    env = child_env(src) if src else child_env()
    proc = _Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"error": f"timed out after {timeout} s"}
    rss = getattr(proc, "_bench_rss", None)  # RUSAGE_CHILDREN would be a running maximum
    line = next((ln for ln in out.splitlines() if ln.startswith("RESULT ")), None)
    if proc.returncode or line is None:
        return {"error": (err or out).strip().splitlines()[-1:] or ["no output"]}
    result = json.loads(line[len("RESULT "):])
    if rss is not None:
        result["rss_mib"] = rss
    return result


def machine() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for pkg in ("numpy", "torch", "scikit-learn", "threadpoolctl"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "not installed"
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            **versions}


def available(name: str) -> bool:
    mod = {"torch": "torch", "sklearn": "sklearn"}.get(name)
    if mod is None:
        return True
    try:
        __import__(mod)
        return True
    except ImportError:
        return False


def job_args(config: str, args: argparse.Namespace, n: int = 0, inference: bool = False):
    sizes, opt, batch = config.split("/")
    argv = ["--sizes", sizes, "--optimizer", opt, "--batch", batch,
            "--epochs", str(args.epochs), "--data-dir", args.data_dir]
    if n:
        argv += ["--n", str(n)]
    if args.synthetic:
        argv += ["--synthetic", str(args.synthetic)]
    if inference:
        argv.append("--inference")
    return argv


def linear_fit(x: list[float], y: list[float]) -> dict:
    """Least squares y = a + b·x and R²."""
    b, a = np.polyfit(x, y, 1)
    pred = a + b * np.asarray(x)
    ss_res = float(np.sum((np.asarray(y) - pred) ** 2))
    ss_tot = float(np.sum((np.asarray(y) - np.mean(y)) ** 2)) or 1.0
    return {"intercept": float(a), "slope": float(b), "r2": 1.0 - ss_res / ss_tot}


def fmt(x: float | None, spec: str = ".3f") -> str:
    return "—" if x is None else format(x, spec)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=DEFAULT_DATA)
    p.add_argument("--quick", action="store_true", help="the 3 headline configurations, no scaling")
    p.add_argument("--configs", default=None,
                   help="comma-separated SIZES/OPTIMIZER/BATCH, e.g. 784-800-10/momentum/128")
    p.add_argument("--competitors", default=",".join(COMPETITORS))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=2,
                   help="epochs per run; s/epoch is the median of all but the first")
    p.add_argument("--no-scaling", action="store_true")
    p.add_argument("--scaling-only", action="store_true")
    p.add_argument("--synthetic", type=int, default=0, help="random data (smoke test)")
    p.add_argument("--baseline", metavar="GIT_REF", default=None,
                   help="also run backprop as of this git revision (competitor 'baseline')")
    p.add_argument("--out", default=str(HERE / "RESULTS.md"))
    args = p.parse_args()

    configs = args.configs.split(",") if args.configs else (HEADLINE if args.quick else FULL)
    if args.scaling_only:
        configs = []
    scaling = not (args.quick or args.no_scaling) or args.scaling_only
    wanted = [c for c in args.competitors.split(",") if c]
    competitors = [c for c in wanted if available(c)]
    baseline_src = None
    if args.baseline:
        baseline_src = export_ref(args.baseline)
        competitors.insert(1, "baseline")
    missing = sorted(set(wanted) - set(competitors))
    load_start = os.getloadavg()
    started = dt.datetime.now().astimezone()

    jobs = []  # (key, script, argv)
    for config in configs:
        for comp in competitors:
            argv = job_args(config, args, inference=config == INFERENCE)
            script = "compete_backprop.py" if comp == "baseline" else f"compete_{comp}.py"
            jobs.append(((config, comp), script, argv))
    if scaling:
        for n in SCALE_N:
            key = (f"N={n}", "backprop")
            jobs.append((key, "compete_backprop.py",
                         job_args("784-800-10/momentum/128", args, n=n)))
        for h in SCALE_H:
            key = (f"H={h}", "backprop")
            jobs.append((key, "compete_backprop.py", job_args(f"784-{h}-10/momentum/128", args)))

    results: dict = {}
    peaks: list[float] = []
    for r in range(args.rounds):
        peak = run_child("peak.py", [])
        if "gflops" in peak:
            peaks.append(peak["gflops"])
        print(f"round {r + 1}/{args.rounds}: sgemm peak {peak.get('gflops', 0):.1f} GFLOP/s, "
              f"load {os.getloadavg()[0]:.2f}", flush=True)
        # rotate the order each round so no competitor always runs first
        order = jobs[r % len(jobs):] + jobs[: r % len(jobs)] if jobs else []
        for key, script, argv in order:
            res = run_child(script, argv, src=baseline_src if key[1] == "baseline" else None)
            results.setdefault(key, []).append(res)
            if "error" in res:
                print(f"  {key}: ERROR {res['error']}", flush=True)
            else:
                print(f"  {key[0]:26s} {key[1]:9s} {res['s_per_epoch']:.3f} s/epoch  "
                      f"acc {res['accuracy']:.4f}  rss {res.get('rss_mib', 0):.0f} MiB", flush=True)
    load_end = os.getloadavg()
    peak = statistics.median(peaks) if peaks else None

    def summary(key):
        runs = [x for x in results.get(key, []) if "error" not in x]
        if not runs:
            return None
        s = [x["s_per_epoch"] for x in runs]
        out = {"s": statistics.median(s), "min": min(s), "max": max(s),
               "acc": statistics.median(x["accuracy"] for x in runs),
               "rss": max(x.get("rss_mib", 0) for x in runs), "n": runs[0]["n"],
               "blas": runs[0].get("blas")}
        for k in ("predict_10k_s", "predict_1_s"):
            if k in runs[0]:
                out[k] = statistics.median(x[k] for x in runs)
        return out

    info = machine()
    lines = [
        "# Benchmark results",
        "",
        f"- date: {started:%Y-%m-%d %H:%M %Z}",
        f"- machine: {info['cpu']}, {info['cores']} cores; Python {info['python']}",
        f"- numpy {info['numpy']}, torch {info['torch']}, scikit-learn {info['scikit-learn']}",
        f"- BLAS (backprop's process): {next((s['blas'] for k in results if (s := summary(k)) and s.get('blas')), '?')}",  # noqa: E501
        f"- load average (1/5/15 min): {' / '.join(f'{x:.2f}' for x in load_start)} at the "
        f"start, {' / '.join(f'{x:.2f}' for x in load_end)} at the end",
        f"- sgemm peak (NumPy 2048³ float32, best of 5, median of {len(peaks)} rounds): "
        f"{fmt(peak, '.1f')} GFLOP/s (rounds: {', '.join(f'{x:.1f}' for x in peaks)})",
        f"- {args.rounds} rounds, {args.epochs} epochs per run, s/epoch = median over rounds of "
        "each run's epochs after the first; every run in its own process",
        "- command: `python bench/run.py " + " ".join(sys.argv[1:]) + "`",
    ]
    if args.baseline:
        lines.append(f"- baseline: backprop as of git revision `{args.baseline}`")
    if missing:
        lines.append(f"- not installed, skipped: {', '.join(missing)}")
    lines += ["", "## Training time per epoch", "",
              "| configuration | competitor | s/epoch (min–max) | GFLOP/s | % of sgemm peak "
              "| peak RSS MiB | test acc |",
              "|---|---|---|---|---|---|---|"]
    ratio_lines = ["", "## Ratios (backprop's time ÷ the other's; < 1 means backprop is faster)",
                   "", "Each cell: median ÷ median · median of the per-round ratios (the two "
                   "runs of a round are minutes apart, so a slow spell of the shared machine "
                   "hits both) · fastest ÷ fastest.", "",
                   "| configuration | " + " | ".join(f"÷ {c}" for c in competitors
                                                           if c != "backprop") + " |",
                   "|---|" + "---|" * (len(competitors) - 1)]
    for config in configs:
        sizes = [int(x) for x in config.split("/")[0].split("-")]
        for comp in competitors:
            s = summary((config, comp))
            if s is None:
                lines.append(f"| {config} | {comp} | failed | | | | |")
                continue
            gf = gflop_per_epoch(sizes, s["n"]) / s["s"]
            share = f"{100 * gf / peak:.0f}%" if peak else "—"
            lines.append(f"| {config} | {comp} | {s['s']:.3f} ({s['min']:.3f}–{s['max']:.3f}) "
                         f"| {gf:.1f} | {share} | {s['rss']:.0f} | {s['acc']:.4f} |")
        mine = summary((config, "backprop"))
        cells = []
        for comp in competitors:
            if comp == "backprop":
                continue
            other = summary((config, comp))
            if not (mine and other):
                cells.append("—")
                continue
            pairs = [a["s_per_epoch"] / b["s_per_epoch"]
                     for a, b in zip(results[(config, "backprop")], results[(config, comp)])
                     if "error" not in a and "error" not in b]
            cells.append(f"{mine['s'] / other['s']:.2f} · {statistics.median(pairs):.2f} · "
                         f"{mine['min'] / other['min']:.2f}")
        ratio_lines.append(f"| {config} | " + " | ".join(cells) + " |")
    if configs:
        lines += ratio_lines
    inf = [(c, summary((INFERENCE, c))) for c in competitors]
    if any(s and "predict_10k_s" in s for _, s in inf):
        lines += ["", f"## Inference ({INFERENCE.split('/')[0]}, trained as above)", "",
                  "| competitor | predict 10,000 images, ms | predict 1 image, µs |",
                  "|---|---|---|"]
        for comp, s in inf:
            if s and "predict_10k_s" in s:
                lines.append(f"| {comp} | {1e3 * s['predict_10k_s']:.1f} "
                             f"| {1e6 * s['predict_1_s']:.0f} |")
    if scaling:
        lines += ["", "## Scaling (backprop, momentum, batch 128)", ""]
        for label, values, unit in (("N", SCALE_N, "samples"), ("H", SCALE_H, "hidden units")):
            pts = [(v, summary((f"{label}={v}", "backprop"))) for v in values]
            pts = [(v, s) for v, s in pts if s]
            per = "sample" if label == "N" else "unit"
            lines += [f"| {label} ({unit}) | s/epoch | µs per {per} | GFLOP/s |",
                      "|---|---|---|---|"]
            for v, s in pts:
                sizes = [784, 800 if label == "N" else v, 10]
                gf = gflop_per_epoch(sizes, s["n"]) / s["s"]
                lines.append(f"| {v} | {s['s']:.3f} | {1e6 * s['s'] / v:.2f} | {gf:.1f} |")
            if len(pts) >= 2:
                fit = linear_fit([v for v, _ in pts], [s["s"] for _, s in pts])
                lines += ["", f"Linear fit in {label}: s/epoch = {fit['intercept']:.3f} + "
                          f"{fit['slope']:.3e}·{label}, R² = {fit['r2']:.4f}", ""]
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print()
    print(text)


if __name__ == "__main__":
    main()
