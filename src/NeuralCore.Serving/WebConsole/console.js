// NeuralCore web console: plain JavaScript, no build step. Talks to the host's JSON routes with the API key kept in
// sessionStorage and sent as X-API-Key. Everything shown is built with DOM calls (textContent), never as HTML text.
"use strict";

(() => {
  const KEY_STORAGE = "neuralcore.apiKey";
  const SVG_NS = "http://www.w3.org/2000/svg";
  const COLORS = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2"];
  const $ = (id) => document.getElementById(id);

  let caller = null;          // { subject, scopes }
  let livePoll = null;        // interval id while the live page shows
  let models = [];            // from /v1/models

  // ------------------------------------------------------------------ helpers

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "text") node.textContent = v;
      else if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v; else node.setAttribute(k, String(v));
    }
    for (const c of children) if (c) node.append(c);
    return node;
  }

  class ApiError extends Error {
    constructor(status, title, detail) {
      super(detail || title || `HTTP ${status}`);
      this.status = status;
      this.title = title;
    }
  }

  async function api(path, options = {}, key = sessionStorage.getItem(KEY_STORAGE)) {
    const headers = Object.assign({}, options.headers || {});
    // API keys (nck_...) go in X-API-Key; anything else is taken for a JWT and sent as a bearer token.
    if (key && key.startsWith("nck_")) headers["X-API-Key"] = key;
    else if (key) headers["Authorization"] = "Bearer " + key;
    let body = options.body;
    if (body !== undefined && !(body instanceof Blob) && typeof body !== "string") {
      body = JSON.stringify(body);
      headers["Content-Type"] = "application/json";
    }
    const response = await fetch(path, { method: options.method || "GET", headers, body, cache: "no-store" });
    const text = await response.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = null; }
    if (!response.ok) throw new ApiError(response.status, json && json.title, json && json.detail);
    return json;
  }

  function showStatus(message, isError) {
    const status = $("status");
    status.textContent = message;
    status.className = "status" + (isError ? " error" : "");
    status.hidden = !message;
  }

  function fail(error) {
    if (error instanceof ApiError && error.status === 401) {
      signOut("Your key was refused: " + error.message);
      return;
    }
    showStatus(error.message, true);
  }

  const number = (v, digits = 4) => typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toPrecision(digits)) : String(v);
  const flops = (v) => {
    const units = ["FLOP", "kFLOP", "MFLOP", "GFLOP", "TFLOP", "PFLOP"];
    let u = 0;
    while (Math.abs(v) >= 1000 && u < units.length - 1) { v /= 1000; u++; }
    return u === 0 ? `${Math.round(v)} FLOP` : `${v.toFixed(2)} ${units[u]}`;
  };
  const date = (iso) => new Date(iso).toISOString().replace("T", " ").slice(0, 19) + " UTC";

  function holds(verb, model) {
    return !!caller && caller.scopes.some((s) => s === verb || s === verb + ":*" || s === verb + ":" + model);
  }

  // ------------------------------------------------------------------ charts (inline SVG)

  // series: [{ name, values: [y or null per x] }]; xs: the x values. Draws axes with ticks, lines and a legend.
  function lineChart(series, xs, options = {}) {
    const width = 640, height = options.height || 220;
    const left = 56, right = 16, top = 28, bottom = 34;
    const finite = series.flatMap((s) => s.values.filter((v) => typeof v === "number" && Number.isFinite(v)));
    const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "line-chart", role: "img", "aria-label": options.label || "chart" });
    if (finite.length === 0 || xs.length === 0) {
      root.append(svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "axis-label", text: options.empty || "No data" }));
      return root;
    }
    let lo = options.min !== undefined ? Math.min(options.min, ...finite) : Math.min(...finite);
    let hi = Math.max(...finite);
    if (hi === lo) { hi = lo + (Math.abs(lo) || 1); if (options.min === undefined) lo -= (hi - lo) / 2; }
    const x0 = xs[0], x1 = xs[xs.length - 1] === x0 ? x0 + 1 : xs[xs.length - 1];
    const px = (x) => left + ((x - x0) / (x1 - x0)) * (width - left - right);
    const py = (y) => top + (1 - (y - lo) / (hi - lo)) * (height - top - bottom);
    for (let i = 0; i <= 4; i++) {
      const y = lo + ((hi - lo) * i) / 4;
      root.append(svg("line", { x1: left, x2: width - right, y1: py(y), y2: py(y), class: "grid" }));
      root.append(svg("text", { x: left - 6, y: py(y) + 4, "text-anchor": "end", class: "tick", text: number(y, 3) }));
    }
    const xTicks = Math.min(xs.length, options.xTicks || 6);
    for (let i = 0; i < xTicks; i++) {
      const x = xs[Math.round((i * (xs.length - 1)) / Math.max(1, xTicks - 1))];
      root.append(svg("text", { x: px(x), y: height - bottom + 16, "text-anchor": "middle", class: "tick", text: options.xFormat ? options.xFormat(x) : String(x) }));
    }
    if (options.xLabel) root.append(svg("text", { x: (left + width - right) / 2, y: height - 2, "text-anchor": "middle", class: "axis-label", text: options.xLabel }));
    root.append(svg("line", { x1: left, x2: left, y1: top, y2: height - bottom, class: "axis" }));
    root.append(svg("line", { x1: left, x2: width - right, y1: height - bottom, y2: height - bottom, class: "axis" }));
    series.forEach((s, k) => {
      const color = COLORS[k % COLORS.length];
      let d = "", pen = false;
      s.values.forEach((v, i) => {
        if (typeof v !== "number" || !Number.isFinite(v)) { pen = false; return; }
        d += (pen ? "L" : "M") + px(xs[i]).toFixed(1) + "," + py(v).toFixed(1);
        pen = true;
      });
      if (d) root.append(svg("path", { d, class: "series", stroke: color, "data-series": s.name }));
      // Dots on every point (when asked), and always on a point with no neighbour to draw a line to.
      const has = (i) => typeof s.values[i] === "number" && Number.isFinite(s.values[i]);
      s.values.forEach((v, i) => {
        if (has(i) && (options.dots !== false || (!has(i - 1) && !has(i + 1))))
          root.append(svg("circle", { cx: px(xs[i]), cy: py(v), r: 2.5, fill: color }));
      });
      root.append(svg("rect", { x: left + k * 130, y: 4, width: 10, height: 10, fill: color }));
      root.append(svg("text", { x: left + 14 + k * 130, y: 13, class: "legend", text: s.name }));
    });
    return root;
  }

  // ------------------------------------------------------------------ sign-in

  async function signIn(key) {
    const who = await api("/v1/caller", {}, key);
    sessionStorage.setItem(KEY_STORAGE, key);
    caller = who;
    return who;
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY_STORAGE);
    caller = null;
    stopLive();
    if (location.hash !== "#/signin") location.hash = "#/signin";
    render();
    const error = $("signin-error");
    error.textContent = message || "";
    error.hidden = !message;
  }

  $("signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("signin-error");
    error.hidden = true;
    const key = $("signin-key").value.trim();
    try {
      await signIn(key);
      $("signin-key").value = "";
      location.hash = "#/models";
    } catch (e) {
      sessionStorage.removeItem(KEY_STORAGE);
      error.textContent = e instanceof ApiError && e.status === 401 ? "Sign-in refused: " + e.message : "Sign-in failed: " + e.message;
      error.hidden = false;
    }
  });

  $("sign-out").addEventListener("click", () => signOut(""));

  // ------------------------------------------------------------------ models

  async function loadModels() {
    models = (await api("/v1/models")).models;
    const list = $("model-list");
    list.replaceChildren(...models.map((m) => el("li", {},
      el("a", { href: "#/models/" + encodeURIComponent(m.name), "data-model": m.name, text: m.name }),
      el("span", { class: "muted small", text: ` ${m.version_count} version${m.version_count === 1 ? "" : "s"}` }))));
    $("model-list-empty").hidden = models.length > 0;
    return models;
  }

  async function showModel(name, selectedVersion) {
    const detail = $("model-detail");
    const data = await api("/v1/models/" + encodeURIComponent(name));
    const model = data.model, versions = data.versions;
    for (const a of $("model-list").querySelectorAll("a")) a.classList.toggle("active", a.dataset.model === name);
    const selected = versions.find((v) => v.version === selectedVersion)
      || versions.find((v) => v.version === model.latest_version) || versions[versions.length - 1];

    const aliases = versions.flatMap((v) => v.aliases.map((a) => ({ alias: a, version: v.version })));
    const header = el("div", { class: "card" },
      el("h2", { id: "model-name", text: model.name }),
      el("p", { class: "muted", text: (model.description || "No description.") + ` Created ${date(model.created_utc)}; latest version ${model.latest_version ?? "none"}.` }));

    const rows = versions.map((v) => el("tr", { class: v.version === selected.version ? "selected" : "", "data-version": v.version },
      el("td", {}, el("a", { href: `#/models/${encodeURIComponent(name)}/${v.version}`, text: "v" + v.version })),
      el("td", { text: date(v.created_utc) }),
      el("td", {}, ...v.aliases.map((a) => el("span", { class: "pill alias", text: a }))),
      el("td", {}, ...Object.entries(v.tags).map(([k, t]) => el("span", { class: "pill", text: `${k}=${t}` }))),
      el("td", { text: Object.entries(v.metrics).map(([k, m]) => `${k} ${number(m)}`).join(", ") }),
      el("td", { text: v.archived ? "archived" : "" })));
    const table = el("div", { class: "card" }, el("h3", { text: "Versions" }),
      el("table", { id: "versions" },
        el("thead", {}, el("tr", {}, ...["Version", "Registered", "Aliases", "Tags", "Metrics", ""].map((h) => el("th", { text: h })))),
        el("tbody", {}, ...rows)));

    // Alias moves: shown to everyone, usable only with the manage scope (the server checks it again).
    const canManage = holds("manage", name);
    const aliasInput = el("input", { id: "alias-name", list: "alias-names", placeholder: "production", disabled: !canManage, spellcheck: "false" });
    const versionSelect = el("select", { id: "alias-version", disabled: !canManage },
      ...versions.filter((v) => !v.archived).map((v) => el("option", { value: v.version, text: "v" + v.version, selected: v.version === selected.version })));
    const moveButton = el("button", { id: "alias-move", type: "submit", disabled: !canManage, text: "Move alias" });
    const aliasForm = el("form", { id: "alias-form", class: "row" },
      el("label", { for: "alias-name", text: "Alias" }), aliasInput,
      el("datalist", { id: "alias-names" }, ...aliases.map((a) => el("option", { value: a.alias }))),
      el("label", { for: "alias-version", text: "to" }), versionSelect, moveButton);
    aliasForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const alias = aliasInput.value.trim();
      if (!alias) return;
      try {
        await api(`/v1/models/${encodeURIComponent(name)}/aliases/${encodeURIComponent(alias)}`, { method: "PUT", body: { version: Number(versionSelect.value) } });
        showStatus(`Moved '${alias}' to version ${versionSelect.value}.`, false);
        await showModel(name, selected.version);
      } catch (e) { fail(e); }
    });
    const aliasCard = el("div", { class: "card", id: "aliases" }, el("h3", { text: "Aliases" }),
      el("ul", { class: "list inline" }, ...(aliases.length ? aliases.map((a) => el("li", { "data-alias": a.alias },
        el("span", { class: "pill alias", text: a.alias }), ` → v${a.version}`)) : [el("li", { class: "muted", text: "No aliases." })])),
      aliasForm,
      canManage ? null : el("p", { id: "alias-locked", class: "muted small", text: `Moving aliases needs the scope manage:${name} (or manage); this key has ${caller.scopes.join(", ") || "none"}.` }));

    // The selected version: metrics, parameters and training curves stored in the registry.
    const metricsTable = el("table", { class: "kv" }, el("tbody", {},
      ...Object.entries(selected.metrics).map(([k, v]) => el("tr", {}, el("th", { text: k }), el("td", { text: number(v, 6) })))));
    const paramsTable = el("table", { class: "kv" }, el("tbody", {},
      ...Object.entries(selected.parameters).map(([k, v]) => el("tr", {}, el("th", { text: k }), el("td", { text: v })))));
    const curvesBox = el("div", { id: "curves" }, el("p", { class: "muted", text: "Loading training curves…" }));
    // Energy: what training this version cost (recorded with it) and what this host's requests for the model cost.
    const tc = selected.training_cost;
    const trainingEnergy = el("p", { id: "training-energy" }, tc
      ? `Training: ${flops(tc.flops)}, ${number(tc.energy_joules, 4)} J (${number(tc.energy_kwh, 3)} kWh), ${number(tc.co2e_grams, 3)} g CO2e — ${tc.method}`
      : "Training: no energy recorded for this version.");
    const servingEnergy = el("p", { id: "serving-energy", class: "muted" }, "Loading energy per request…");
    const versionCard = el("div", { class: "card" },
      el("h3", { text: `Version ${selected.version}` + (selected.description ? ` — ${selected.description}` : "") }),
      el("p", { class: "muted small", text: `sha256 ${selected.sha256.slice(0, 16)}…, ${selected.size_bytes.toLocaleString("en")} bytes` +
        (selected.dataset ? `, data set ${selected.dataset}` : "") + (selected.parent_version ? `, derived from v${selected.parent_version}` : "") +
        `, input ${selected.inputs.map((t) => `${t.name} [${t.shape.join(", ")}]`).join(", ")}` }),
      el("div", { class: "columns" },
        el("div", {}, el("h4", { text: "Metrics" }), Object.keys(selected.metrics).length ? metricsTable : el("p", { class: "muted", text: "None recorded." })),
        el("div", {}, el("h4", { text: "Parameters" }), Object.keys(selected.parameters).length ? paramsTable : el("p", { class: "muted", text: "None recorded." }))),
      el("h4", { text: "Energy" }), trainingEnergy, servingEnergy,
      el("h4", { text: "Training curves" }), curvesBox);

    detail.replaceChildren(header, table, aliasCard, versionCard);
    const served = await api(`/v1/models/${encodeURIComponent(name)}/energy`);
    servingEnergy.textContent = served.requests
      ? `Serving (this host, ${served.requests} requests): ${flops(served.flops_per_request)} and ${number(served.joules_per_request, 3)} J per request, ` +
        `${number(served.co2e_grams_per_request, 3)} g CO2e — ${served.method}`
      : "Serving: no requests measured on this host yet.";
    const curves = (await api(`/v1/models/${encodeURIComponent(name)}/versions/${selected.version}/curves`)).curves;
    drawCurves(curvesBox, curves);
  }

  // One chart per quantity: "loss" with "val_loss", "accuracy" with "val_accuracy"...
  function drawCurves(box, curves) {
    const groups = new Map();
    for (const [key, values] of Object.entries(curves)) {
      const base = key.startsWith("val_") ? key.slice(4) : key;
      if (!groups.has(base)) groups.set(base, []);
      groups.get(base).push({ name: key, values: values.map((v) => typeof v === "number" ? v : Number(v)) });
    }
    if (groups.size === 0) {
      box.replaceChildren(el("p", { class: "muted", text: "No training curves stored for this version (registered without a training history)." }));
      return;
    }
    box.replaceChildren(...[...groups].map(([base, series]) => {
      const epochs = Array.from({ length: Math.max(...series.map((s) => s.values.length)) }, (_, i) => i + 1);
      return el("figure", { class: "chart", "data-curve": base },
        lineChart(series, epochs, { xLabel: "epoch", label: base, xTicks: Math.min(epochs.length, 10) }),
        el("figcaption", { text: base }));
    }));
  }

  // ------------------------------------------------------------------ live traffic

  async function refreshLive() {
    const stats = await api("/v1/stats");
    const r = stats.recent;
    $("live-rate").textContent = r.requests_per_second.toFixed(1);
    $("live-p50").textContent = r.p50_ms === null ? "–" : number(r.p50_ms, 3);
    $("live-p99").textContent = r.p99_ms === null ? "–" : number(r.p99_ms, 3);
    $("live-errors").textContent = String(r.errors);
    $("live-total").textContent = String(stats.total_requests);
    const xs = stats.series.map((p) => p.t - stats.now);
    const format = (x) => (x === 0 ? "now" : x + " s");
    $("live-rate-chart").replaceChildren(lineChart(
      [{ name: "requests", values: stats.series.map((p) => p.requests) }, { name: "non-2xx", values: stats.series.map((p) => p.errors) }],
      xs, { min: 0, xFormat: format, label: "requests per second", dots: false, height: 180 }));
    $("live-latency-chart").replaceChildren(lineChart(
      [{ name: "p50", values: stats.series.map((p) => p.p50_ms) }, { name: "p99", values: stats.series.map((p) => p.p99_ms) }],
      xs, { min: 0, xFormat: format, label: "latency", height: 180, empty: "No inference requests in the last 60 s" }));
  }

  function startLive() {
    stopLive();
    const tick = () => refreshLive().catch((e) => { stopLive(); fail(e); });
    tick();
    livePoll = setInterval(tick, 2000);
  }

  function stopLive() {
    if (livePoll !== null) clearInterval(livePoll);
    livePoll = null;
  }

  // ------------------------------------------------------------------ try it

  const pad = $("try-pad");
  const padContext = pad.getContext("2d");
  let drawing = false, dirty = false, dropped = null;

  function clearPad() {
    padContext.fillStyle = "#000";
    padContext.fillRect(0, 0, pad.width, pad.height);
    dirty = false;
    dropped = null;
  }

  function padPoint(event) {
    const box = pad.getBoundingClientRect();
    return [((event.clientX - box.left) * pad.width) / box.width, ((event.clientY - box.top) * pad.height) / box.height];
  }

  pad.addEventListener("pointerdown", (event) => {
    if (dropped) clearPad();
    drawing = true;
    pad.setPointerCapture(event.pointerId);
    const [x, y] = padPoint(event);
    padContext.beginPath();
    padContext.moveTo(x, y);
    padContext.lineTo(x + 0.1, y);
    padContext.stroke();
    dirty = true;
  });
  pad.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    const [x, y] = padPoint(event);
    padContext.lineTo(x, y);
    padContext.stroke();
  });
  const endStroke = () => {
    if (!drawing) return;
    drawing = false;
    predict().catch(fail);
  };
  pad.addEventListener("pointerup", endStroke);
  pad.addEventListener("pointercancel", endStroke);

  function setupPen() {
    padContext.strokeStyle = "#fff";
    padContext.lineWidth = 22;
    padContext.lineCap = "round";
    padContext.lineJoin = "round";
  }

  async function useFile(file) {
    if (!file) return;
    if (file.type !== "image/png" && file.type !== "image/jpeg") {
      showStatus(`'${file.name}' is ${file.type || "of unknown type"}; drop a PNG or JPEG image.`, true);
      return;
    }
    dropped = file;
    const bitmap = await createImageBitmap(file);
    padContext.fillStyle = "#000";
    padContext.fillRect(0, 0, pad.width, pad.height);
    padContext.imageSmoothingEnabled = false;
    padContext.drawImage(bitmap, 0, 0, pad.width, pad.height);
    dirty = true;
    await predict();
  }

  pad.addEventListener("dragover", (event) => { event.preventDefault(); pad.classList.add("drop"); });
  pad.addEventListener("dragleave", () => pad.classList.remove("drop"));
  pad.addEventListener("drop", (event) => {
    event.preventDefault();
    pad.classList.remove("drop");
    useFile(event.dataTransfer.files[0]).catch(fail);
  });
  $("try-file").addEventListener("change", (event) => useFile(event.target.files[0]).catch(fail));
  $("try-clear").addEventListener("click", () => { clearPad(); hideExplanation(); $("try-bars").replaceChildren(); $("try-summary").textContent = "No prediction yet."; $("try-sent").removeAttribute("src"); });
  $("try-predict").addEventListener("click", () => predict().catch(fail));
  $("try-explain").addEventListener("click", () => explain().catch(fail));

  // The drawing, scaled to 28 x 28 (the server resizes any image to the model's input; this keeps the upload small).
  function drawingAsPng() {
    const small = document.createElement("canvas");
    small.width = 28;
    small.height = 28;
    const context = small.getContext("2d");
    context.imageSmoothingEnabled = true;
    context.imageSmoothingQuality = "high";
    context.drawImage(pad, 0, 0, 28, 28);
    return new Promise((resolve) => small.toBlob(resolve, "image/png"));
  }

  const asDataUrl = (blob) => new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });

  async function predict() {
    const name = $("try-model").value;
    if (!name || !dirty) return;
    hideExplanation();
    const image = dropped || await drawingAsPng();
    $("try-sent").src = await asDataUrl(image);
    const version = $("try-version").value;
    const result = await api(`/v1/models/${encodeURIComponent(name)}:predict` + (version ? "?version=" + encodeURIComponent(version) : ""),
      { method: "POST", body: image, headers: { "Content-Type": image.type } });
    const p = result.predictions[0];
    $("try-summary").textContent = `${result.model_name} v${result.model_version}: ${p.label} (${(p.probabilities[p.class] * 100).toFixed(1)} %)`;
    $("try-summary").dataset.version = result.model_version;
    $("try-bars").replaceChildren(...p.probabilities.map((prob, i) => {
      const fill = el("span", { class: "fill" + (i === p.class ? " best" : "") });
      fill.style.width = (prob * 100).toFixed(2) + "%";
      return el("div", { class: "bar", "data-class": i, "data-probability": String(prob) },
        el("span", { class: "name", text: result.class_names[i] ?? String(i) }),
        el("span", { class: "track" }, fill),
        el("span", { class: "value", text: (prob * 100).toFixed(1) + " %" }));
    }));
  }

  function hideExplanation() {
    $("try-explanation").hidden = true;
    $("try-heatmap").removeAttribute("src");
    $("try-explain-summary").textContent = "";
  }

  // Integrated gradients of the predicted class for the image last sent, drawn over it (POST :explain?heatmap=true).
  async function explain() {
    const name = $("try-model").value;
    if (!name || !dirty) return;
    const image = dropped || await drawingAsPng();
    $("try-sent").src = await asDataUrl(image);
    const version = $("try-version").value;
    const result = await api(`/v1/models/${encodeURIComponent(name)}:explain?heatmap=true` + (version ? "&version=" + encodeURIComponent(version) : ""),
      { method: "POST", body: image, headers: { "Content-Type": image.type } });
    const e = result.explanations[0];
    $("try-heatmap").src = "data:image/png;base64," + e.heatmap;
    const delta = e.completeness ? ` · completeness delta ${(e.completeness.relative_delta * 100).toFixed(2)} %` : "";
    $("try-explain-summary").textContent = `Why ${e.target_label}? Red pixels raised its score, blue ones lowered it (${result.method.replace("_", " ")}${delta}).`;
    $("try-explanation").dataset.target = String(e.target);
    $("try-explanation").hidden = false;
  }

  async function prepareTry() {
    if (models.length === 0) await loadModels();
    const select = $("try-model");
    const previous = select.value;
    select.replaceChildren(...models.map((m) => el("option", { value: m.name, text: m.name, selected: m.name === previous })));
    await fillVersions();
  }

  async function fillVersions() {
    const name = $("try-model").value;
    const select = $("try-version");
    if (!name) { select.replaceChildren(); return; }
    const data = await api("/v1/models/" + encodeURIComponent(name));
    const aliases = data.versions.flatMap((v) => v.aliases.map((a) => el("option", { value: a, text: `${a} (v${v.version})` })));
    select.replaceChildren(el("option", { value: "", text: "server default" }), ...aliases,
      ...data.versions.filter((v) => !v.archived).map((v) => el("option", { value: v.version, text: "v" + v.version })));
  }
  $("try-model").addEventListener("change", () => fillVersions().catch(fail));

  // ------------------------------------------------------------------ routing

  async function render() {
    const signedIn = !!caller;
    const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
    const page = signedIn ? (["models", "live", "try"].includes(parts[0]) ? parts[0] : "models") : "signin";
    for (const section of document.querySelectorAll(".page")) section.hidden = section.id !== "page-" + page;
    $("nav").hidden = !signedIn;
    $("sign-out").hidden = !signedIn;
    $("caller").hidden = !signedIn;
    if (signedIn) $("caller").textContent = `${caller.subject} · ${caller.scopes.join(" ")}`;
    for (const a of $("nav").querySelectorAll("a")) a.classList.toggle("active", a.dataset.page === page);
    if (page !== "live") stopLive();
    document.body.dataset.page = page;
    if (!signedIn) { $("signin-key").focus(); document.body.dataset.ready = "true"; return; }
    document.body.dataset.ready = "false";
    try {
      if (page === "models") {
        await loadModels();
        const name = parts[1] || (models[0] && models[0].name);
        if (name) await showModel(name, parts[2] ? Number(parts[2]) : undefined);
      } else if (page === "live") startLive();
      else if (page === "try") await prepareTry();
    } catch (e) { fail(e); }
    document.body.dataset.ready = "true";
  }

  window.addEventListener("hashchange", () => { showStatus("", false); render(); });

  async function start() {
    clearPad();
    setupPen();
    const key = sessionStorage.getItem(KEY_STORAGE);
    if (key) {
      try { await signIn(key); } catch (e) { sessionStorage.removeItem(KEY_STORAGE); caller = null; }
    }
    await render();
  }
  start();
})();
