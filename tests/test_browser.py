"""The draw-a-digit page in a real browser: Debian's Chromium, driven by Playwright.

``backprop serve`` runs as a subprocess on a free port with a model trained on the
bundled sample. Strokes are drawn with real mouse and touch input along the
skeletons of MNIST test digits and along a hand-made 1 and 7; the independent
truth is ``backprop predict`` run on the PNG the canvas holds. Screenshots go to
``test-artifacts/browser/``.

Skipped (with the reason) where Chromium or Playwright is missing, except when
``BACKPROP_REQUIRE_BROWSER=1`` (set by ``.ci/run``), where that is a failure.
Playwright never downloads a browser here: it launches /usr/bin/chromium.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "browser"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
TOLERANCE = 1e-4


def _chromium() -> str | None:
    for name in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if name and os.access(name, os.X_OK):
            return name
    return None


def _unavailable() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    if _chromium() is None:
        return "Chromium is not installed (apt-get install chromium)"
    return None


_WHY = _unavailable()
if _WHY is not None:
    if os.environ.get("BACKPROP_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"BACKPROP_REQUIRE_BROWSER=1 but {_WHY}")
    pytest.skip(_WHY, allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402

# --------------------------------------------------------------------------- strokes


def zhang_suen(img: np.ndarray) -> np.ndarray:
    """One-pixel-wide skeleton of a binary image (Zhang & Suen 1984 thinning)."""
    s = np.pad(img.astype(bool), 1)
    changed = True
    while changed:
        changed = False
        for step in (0, 1):
            marked = []
            for y, x in zip(*np.nonzero(s)):
                p = [s[y - 1, x], s[y - 1, x + 1], s[y, x + 1], s[y + 1, x + 1],
                     s[y + 1, x], s[y + 1, x - 1], s[y, x - 1], s[y - 1, x - 1]]
                b = sum(p)
                a = sum((not p[i]) and p[(i + 1) % 8] for i in range(8))
                if step == 0:
                    ok = not (p[0] and p[2] and p[4]) and not (p[2] and p[4] and p[6])
                else:
                    ok = not (p[0] and p[2] and p[6]) and not (p[0] and p[4] and p[6])
                if 2 <= b <= 6 and a == 1 and ok:
                    marked.append((y, x))
            for y, x in marked:
                s[y, x] = False
            changed = changed or bool(marked)
    return s[1:-1, 1:-1]


def skeleton_strokes(digit: np.ndarray, threshold: int = 100) -> list[list[tuple[float, float]]]:
    """Pen strokes (lists of (x, y) in 28x28 pixel units) that trace a digit's skeleton."""
    sk = zhang_suen(digit > threshold)
    left = {(int(y), int(x)) for y, x in zip(*np.nonzero(sk))}

    def neighbours(p):
        y, x = p
        return [(y + dy, x + dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                if (dy or dx) and (y + dy, x + dx) in left]

    strokes = []
    while left:
        ends = [p for p in left if len(neighbours(p)) <= 1]
        p = min(ends or left)
        path = [p]
        left.discard(p)
        while nxt := neighbours(p):
            p = min(nxt, key=lambda q: abs(q[0] - p[0]) + abs(q[1] - p[1]))  # 4-neighbours first
            path.append(p)
            left.discard(p)
        strokes.append([(x + 0.5, y + 0.5) for y, x in path])
    return strokes


# A hand-made 1 (a flag and a stem) and 7 (a bar and a diagonal), in 28x28 units
HAND_ONE = [[(11.0, 8.0), (14.5, 5.0), (14.5, 12.0), (14.5, 18.0), (14.5, 23.0)]]
HAND_SEVEN = [[(7.0, 6.0), (13.0, 6.0), (20.0, 6.0), (17.0, 12.0), (14.0, 18.0), (12.0, 23.0)]]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def server(sample_model):
    """``backprop serve MODEL --port 0`` in a subprocess: (url, model path)."""
    path, _ = sample_model
    proc = subprocess.Popen(
        [sys.executable, "-m", "backprop", "serve", str(path), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        first = proc.stdout.readline()
        if " at http://127.0.0.1:" not in first:
            proc.kill()
            raise RuntimeError(f"backprop serve did not start: {first!r} {proc.stderr.read()}")
        url = first.split(" at ", 1)[1].split()[0]
        yield url, path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        yield b
        b.close()


class Page:
    """A page of the server in a fresh browser context, with its console errors collected."""

    def __init__(self, browser, url: str, **context):
        self.context = browser.new_context(**context)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url)
        self.page.wait_for_function("() => document.querySelectorAll('#bars li').length > 0")

    def close(self):
        self.context.close()
        assert self.errors == [], f"the console showed errors: {self.errors}"

    def box(self):
        return self.page.locator("#pad").bounding_box()

    def to_css(self, pt):
        b = self.box()
        return b["x"] + pt[0] / 28.0 * b["width"], b["y"] + pt[1] / 28.0 * b["height"]

    def draw_mouse(self, strokes):
        mouse = self.page.mouse
        for stroke in strokes:
            mouse.move(*self.to_css(stroke[0]))
            mouse.down()
            for pt in stroke[1:]:
                mouse.move(*self.to_css(pt), steps=3)
            mouse.up()

    def draw_touch(self, strokes):
        """Real touch input through the browser's input pipeline (CDP Input.dispatchTouchEvent)."""
        cdp = self.context.new_cdp_session(self.page)
        for stroke in strokes:
            x, y = self.to_css(stroke[0])
            cdp.send("Input.dispatchTouchEvent",
                     {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
            for pt in stroke[1:]:
                x, y = self.to_css(pt)
                cdp.send("Input.dispatchTouchEvent",
                         {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
            cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        cdp.detach()

    def canvas_png(self, path: Path) -> Path:
        import base64

        url = self.page.evaluate("document.getElementById('pad').toDataURL('image/png')")
        path.write_bytes(base64.b64decode(url.split(",", 1)[1]))
        return path

    def grey(self, selector: str) -> np.ndarray:
        """The red channel of a canvas (the page draws grey levels), as a 2-D uint8 array."""
        w, h, data = self.page.evaluate(
            """sel => { const c = document.querySelector(sel);
                        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height);
                        return [c.width, c.height, Array.from(d.data)]; }""",
            selector,
        )
        return np.array(data, dtype=np.uint8).reshape(h, w, 4)[..., 0]

    def shown(self) -> dict:
        return self.page.evaluate(
            """() => ({
                 label: document.getElementById('label').textContent,
                 confidence: document.getElementById('confidence').textContent,
                 pct: [...document.querySelectorAll('#bars .pct')].map(e => e.textContent),
                 p: [...document.querySelectorAll('#bars li')].map(
                       li => li.dataset.probability === undefined ? null
                             : Number(li.dataset.probability)),
               })"""
        )


def predict_cli(model: Path, png: Path, tmp_path: Path) -> tuple[str, list[float], np.ndarray]:
    """``backprop predict --json --top 10 --show-input``: label, probabilities by class, 28x28."""
    from PIL import Image

    out = subprocess.run(
        [sys.executable, "-m", "backprop", "predict", str(model), str(png), "--json",
         "--top", "10", "--show-input", str(tmp_path)],
        capture_output=True, text=True, check=True,
    )
    entry = json.loads(out.stdout)[0]
    by_label = {t["label"]: t["probability"] for t in entry["top"]}
    probs = [by_label[str(k)] for k in range(10)]
    seen = np.asarray(Image.open(entry["input_png"]).convert("L"))
    return entry["label"], probs, seen


def check_against_predict(pg: Page, model: Path, tmp_path: Path, name: str) -> str:
    """The page's answer and preview equal ``backprop predict`` on the canvas's own PNG."""
    png = pg.canvas_png(tmp_path / f"{name}.png")
    label, probs, seen = predict_cli(model, png, tmp_path)
    pg.page.wait_for_function(
        """([label, probs, tol]) => {
             const lis = [...document.querySelectorAll('#bars li')];
             return document.getElementById('label').textContent === label &&
               lis.length === probs.length &&
               lis.every((li, k) => Math.abs(Number(li.dataset.probability) - probs[k]) <= tol);
           }""",
        arg=[label, probs, TOLERANCE],
        timeout=15_000,
    )
    shown = pg.shown()
    assert shown["label"] == label
    np.testing.assert_allclose(shown["p"], probs, atol=TOLERANCE)
    # the visible text is the page's probability, rounded to 0.1 %
    best = max(shown["p"])
    assert abs(float(shown["confidence"].removesuffix("% sure")) - 100 * best) <= 0.051
    for text, p in zip(shown["pct"], shown["p"]):
        assert abs(float(text.removesuffix("%")) - 100 * p) <= 0.051, (text, p)
    preview = pg.grey("#seen")
    np.testing.assert_array_equal(preview, seen)  # the 28x28 image predict prepared
    ys, xs = np.mgrid[0:28, 0:28]
    mass = preview.astype(float).sum()
    cy, cx = (ys * preview).sum() / mass, (xs * preview).sum() / mass
    assert abs(cy - 14) <= 1.0 and abs(cx - 14) <= 1.0, (cy, cx)  # centred like MNIST
    pg.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    return label


def assert_cleared(pg: Page):
    # a tap's click reaches the page after tap() returns (the browser's gesture detector
    # turns touchend into a click), so wait for the page to clear before reading it
    pg.page.wait_for_function(
        "() => document.getElementById('label').textContent === '–'", timeout=5_000)
    shown = pg.shown()
    assert shown["label"] == "–" and shown["confidence"] == "draw something"
    assert set(shown["pct"]) == {"–"}
    assert pg.grey("#pad").max() == 0, "the drawing pad still has ink"
    assert pg.grey("#seen").max() == 0, "the 28x28 preview still shows a digit"
    for i in range(pg.page.locator("#hidden-layers canvas").count()):
        assert pg.grey(f"#hidden-layers figure:nth-child({i + 1}) canvas").max() == 0


# --------------------------------------------------------------------------- tests


def test_drawn_digits_match_backprop_predict(server, browser, sample_model, tmp_path):
    url, model = server
    _, ds = sample_model
    pg = Page(browser, url, viewport={"width": 1280, "height": 800})
    labels = {}
    for i in (0, 1, 2, 7):  # the skeletons of four test digits, drawn with the mouse
        digit = ds.X_test[i]
        pg.draw_mouse(skeleton_strokes(digit))
        labels[f"test{i}"] = (check_against_predict(pg, model, tmp_path, f"skeleton-{i}"),
                              ds.class_names[int(ds.y_test[i])])
        pg.page.click("#clear")
        assert_cleared(pg)
    for name, strokes in (("hand-1", HAND_ONE), ("hand-7", HAND_SEVEN)):
        pg.draw_mouse(strokes)
        labels[name] = (check_against_predict(pg, model, tmp_path, name), name[-1])
        pg.page.keyboard.press("Escape")
        assert_cleared(pg)
    pg.close()
    # the model (784-32-10, 3 epochs) reads most of them right; say which
    right = sum(got == want for got, want in labels.values())
    assert right >= 4, labels


def test_clear_and_escape_reset_everything_even_mid_answer(server, browser, tmp_path):
    url, _ = server
    pg = Page(browser, url)
    pg.draw_mouse(HAND_SEVEN)
    pg.page.wait_for_function("() => document.getElementById('label').textContent !== '–'")
    assert pg.grey("#hidden-layers canvas").max() > 0
    pg.page.click("#clear")
    assert_cleared(pg)
    pg.draw_mouse(HAND_ONE)
    pg.page.keyboard.press("Escape")  # at once, before the answer can arrive
    pg.page.wait_for_timeout(600)  # any answer still on its way is dropped, not shown
    assert_cleared(pg)
    assert pg.page.evaluate("document.getElementById('status').textContent") == ""
    pg.close()


def test_the_page_works_by_keyboard(server, browser, tmp_path):
    url, model = server
    pg = Page(browser, url)
    page = pg.page
    order = []
    for _ in range(3):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id"))
    assert order == ["pad", "clear", "sample"]
    page.keyboard.press("Enter")  # "Try a test digit"
    page.wait_for_function(
        "() => document.getElementById('status').textContent.startsWith('MNIST test digit')")
    check_against_predict(pg, model, tmp_path, "keyboard-sample")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.id") == "clear"
    page.keyboard.press("Space")
    assert_cleared(pg)
    assert page.evaluate("document.activeElement.id") == "pad"  # Clear hands focus to the pad
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press(" ")  # Space on "Try a test digit"
    page.wait_for_function("() => document.getElementById('label').textContent !== '–'")
    page.focus("#pad")
    page.keyboard.press("Delete")
    assert_cleared(pg)
    label = page.get_by_label("Predicted label")
    assert label.count() == 1
    pg.close()


def test_touch_drawing_on_a_phone_sized_screen(server, browser, tmp_path):
    url, model = server
    pg = Page(browser, url, viewport={"width": 390, "height": 844}, has_touch=True,
              is_mobile=True, device_scale_factor=2)
    page = pg.page
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), \
        "the page scrolls sideways on a phone"
    box = pg.box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["width"] >= 200
    page.evaluate("window.scrollTo(0, 0)")
    before = page.evaluate("window.scrollY")
    pg.draw_touch(HAND_SEVEN)
    assert page.evaluate("window.scrollY") == before, "drawing scrolled the page"
    assert pg.grey("#pad").max() == 255
    check_against_predict(pg, model, tmp_path, "phone-touch-7")
    # the browser's gesture detector takes a touch soon after the drawing's last touchEnd
    # for part of a double tap and sends no click: tap as a finger would, a moment later
    page.wait_for_timeout(600)
    page.locator("#clear").tap()
    assert_cleared(pg)
    pg.close()


def test_the_page_loads_without_console_errors_and_names_the_model(server, browser):
    url, _ = server
    pg = Page(browser, url)
    assert pg.page.title().startswith("backprop")
    info = pg.page.evaluate("document.getElementById('model-info').textContent")
    assert "784–32–10" in info and "mnist-sample" in info
    assert pg.page.locator("#bars li").count() == 10
    pg.close()  # asserts that the console showed no errors (as every test here does)
