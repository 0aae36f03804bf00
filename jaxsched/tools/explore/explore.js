// jaxsched explore: the page draws what the server computes with jaxsched; it computes no
// learning rate itself. The drawn curves are on the plot's data-curves attribute (JSON).
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const WIDTH = 760;
const HEIGHT = 420;
const MARGIN = { left: 72, right: 18, top: 14, bottom: 44 };
const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
  "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];
// Viridis, for a family (low value: dark).
const RAMP = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"];
const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

const state = {
  schedules: {},  // name -> schema from GET /api/schedules
  editor: null,  // the top-level argument editor
  current: null,  // {label, color, steps, values, total} of the schedule being edited
  family: null,  // {arg, curves: [...]} when the family view is on
  pinned: [],  // curves kept for comparison
  code: null,  // the last POST /api/code answer
  sequence: 0,  // drops answers to requests that a newer one replaced
  timer: null,  // a refresh waiting for the typing to pause
  busy: 0,
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children) node.append(child);
  return node;
}

function svg(tag, attrs, parent) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (parent) parent.append(node);
  return node;
}

async function api(path, body) {
  const response = await fetch(path, body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const data = await response.json();
  return { ok: response.ok, data };
}

// --- Values typed by the user: numbers as numbers, anything else sent as typed (the
// server refuses it with its message); never evaluated here.

function formatValue(value) {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return JSON.stringify(value);
  return String(value);
}

function parseNumber(text) {
  const t = text.trim();
  return NUMBER.test(t) ? Number(t) : t;
}

function parseList(text) {
  const t = text.trim();
  if (NUMBER.test(t)) return Number(t);
  const inner = t.startsWith("[") && t.endsWith("]") ? t.slice(1, -1) : t;
  const items = inner.split(",").map((s) => s.trim()).filter((s) => s !== "");
  return items.every((s) => NUMBER.test(s)) ? items.map(Number) : t;
}

// --- The argument editor, built from the schedule's signature (recursive for the arguments
// that take schedules).

function makeEditor(name, config, depth) {
  const schema = state.schedules[name];
  const box = el("div", { class: depth ? "nested-args" : "args", "data-schedule": name });
  const readers = [];
  for (const param of schema.params) {
    const value = param.name in config ? config[param.name] : param.default;
    const id = `arg-${depth}-${name}-${param.name}-${Math.random().toString(36).slice(2, 7)}`;
    const row = el("div", { class: `arg kind-${param.kind}`, "data-param": param.name });
    const label = el("label", { for: id, title: param.required ? "required" : `default: ${formatValue(param.default)}` },
      param.name);
    const error = el("span", { class: "error", "data-schedule": name, "data-param": param.name });
    if (param.kind === "schedule" || param.kind === "schedules") {
      const parts = param.kind === "schedule" ? [value] : (value || []);
      const list = el("div", { class: "parts", id });
      const addPart = (part) => list.append(makePart(part, depth + 1, param.kind === "schedules"));
      parts.forEach(addPart);
      row.append(label, list);
      if (param.kind === "schedules") {
        const add = el("button", { type: "button", class: "add" }, "+ schedule");
        add.addEventListener("click", () => { addPart(null); refresh(); });
        row.append(add);
      }
      row.append(error);
      readers.push((out) => {
        const configs = [...list.children].map((p) => p.read());
        out[param.name] = param.kind === "schedule" ? configs[0] : configs;
      });
    } else {
      let input;
      if (param.kind === "choice") {
        input = el("select", { id, name: param.name });
        for (const choice of param.choices) input.append(el("option", { value: choice }, choice));
        input.value = value;
      } else if (param.kind === "bool") {
        input = el("input", { id, name: param.name, type: "checkbox" });
        input.checked = Boolean(value);
      } else {
        input = el("input", { id, name: param.name, type: "text", autocomplete: "off",
          inputmode: param.kind === "steps" ? "numeric" : "decimal",
          placeholder: param.default === null ? "unset" : (param.required ? "required" : "") });
        input.value = formatValue(value);
      }
      row.append(label, input, error);
      readers.push((out) => {
        if (param.kind === "choice") out[param.name] = input.value;
        else if (param.kind === "bool") out[param.name] = input.checked;
        else if (input.value.trim() === "") {
          if (param.default === null) out[param.name] = null;  // "unset": the factory's None
        } else out[param.name] = param.kind === "list" ? parseList(input.value) : parseNumber(input.value);
      });
    }
    box.append(row);
  }
  box.read = () => {
    const out = { type: name };
    for (const read of readers) read(out);
    return out;
  };
  return box;
}

function makePart(config, depth, removable) {
  const names = Object.keys(state.schedules);
  const part = el("div", { class: "part" });
  const select = el("select", { class: "part-type", "aria-label": "schedule" });
  for (const n of names) select.append(el("option", { value: n }, n));
  const start = config && state.schedules[config.type] ? config : state.schedules.constant.example;
  select.value = start.type;
  let editor = makeEditor(start.type, start, depth);
  select.addEventListener("change", () => {
    const fresh = makeEditor(select.value, state.schedules[select.value].example, depth);
    editor.replaceWith(fresh);
    editor = fresh;
  });
  const head = el("div", { class: "part-head" }, select);
  if (removable) {
    const remove = el("button", { type: "button", class: "remove", title: "remove" }, "×");
    remove.addEventListener("click", () => { part.remove(); refresh(); });
    head.append(remove);
  }
  part.append(head, editor);
  part.read = () => editor.read();
  return part;
}

function chooseSchedule(name) {
  const schema = state.schedules[name];
  $("schedule").value = name;
  $("summary").textContent = schema.summary;
  state.editor = makeEditor(name, schema.example, 0);
  $("args").replaceChildren(state.editor);
  $("steps").value = String(schema.steps);
  const sweepable = schema.params.filter((p) => p.kind === "number" || p.kind === "steps");
  $("family-arg").replaceChildren(...sweepable.map((p) => el("option", { value: p.name }, p.name)));
  $("family-on").disabled = sweepable.length === 0;  // e.g. sequential: only nested schedules and lists
  if (!sweepable.length) $("family-on").checked = false;
  familyDefaults();
  refresh();
}

function familyDefaults() {
  const arg = $("family-arg").value;
  if (!arg || !state.editor) return;
  const value = state.editor.read()[arg];
  const base = typeof value === "number" && value !== 0 ? value : 1;
  const steps = state.schedules[state.editor.read().type].params.find((p) => p.name === arg).kind === "steps";
  $("family-from").value = String(steps ? Math.max(0, Math.round(base / 2)) : base / 2);
  $("family-to").value = String(steps ? Math.round(base * 2) : base * 2);
}

// --- Requests ------------------------------------------------------------------------------

function clearErrors() {
  for (const node of document.querySelectorAll(".error")) node.textContent = "";
  for (const node of document.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
}

// Where a refused request's message goes: beside the argument it names, if any.
function errorBox(data) {
  if (data.param === "steps") return $("steps-error");
  if (!data.param) return null;
  const selector = data.schedule
    ? `.error[data-schedule="${CSS.escape(data.schedule)}"][data-param="${CSS.escape(data.param)}"]`
    : `#args .error[data-param="${CSS.escape(data.param)}"]`;
  return document.querySelector(selector);
}

function showError(data, box) {
  const target = box || errorBox(data) || $("form-error");
  target.textContent = data.error;
  const row = target.closest(".arg");
  const input = row && row.querySelector(":scope > input, :scope > select");
  if (input) input.setAttribute("aria-invalid", "true");
  $("plot").setAttribute("data-error", data.error);
}

function familyValues(kind) {
  const from = parseNumber($("family-from").value);
  const to = parseNumber($("family-to").value);
  const count = parseNumber($("family-count").value);
  if (typeof from !== "number" || typeof to !== "number") throw new Error("from and to must be numbers");
  if (!Number.isInteger(count) || count < 1) throw new Error("curves must be a whole number >= 1");
  const log = $("family-spacing").value === "log";
  if (log && (from <= 0 || to <= 0)) throw new Error("a log spacing needs from and to > 0");
  const values = [];
  for (let i = 0; i < count; i++) {
    const f = count === 1 ? 0 : i / (count - 1);
    let v = log ? Math.exp(Math.log(from) + f * (Math.log(to) - Math.log(from))) : from + f * (to - from);
    v = kind === "steps" ? Math.round(v) : Number(v.toPrecision(6));
    if (!values.includes(v)) values.push(v);
  }
  return values;
}

function refreshSoon() {
  clearTimeout(state.timer);
  state.timer = setTimeout(refresh, 200);
}

async function refresh() {
  clearTimeout(state.timer);
  state.timer = null;
  if (!state.editor) return;
  const sequence = ++state.sequence;
  state.busy++;
  $("plot").setAttribute("data-busy", "true");
  try {
    const config = state.editor.read();
    const steps = parseNumber($("steps").value);
    const familyOn = $("family-on").checked;
    $("pin").disabled = familyOn;
    let values = null;
    if (familyOn) {
      const arg = $("family-arg").value;
      const kind = state.schedules[config.type].params.find((p) => p.name === arg).kind;
      try {
        values = familyValues(kind);
      } catch (e) {
        clearErrors();
        $("family-error").textContent = e.message;
        return;
      }
    }
    let main, code;
    try {
      [main, code] = await Promise.all([
        familyOn
          ? api("/api/sweep", { config, steps, arg: $("family-arg").value, values })
          : api("/api/curve", { config, steps }),
        api("/api/code", { config }),
      ]);
    } catch (e) {
      if (sequence === state.sequence) $("form-error").textContent = `the server did not answer: ${e.message}`;
      return;
    }
    if (sequence !== state.sequence) return;
    clearErrors();
    $("plot").removeAttribute("data-error");
    if (!main.ok) {
      // In the family view the swept argument's values come from the family's range.
      const aboutSweep = familyOn && main.data.param === $("family-arg").value;
      showError(main.data, aboutSweep ? $("family-error") : null);
      return;
    }
    if (code.ok) showCode(code.data);
    const label = code.ok ? code.data.python.replace(/^jaxsched\./, "") : config.type;
    if (familyOn) {
      state.family = { arg: main.data.arg, total: main.data.total, curves: main.data.curves };
      state.current = null;
    } else {
      state.family = null;
      state.current = { label, total: main.data.total, steps: main.data.steps, values: main.data.values,
        config: main.data.config };
      showAreas(main.data);
    }
    draw();
  } finally {
    state.busy--;
    if (sequence === state.sequence) {
      $("plot").setAttribute("data-busy", "false");
      $("plot").setAttribute("data-done", String(sequence));  // the answer to the latest request is shown
    }
  }
}

function showCode(data) {
  state.code = data;
  $("code-python").textContent = data.python;
  $("code-yaml").textContent = data.yaml;
  $("code-equivalent").textContent = data.equivalent;
}

function showAreas(data) {
  if (data.areas) {
    $("areas").textContent = Object.entries(data.areas).map(([k, v]) => `${k} = ${v.toPrecision(6)}`).join(", ");
  } else if (data.areas_error) {
    $("areas").textContent = data.areas_error;
  }
  $("areas-box").hidden = !(data.areas || data.areas_error);
}

// --- The plot --------------------------------------------------------------------------------

function niceTicks(lo, hi, count) {
  const span = hi - lo;
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const r = raw / magnitude;
  const step = (r >= 7.5 ? 10 : r >= 3.5 ? 5 : r >= 1.5 ? 2 : 1) * magnitude;
  const ticks = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) {
    ticks.push(Number(v.toPrecision(12)));
  }
  return ticks;
}

function logTicks(lo, hi) {
  const first = Math.ceil(Math.log10(lo) - 1e-9), last = Math.floor(Math.log10(hi) + 1e-9);
  const every = Math.max(1, Math.ceil((last - first + 1) / 8));  // at most 8 labelled decades
  const ticks = [];
  for (let e = first; e <= last; e += every) ticks.push(10 ** e);
  return ticks;
}

function formatTick(v) {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return Number(v.toPrecision(6)).toExponential().replace("e+", "e");
  return String(Number(v.toPrecision(6)));
}

function rampColor(f) {
  const x = Math.min(Math.max(f, 0), 1) * (RAMP.length - 1);
  const i = Math.min(Math.floor(x), RAMP.length - 2);
  const a = RAMP[i], b = RAMP[i + 1], t = x - i;
  const mix = (k) => Math.round(parseInt(a.slice(k, k + 2), 16) * (1 - t) + parseInt(b.slice(k, k + 2), 16) * t);
  return `#${[1, 3, 5].map((k) => mix(k).toString(16).padStart(2, "0")).join("")}`;
}

function visibleCurves() {
  const curves = state.pinned.map((c) => ({ ...c, kind: "pinned" }));
  const used = new Set(curves.map((c) => c.color));
  if (state.family) {
    const n = state.family.curves.length;
    state.family.curves.forEach((c, i) => curves.push({
      kind: "family", label: `${state.family.arg}=${c.value}`, color: rampColor(n === 1 ? 0 : i / (n - 1)),
      total: state.family.total, steps: c.steps, values: c.values,
    }));
  } else if (state.current) {
    const color = PALETTE.find((c) => !used.has(c)) || PALETTE[0];
    curves.push({ ...state.current, kind: "current", color });
  }
  return curves;
}

function draw() {
  const plot = $("plot");
  const xLog = $("x-scale").value === "log";
  const yLog = $("y-scale").value === "log";
  const curves = visibleCurves();
  plot.replaceChildren();
  svg("rect", { x: 0, y: 0, width: WIDTH, height: HEIGHT, fill: "#ffffff" }, plot);
  const keep = (s, v) => (!xLog || s >= 1) && (!yLog || v > 0);
  let xMax = 1, yMin = Infinity, yMax = -Infinity;
  for (const c of curves) {
    xMax = Math.max(xMax, c.total - 1);
    c.steps.forEach((s, i) => {
      if (!keep(s, c.values[i])) return;
      yMin = Math.min(yMin, c.values[i]);
      yMax = Math.max(yMax, c.values[i]);
    });
  }
  if (!Number.isFinite(yMin)) { yMin = yLog ? 1e-4 : 0; yMax = yLog ? 1 : 1; }
  let x0 = xLog ? 1 : 0, x1 = Math.max(xMax, xLog ? 10 : 1);
  let y0, y1;
  if (yLog) {
    y0 = 10 ** Math.floor(Math.log10(yMin));
    y1 = 10 ** Math.ceil(Math.log10(yMax));
    if (y1 <= y0) y1 = y0 * 10;
  } else {
    y0 = Math.min(0, yMin);
    y1 = yMax + 0.05 * (yMax - y0);
    if (y1 <= y0) y1 = y0 + (Math.abs(y0) || 1);
  }
  const plotW = WIDTH - MARGIN.left - MARGIN.right, plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const fx = xLog ? (s) => (Math.log10(s) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0)) : (s) => (s - x0) / (x1 - x0);
  const fy = yLog ? (v) => (Math.log10(v) - Math.log10(y0)) / (Math.log10(y1) - Math.log10(y0)) : (v) => (v - y0) / (y1 - y0);
  const px = (s) => MARGIN.left + fx(s) * plotW;
  const py = (v) => MARGIN.top + (1 - fy(v)) * plotH;
  const font = { "font-family": "DejaVu Sans, Arial, sans-serif", "font-size": 12, fill: "#333333" };
  const axes = svg("g", { "data-role": "axes" }, plot);
  const xTicks = xLog ? logTicks(x0, x1) : niceTicks(x0, x1, 8);
  const yTicks = yLog ? logTicks(y0, y1) : niceTicks(y0, y1, 6);
  for (const t of xTicks) {
    const x = px(t);
    svg("line", { x1: x, x2: x, y1: MARGIN.top, y2: MARGIN.top + plotH, stroke: "#e6e6e6" }, axes);
    svg("text", { x, y: MARGIN.top + plotH + 16, "text-anchor": "middle", ...font }, axes).textContent = formatTick(t);
  }
  for (const t of yTicks) {
    const y = py(t);
    svg("line", { x1: MARGIN.left, x2: MARGIN.left + plotW, y1: y, y2: y, stroke: "#e6e6e6" }, axes);
    svg("text", { x: MARGIN.left - 6, y: y + 4, "text-anchor": "end", ...font }, axes).textContent = formatTick(t);
  }
  svg("rect", { x: MARGIN.left, y: MARGIN.top, width: plotW, height: plotH, fill: "none", stroke: "#999999" }, axes);
  svg("text", { x: MARGIN.left + plotW / 2, y: HEIGHT - 6, "text-anchor": "middle", ...font }, axes).textContent = "step";
  svg("text", { x: 16, y: MARGIN.top + plotH / 2, "text-anchor": "middle", transform: `rotate(-90 16 ${MARGIN.top + plotH / 2})`, ...font },
    axes).textContent = "learning rate";
  const lines = svg("g", { "data-role": "curves", "stroke-linejoin": "round" }, plot);
  for (const c of curves) {
    let d = "";
    c.steps.forEach((s, i) => {
      if (!keep(s, c.values[i])) return;
      d += `${d ? "L" : "M"}${px(s).toFixed(2)} ${py(c.values[i]).toFixed(2)}`;
    });
    svg("path", { d: d || "M0 0", fill: "none", stroke: c.color, "stroke-width": c.kind === "current" ? 2.2 : 1.6,
      "data-label": c.label }, lines);
  }
  const cursor = svg("g", { "data-role": "cursor", visibility: "hidden" }, plot);
  svg("line", { y1: MARGIN.top, y2: MARGIN.top + plotH, stroke: "#555555", "stroke-dasharray": "3 3" }, cursor);
  svg("circle", { r: 4, fill: "#ffffff", "stroke-width": 2 }, cursor);
  plot.setAttribute("data-curves", JSON.stringify(curves.map((c) => ({
    kind: c.kind, label: c.label, color: c.color, steps: c.steps, values: c.values }))));
  plot.setAttribute("data-x-scale", xLog ? "log" : "linear");
  plot.setAttribute("data-y-scale", yLog ? "log" : "linear");
  state.view = { curves, keep, px, py, x0, x1, xLog, plotW, fx };
  drawLegend(curves);
}

function drawLegend(curves) {
  const items = curves.map((c) => {
    const swatch = document.createElementNS(SVG_NS, "svg");
    swatch.setAttribute("width", 18);
    swatch.setAttribute("height", 10);
    svg("rect", { x: 0, y: 3, width: 18, height: 4, fill: c.color }, swatch);
    const item = el("li", { "data-kind": c.kind }, swatch, el("code", {}, c.label));
    if (c.kind === "pinned") {
      const remove = el("button", { type: "button", class: "remove", title: "remove from the comparison" }, "×");
      remove.addEventListener("click", () => {
        state.pinned = state.pinned.filter((p) => p !== c.source);
        draw();
      });
      item.append(remove);
    }
    return item;
  });
  $("legend").replaceChildren(...items);
}

// Hover: the drawn point nearest the pointer (each value is the server's, at that step).
function hover(event) {
  const view = state.view;
  const plot = $("plot");
  const cursor = plot.querySelector('[data-role="cursor"]');
  if (!view || !cursor || !view.curves.length) return;
  const box = plot.getBoundingClientRect();
  const mx = ((event.clientX - box.left) / box.width) * WIDTH;
  const my = ((event.clientY - box.top) / box.height) * HEIGHT;
  let best = null;
  for (const c of view.curves) {
    c.steps.forEach((s, i) => {
      if (!view.keep(s, c.values[i])) return;
      const dx = view.px(s) - mx, dy = view.py(c.values[i]) - my;
      const d = dx * dx + 0.25 * dy * dy;
      if (!best || d < best.d) best = { d, c, s, v: c.values[i] };
    });
  }
  if (!best) return;
  const [line, dot] = cursor.children;
  const x = view.px(best.s), y = view.py(best.v);
  line.setAttribute("x1", x);
  line.setAttribute("x2", x);
  dot.setAttribute("cx", x);
  dot.setAttribute("cy", y);
  dot.setAttribute("stroke", best.c.color);
  cursor.setAttribute("visibility", "visible");
  const readout = $("readout");
  readout.textContent = `step ${best.s} · lr ${Number(best.v.toPrecision(7))} · ${best.c.label}`;
  readout.dataset.step = best.s;
  readout.dataset.lr = best.v;
  readout.dataset.label = best.c.label;
}

// --- Exports -------------------------------------------------------------------------------

function svgText() {
  const clone = $("plot").cloneNode(true);
  clone.setAttribute("xmlns", SVG_NS);
  clone.setAttribute("width", WIDTH);
  clone.setAttribute("height", HEIGHT);
  clone.querySelector('[data-role="cursor"]').remove();
  for (const a of ["data-curves", "data-busy", "data-done", "data-error", "data-x-scale", "data-y-scale"]) clone.removeAttribute(a);
  const legend = svg("g", { "data-role": "legend" }, clone);
  // The legend, drawn into the exported figure at its top right.
  state.view.curves.slice(0, 12).forEach((c, i) => {
    const y = MARGIN.top + 14 + 16 * i;
    svg("line", { x1: WIDTH - 250, x2: WIDTH - 230, y1: y - 4, y2: y - 4, stroke: c.color, "stroke-width": 2 }, legend);
    svg("text", { x: WIDTH - 226, y, "font-family": "DejaVu Sans, Arial, sans-serif", "font-size": 10, fill: "#333333" },
      legend).textContent = c.label.length > 40 ? `${c.label.slice(0, 39)}…` : c.label;
  });
  return new XMLSerializer().serializeToString(clone);
}

function download(name, href) {
  const a = el("a", { href, download: name });
  document.body.append(a);
  a.click();
  a.remove();
}

function exportSVG() {
  const text = svgText();
  download("schedule.svg", URL.createObjectURL(new Blob([text], { type: "image/svg+xml" })));
  return text;
}

function exportPNG() {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => {
      const canvas = document.createElement("canvas");
      canvas.width = WIDTH * 2;
      canvas.height = HEIGHT * 2;
      const context = canvas.getContext("2d");
      context.scale(2, 2);
      context.drawImage(image, 0, 0, WIDTH, HEIGHT);
      const url = canvas.toDataURL("image/png");
      download("schedule.png", url);
      resolve(url);
    };
    image.onerror = () => reject(new Error("the figure could not be drawn as PNG"));
    image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svgText())}`;
  });
}

function exportCSV() {
  const rows = ["curve,step,lr"];
  for (const c of state.view.curves) {
    const label = `"${c.label.replaceAll('"', '""')}"`;
    c.steps.forEach((s, i) => rows.push(`${label},${s},${c.values[i]}`));
  }
  const text = `${rows.join("\n")}\n`;
  download("schedule.csv", URL.createObjectURL(new Blob([text], { type: "text/csv" })));
  return text;
}

// --- Start -----------------------------------------------------------------------------------

async function start() {
  const { data } = await api("/api/schedules");
  for (const s of data.schedules) state.schedules[s.name] = s;
  $("schedule").replaceChildren(...data.schedules.map((s) => el("option", { value: s.name }, s.name)));
  $("schedule").addEventListener("change", () => chooseSchedule($("schedule").value));
  const editor = $("editor");
  editor.addEventListener("input", (e) => { if (e.target.matches("input[type=text]")) refreshSoon(); });
  editor.addEventListener("change", (e) => {
    if (e.target.id === "schedule") return;
    if (e.target.id === "family-arg" || (e.target.id === "family-on" && e.target.checked)) familyDefaults();
    refresh();
  });
  $("pin").addEventListener("click", () => {
    if (!state.current) return;
    const used = new Set(state.pinned.map((c) => c.color));
    const color = PALETTE.find((c) => !used.has(c)) || PALETTE[state.pinned.length % PALETTE.length];
    const pinned = { ...state.current, color };
    pinned.source = pinned;
    state.pinned.push(pinned);
    draw();
  });
  $("x-scale").addEventListener("change", draw);
  $("y-scale").addEventListener("change", draw);
  $("plot").addEventListener("mousemove", hover);
  $("export-png").addEventListener("click", () => exportPNG());
  $("export-svg").addEventListener("click", exportSVG);
  $("export-csv").addEventListener("click", exportCSV);
  chooseSchedule(data.schedules.some((s) => s.name === "warmup_cosine") ? "warmup_cosine" : data.schedules[0].name);
  document.body.setAttribute("data-ready", "true");
}

window.jaxschedExplore = { state, exportPNG, exportSVG, exportCSV, refresh, draw };
start();
