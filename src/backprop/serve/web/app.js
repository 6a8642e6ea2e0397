// backprop draw-a-digit page: draw on the canvas, POST it to api/predict, show the answer.
// No dependencies, no network beyond this server.
"use strict";

(function () {
  const pad = document.getElementById("pad");
  const ctx = pad.getContext("2d");
  const seen = document.getElementById("seen");
  const seenCtx = seen.getContext("2d");
  const labelEl = document.getElementById("label");
  const confidenceEl = document.getElementById("confidence");
  const barsEl = document.getElementById("bars");
  const statusEl = document.getElementById("status");
  const infoEl = document.getElementById("model-info");
  const hiddenEl = document.getElementById("hidden-layers");

  const LINE_WIDTH = pad.width / 12; // MNIST strokes are about 1/8 of the digit's height
  const THROTTLE_MS = 120; // at most one prediction per this many ms while drawing
  const MAX_HIDDEN_MAPS = 3;

  let classes = [];
  let layerActivations = [];
  let bars = [];
  let drawing = false;
  let last = null;
  let hasInk = false;
  let timer = null;
  let inFlight = false;
  let pending = false;
  let lastSent = 0;
  let seq = 0;

  // ------------------------------------------------------------------ drawing
  function resetPad() {
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, pad.width, pad.height);
    ctx.strokeStyle = "#fff";
    ctx.fillStyle = "#fff";
    ctx.lineWidth = LINE_WIDTH;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
  }

  function clearAll() {
    seq += 1; // drop answers still on their way
    hasInk = false;
    resetPad();
    showEmpty();
    setStatus("");
  }

  function toCanvas(e) {
    const r = pad.getBoundingClientRect();
    return {
      x: ((e.clientX - r.left) * pad.width) / r.width,
      y: ((e.clientY - r.top) * pad.height) / r.height,
    };
  }

  function dot(p) {
    ctx.beginPath();
    ctx.arc(p.x, p.y, LINE_WIDTH / 2, 0, 2 * Math.PI);
    ctx.fill();
  }

  function segment(a, b) {
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x, b.y);
    ctx.stroke();
  }

  pad.addEventListener("pointerdown", (e) => {
    if (e.pointerType === "mouse" && e.button !== 0) return;
    e.preventDefault();
    pad.setPointerCapture(e.pointerId);
    drawing = true;
    last = toCanvas(e);
    dot(last);
    hasInk = true;
    schedule();
  });

  pad.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
    for (const ev of events.length ? events : [e]) {
      const p = toCanvas(ev);
      segment(last, p);
      last = p;
    }
    schedule();
  });

  function endStroke() {
    if (!drawing) return;
    drawing = false;
    last = null;
    clearTimeout(timer);
    timer = null;
    predictNow();
  }
  pad.addEventListener("pointerup", endStroke);
  pad.addEventListener("pointercancel", endStroke);
  pad.addEventListener("lostpointercapture", endStroke);

  document.getElementById("clear").addEventListener("click", () => {
    clearAll();
    pad.focus();
  });
  document.getElementById("sample").addEventListener("click", () => {
    loadSample(Math.floor(Math.random() * 1000));
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" || (e.target === pad && (e.key === "Delete" || e.key === "Backspace"))) {
      e.preventDefault();
      clearAll();
    }
  });

  // ------------------------------------------------------------------ talking to the server
  function schedule() {
    if (timer !== null) return;
    const wait = Math.max(0, THROTTLE_MS - (performance.now() - lastSent));
    timer = setTimeout(() => {
      timer = null;
      predictNow();
    }, wait);
  }

  async function predictNow() {
    if (!hasInk) return;
    if (inFlight) {
      pending = true;
      return;
    }
    inFlight = true;
    lastSent = performance.now();
    const mine = ++seq;
    try {
      const res = await fetch("api/predict", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ image: pad.toDataURL("image/png"), activations: true }),
      });
      const data = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error(data.error || `the server answered ${res.status}`);
      if (mine === seq && hasInk) {
        showAnswer(data);
        if (!statusEl.dataset.keep) setStatus(`answered in ${Math.round(performance.now() - lastSent)} ms`);
        delete statusEl.dataset.keep;
      }
    } catch (err) {
      if (mine === seq) setStatus(err.message || String(err), true);
    } finally {
      inFlight = false;
      if (pending) {
        pending = false;
        predictNow();
      }
    }
  }

  async function loadSample(index) {
    try {
      const res = await fetch(`api/sample?index=${encodeURIComponent(index)}`);
      const data = await res.json();
      if (!res.ok) throw new Error(data.error || `the server answered ${res.status}`);
      const n = data.pixels.length;
      const small = document.createElement("canvas");
      small.width = n;
      small.height = n;
      const img = small.getContext("2d").createImageData(n, n);
      data.pixels.forEach((row, y) =>
        row.forEach((v, x) => {
          const i = 4 * (y * n + x);
          img.data[i] = img.data[i + 1] = img.data[i + 2] = v;
          img.data[i + 3] = 255;
        })
      );
      small.getContext("2d").putImageData(img, 0, 0);
      clearAll();
      ctx.imageSmoothingEnabled = true;
      ctx.imageSmoothingQuality = "high";
      ctx.drawImage(small, 0, 0, pad.width, pad.height);
      hasInk = true;
      setStatus(`MNIST test digit #${data.index}, labelled ${data.label}`);
      statusEl.dataset.keep = "1";
      predictNow();
    } catch (err) {
      setStatus(err.message || String(err), true);
    }
  }

  // ------------------------------------------------------------------ showing the answer
  function setStatus(text, isError) {
    statusEl.textContent = text;
    statusEl.classList.toggle("error", Boolean(isError));
  }

  function buildBars(names) {
    classes = names;
    barsEl.textContent = "";
    const wide = names.some((c) => c.length > 2);
    bars = names.map((name) => {
      const li = document.createElement("li");
      if (wide) li.classList.add("wide");
      const label = document.createElement("span");
      label.className = "name";
      label.textContent = name;
      label.title = name;
      const track = document.createElement("span");
      track.className = "track";
      track.setAttribute("aria-hidden", "true");
      const fill = document.createElement("span");
      fill.className = "fill";
      track.appendChild(fill);
      const pct = document.createElement("span");
      pct.className = "pct";
      pct.textContent = "–";
      li.append(label, track, pct);
      barsEl.appendChild(li);
      return { li, fill, pct, name };
    });
  }

  function showEmpty() {
    labelEl.textContent = "–";
    confidenceEl.textContent = "draw something";
    bars.forEach((b) => {
      b.fill.style.width = "0%";
      b.pct.textContent = "–";
      b.li.classList.remove("best");
      b.li.removeAttribute("aria-label");
      delete b.li.dataset.probability;
    });
    seenCtx.fillStyle = "#000";
    seenCtx.fillRect(0, 0, seen.width, seen.height);
    hiddenEl.querySelectorAll("canvas").forEach((c) => {
      const g = c.getContext("2d");
      g.fillStyle = "#000";
      g.fillRect(0, 0, c.width, c.height);
    });
  }

  function showAnswer(data) {
    if (!bars.length || data.classes.length !== bars.length) buildBars(data.classes);
    const p = data.probabilities;
    labelEl.textContent = data.label;
    confidenceEl.textContent = `${(100 * p[data.index]).toFixed(1)}% sure`;
    bars.forEach((b, k) => {
      const pct = 100 * p[k];
      b.fill.style.width = `${pct.toFixed(2)}%`;
      b.pct.textContent = pct >= 99.95 ? "100%" : `${pct.toFixed(1)}%`;
      b.li.classList.toggle("best", k === data.index);
      b.li.setAttribute("aria-label", `${b.name}: ${pct.toFixed(1)} percent`);
      b.li.dataset.probability = String(p[k]); // the server's value, for scripts and tests
    });
    drawGrey(seen, seenCtx, data.input);
    if (data.hidden) drawHidden(data.hidden);
  }

  function drawGrey(canvas, g, rows) {
    const h = rows.length;
    const w = rows[0].length;
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    const img = g.createImageData(w, h);
    rows.forEach((row, y) =>
      row.forEach((v, x) => {
        const i = 4 * (y * w + x);
        img.data[i] = img.data[i + 1] = img.data[i + 2] = v;
        img.data[i + 3] = 255;
      })
    );
    g.putImageData(img, 0, 0);
  }

  function drawHidden(layers) {
    const shown = layers.slice(0, MAX_HIDDEN_MAPS);
    if (hiddenEl.children.length !== shown.length) {
      hiddenEl.textContent = "";
      shown.forEach((units, i) => {
        const fig = document.createElement("figure");
        const c = document.createElement("canvas");
        c.className = "hidden-map";
        c.setAttribute("role", "img");
        const cols = Math.max(1, Math.ceil(Math.sqrt(units.length * 2)));
        c.width = cols;
        c.height = Math.ceil(units.length / cols);
        c.setAttribute("aria-label", `Activations of hidden layer ${i + 1}, ${units.length} units`);
        const cap = document.createElement("figcaption");
        fig.append(c, cap);
        hiddenEl.appendChild(fig);
      });
    }
    shown.forEach((units, i) => {
      const fig = hiddenEl.children[i];
      const c = fig.querySelector("canvas");
      const g = c.getContext("2d");
      const img = g.createImageData(c.width, c.height);
      let top = 0;
      let active = 0;
      for (const v of units) {
        top = Math.max(top, Math.abs(v));
        if (v > 0) active += 1;
      }
      top = top || 1;
      units.forEach((v, k) => {
        const t = Math.min(1, Math.abs(v) / top);
        const j = 4 * k;
        if (v >= 0) { // amber for positive activations
          img.data[j] = 255 * t;
          img.data[j + 1] = 170 * t;
          img.data[j + 2] = 30 * t;
        } else { // blue for negative ones (tanh, leaky ReLU)
          img.data[j] = 60 * t;
          img.data[j + 1] = 130 * t;
          img.data[j + 2] = 250 * t;
        }
        img.data[j + 3] = 255;
      });
      for (let k = units.length; k < c.width * c.height; k++) img.data[4 * k + 3] = 0;
      g.putImageData(img, 0, 0);
      const act = layerActivations[i] ? ` (${layerActivations[i]})` : "";
      fig.querySelector("figcaption").textContent =
        `Hidden layer ${i + 1}${act}: ${units.length} units, ${active} active. ` +
        "Brighter = stronger.";
    });
  }

  // ------------------------------------------------------------------ start

  async function start() {
    resetPad();
    showEmpty();
    try {
      const res = await fetch("api/info");
      const info = await res.json();
      if (!res.ok) throw new Error(info.error || `the server answered ${res.status}`);
      layerActivations = info.activations;
      buildBars(info.classes);
      showEmpty();
      const net = `${info.sizes.join("–")} network (${info.activations.join(", ")})`;
      const parts = [
        info.model,
        // an ensemble: the bars are the networks' mean, the hidden layers network 1's
        info.members > 1
          ? `ensemble of ${info.members} networks like a ${net}; hidden layers: network 1`
          : net,
      ];
      if (info.dataset) parts.push(`trained on ${info.dataset}`);
      if (typeof info.test_accuracy === "number") {
        parts.push(`test accuracy ${(100 * info.test_accuracy).toFixed(2)}%`);
      }
      infoEl.textContent = parts.join(" · ");
    } catch (err) {
      infoEl.textContent = "Could not reach the backprop server; is `backprop serve` still running?";
      setStatus(err.message || String(err), true);
      return;
    }
    const demo = new URLSearchParams(window.location.search).get("demo");
    if (demo !== null && /^\d+$/.test(demo)) loadSample(parseInt(demo, 10));
  }

  start();
})();
