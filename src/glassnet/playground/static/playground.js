// The glassnet playground page: draws what the server's Session sends, and
// sends it the settings. No build step: a plain ES module.

const $ = (selector) => document.querySelector(selector);
const NEG = [245, 147, 34], MID = [232, 234, 235], POS = [8, 119, 189];

let socket, options = null, config = null, code = "", points = null;
let last = null, running = false, waiting = false, nextId = 1, turnedAway = false;
const pending = new Map();
const curve = [];
const fps = { frames: 0, since: performance.now(), value: 0 };

// ---------------------------------------------------------------- colours
function colour(byte) {          // 0..255 (value -1..1) → orange, white, blue
  const v = byte / 127.5 - 1, to = v < 0 ? NEG : POS, t = Math.abs(v);
  return MID.map((m, i) => Math.round(m + (to[i] - m) * t));
}
const CLASS_COLOURS = [[8, 119, 189], [245, 147, 34], [46, 160, 67], [170, 60, 180],
                       [200, 50, 50]];

// 256 levels → packed RGBA pixels (a Uint32Array over ImageData is little-endian:
// 0xAABBGGRR), so painting a map is one table lookup per pixel
const pack = (rgb) => ((255 << 24) | (rgb[2] << 16) | (rgb[1] << 8) | rgb[0]) >>> 0;
const DIVERGING = new Uint32Array(256), DISCRETE = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  DIVERGING[i] = pack(colour(i));
  DISCRETE[i] = pack(colour(i >= 128 ? 255 : 0));
}
const CLASS_TABLES = CLASS_COLOURS.map((base) => Uint32Array.from({ length: 256 }, (_, sure) =>
  pack(base.map((c, k) => Math.round(MID[k] + (c - MID[k]) * (sure / 255) * 0.8)))));
const images = new WeakMap();     // canvas → its ImageData, reused every frame

function paint(canvas, bytes, side, classes = null, discretize = false) {
  if (canvas.width !== side) { canvas.width = side; canvas.height = side; }
  const ctx = canvas.getContext("2d");
  let image = images.get(canvas);
  if (!image || image.width !== side) { image = ctx.createImageData(side, side); images.set(canvas, image); }
  const pixels = new Uint32Array(image.data.buffer), n = side * side;
  if (classes) {                   // the winning class, paler where unsure
    for (let i = 0; i < n; i++)
      pixels[i] = CLASS_TABLES[classes[i] % CLASS_TABLES.length][discretize ? 255 : bytes[i]];
  } else {
    const table = discretize ? DISCRETE : DIVERGING;
    for (let i = 0; i < n; i++) pixels[i] = table[bytes[i]];
  }
  ctx.putImageData(image, 0, 0);
}

// ---------------------------------------------------------------- the socket
function connect() {
  socket = new WebSocket(`ws://${location.host}/ws`);
  socket.binaryType = "arraybuffer";
  socket.onopen = () => send({ type: "config", config: fromHash() }).catch(showError);
  socket.onmessage = (event) => {
    if (typeof event.data !== "string") return onFrame(event.data);
    const message = JSON.parse(event.data);
    if (message.type === "options") { options = message; buildControls(); }
    else if (message.type === "data") { points = message; }
    else if (message.type === "ack") onAck(message);
    else if (message.type === "file") onFile(message);
    else if (message.type === "full") {      // paused by the server, or turned away
      showError(message.message, message.messageKo);
      if (message.running === false) { running = false; scheduleDraw(); }
      else turnedAway = true;              // the server closes this socket next: keep its reason
    }
    else if (message.type === "error") showError(message.message, message.messageKo);
  };
  socket.onclose = () => turnedAway || showError("The connection to the playground server closed; reload the page.",
                                   "플레이그라운드 서버와의 연결이 끊어졌습니다. 페이지를 새로 고침하세요.");
}

function send(message) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    socket.send(JSON.stringify({ ...message, id }));
  });
}

function onAck(message) {
  const request = pending.get(message.id);
  pending.delete(message.id);
  if (!message.ok) {
    showError(message.error, message.errorKo);
    if (request) request.reject(Object.assign(new Error(message.error), { ko: message.errorKo }));
    return;
  }
  showError(message.warning || "", message.warningKo);
  if (message.report) { report = [message.report, message.reportKo || message.report]; showTexts(); }
  config = message.config; code = message.code; running = message.running;
  syncControls();
  toHash();
  window.playground = api;  // from the first answer on: state().config is never null
  if (request) request.resolve(state());
}

function onFile(message) {
  const bytes = Uint8Array.from(atob(message.data), (c) => c.charCodeAt(0));
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([bytes]));
  link.download = message.name;
  document.body.appendChild(link); link.click(); link.remove();
  const request = pending.get(message.id);
  pending.delete(message.id);
  if (request) request.resolve({ name: message.name, bytes: bytes.length });
}

function onFrame(buffer) {
  const view = new DataView(buffer), length = view.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, length)));
  let offset = 4 + length;
  const grid = header.grid, cell = header.cell;
  const output = new Uint8Array(buffer, offset, grid * grid); offset += grid * grid;
  let classes = null;
  if (header.classes > 2) { classes = new Uint8Array(buffer, offset, grid * grid); offset += grid * grid; }
  const nodes = [];
  const count = header.shape.slice(0, -1).reduce((a, b) => a + b, 0);
  for (let i = 0; i < count; i++) { nodes.push(new Uint8Array(buffer, offset, cell * cell)); offset += cell * cell; }
  offset += (4 - (offset % 4)) % 4;
  const weights = [];
  for (let l = 1; l < header.shape.length; l++) {
    const rows = header.shape[l - 1], cols = header.shape[l];
    const kernel = new Float32Array(buffer.slice(offset, offset + rows * cols * 4)); offset += rows * cols * 4;
    const bias = new Float32Array(buffer.slice(offset, offset + cols * 4)); offset += cols * 4;
    weights.push({ kernel, bias, rows, cols });
  }
  last = { header, output, classes, nodes, weights };
  if (header.epoch === 0 || !curve.length || curve[curve.length - 1][0] !== header.epoch) {
    if (header.epoch === 0) curve.length = 0;
    curve.push([header.epoch, header.trainLoss, header.testLoss]);
    if (curve.length > 2000) curve.splice(0, curve.length - 2000);
  }
  if (header.message) { showError(header.message, header.messageKo); running = false; }
  waiting = false;
  if (running) requestFrame();      // the next epoch trains while this one is drawn
  scheduleDraw();
}

// The page asks for the next frame as soon as one arrives (one in flight, so a
// slow tab never queues work; the server paces a tab to 60 frames a second) and
// draws the newest frame at the next animation frame: a tab in the background
// keeps training without drawing.
function requestFrame() {
  if (!running || waiting || socket.readyState !== 1) return;
  waiting = true;
  socket.send(JSON.stringify({ type: "frame" }));
}

let drawPending = false;
function scheduleDraw() {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => { drawPending = false; draw(); countFrame(); });
}

function countFrame() {
  fps.frames++;
  const now = performance.now();
  if (now - fps.since >= 1000) {
    fps.value = fps.frames * 1000 / (now - fps.since); fps.frames = 0; fps.since = now;
    setText("#fps", running ? `${fps.value.toFixed(0)} ${word("frames/s")}` : "");
  }
}

const elements = new Map();
function setText(selector, value) {        // touch the page only where something changed
  let element = elements.get(selector);
  if (!element || !element.isConnected) { element = $(selector); elements.set(selector, element); }
  if (element && element.textContent !== value) element.textContent = value;
}
const written = new WeakMap();
function setHTML(element, value) {
  if (written.get(element) !== value) { element.innerHTML = value; written.set(element, value); }
}

// ---------------------------------------------------------------- drawing
const small = document.createElement("canvas");    // the output map at its own size
let nodeCanvases = [], gradCells = [], unitNodes = [];   // found once per network shape
function draw() {
  if (!last || !config) return;
  const h = last.header;
  setText("#epoch", String(h.epoch).padStart(6, "0").replace(/\B(?=(\d{3})+(?!\d))/g, ","));
  setText("#train-loss", h.trainLoss === null ? "NaN" : h.trainLoss.toFixed(3));
  setText("#test-loss", h.testLoss === null ? "NaN" : h.testLoss.toFixed(3));
  setText("#accuracy", h.testAccuracy === null ? "" : language === "ko" ?
    `정확도: 학습 ${(100 * h.trainAccuracy).toFixed(1)}%, 시험 ${(100 * h.testAccuracy).toFixed(1)}%` :
    `Accuracy: train ${(100 * h.trainAccuracy).toFixed(1)}%, test ${(100 * h.testAccuracy).toFixed(1)}%`);
  setText("#play", running ? "\u275a\u275a" : "\u25b6");
  const discretize = $("#discretize").checked;
  const out = $("#output");
  paint(small, last.output, h.grid, last.classes, discretize);
  const ctx = out.getContext("2d");
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(small, 0, 0, out.width, out.height);
  ctx.drawImage(pointsLayer(out.width), 0, 0);
  nodeCanvases.forEach((canvas, i) => {
    if (canvas && last.nodes[i]) paint(canvas, last.nodes[i], h.cell, null, discretize);
  });
  const outNode = $(".output-node canvas");
  if (outNode) outNode.getContext("2d").drawImage(small, 0, 0, outNode.width, outNode.height);
  drawLinks();
  drawCurve();
  drawInside(h);
  drawLegend(h.classes);
}

// what the output map's colours mean: TensorFlow Playground's −1 … 1 bar, or the classes
function drawLegend(classes) {
  const legend = $("#legend"), key = `${classes} ${language}`;
  if (legend.dataset.key === key) return;
  legend.dataset.key = key;
  if (classes > 2) {
    legend.innerHTML = `<div>${word("Colour: the class the network predicts, paler where it is less sure")}</div>` +
      `<div class="swatches">${Array.from({ length: classes }, (_, k) =>
        `<span><i style="background:rgb(${CLASS_COLOURS[k % CLASS_COLOURS.length]})"></i>${k}</span>`).join("")}</div>`;
    return;
  }
  legend.innerHTML = `<canvas width="256" height="1"></canvas>` +
    `<div class="ticks"><span>&minus;1</span><span>0</span><span>1</span></div>` +
    `<div>${word(classes === 1 ? "Colour: the predicted value, orange −1, white 0, blue +1"
                                 : "Colour: the network's output, orange −1 (one class), blue +1 (the other); the points are the data")}</div>`;
  paintBar(legend.querySelector("canvas"));
}
function paintBar(canvas) {
  const ctx = canvas.getContext("2d"), image = ctx.createImageData(256, 1);
  new Uint32Array(image.data.buffer).set(DIVERGING);
  ctx.putImageData(image, 0, 0);
}

function drawInside(h) {
  // gradient flow: ||∂L/∂kernel|| of the layer into each column, on a log scale
  const grads = h.gradients || [];
  const top = Math.max(...grads.filter((g) => g), 1e-12);
  gradCells.forEach((cell) => {
    const g = grads[+cell.dataset.layer];
    if (g === undefined) return;
    const share = g ? Math.max(0, 1 + Math.log10(g / top) / 6) : 0;   // 6 decades wide
    setHTML(cell, `∇ ${g === null ? "NaN" : g.toExponential(1)}<i style="width:${(share * 100).toFixed(0)}%"></i>`);
  });
  // dead (d) and saturated (s) units, one letter per unit and layer
  (h.units || []).forEach((marks, l) => [...marks].forEach((mark, u) => {
    const node = unitNodes[l] && unitNodes[l][u];
    if (!node || node.dataset.mark === mark) return;
    node.dataset.mark = mark;
    node.classList.toggle("dead", mark === "d");
    node.classList.toggle("saturated", mark === "s");
  }));
  const table = $("#confusion");
  if (!h.confusion) { setHTML(table, ""); return; }
  const k = h.confusion.length;
  setHTML(table, `<tr><th>${language === "ko" ? "실제 ↓ 예측 →" : "true ↓ predicted →"}</th>` +
    h.confusion.map((_, j) => `<th>${k === 2 ? (j ? "+1" : "-1") : j}</th>`).join("") + "</tr>" +
    h.confusion.map((row, i) => `<tr><th>${k === 2 ? (i ? "+1" : "-1") : i}</th>` +
      row.map((n, j) => `<td class="${i === j ? "hit" : ""}">${n}</td>`).join("") + "</tr>").join(""));
}

// the data points, drawn once into their own layer when they or "show test data" change
const pointsCanvas = document.createElement("canvas");
let pointsKey = null;
function pointsLayer(size) {
  const showTest = $("#show-test").checked;
  const key = points && [size, showTest, points.train.length, points.test.length].join();
  if (points === pointsCanvas.points && key === pointsKey) return pointsCanvas;
  pointsCanvas.width = pointsCanvas.height = size;
  pointsCanvas.points = points; pointsKey = key;
  const ctx = pointsCanvas.getContext("2d");
  if (!points) return pointsCanvas;
  const scale = (v) => (v + 6) / 12 * size;
  const sets = [[points.train, "#fff"]];
  if (showTest) sets.push([points.test, "#000"]);
  for (const [rows, stroke] of sets) {
    for (const [x, y, label] of rows) {
      ctx.beginPath();
      ctx.arc(scale(x), size - scale(y), 2.6, 0, 2 * Math.PI);
      let rgb;
      if (points.classes > 2) rgb = CLASS_COLOURS[label % CLASS_COLOURS.length];
      else rgb = colour(Math.round((Math.max(-1, Math.min(1, label)) + 1) * 127.5));
      ctx.fillStyle = `rgb(${rgb})`; ctx.fill();
      ctx.lineWidth = 1; ctx.strokeStyle = stroke; ctx.stroke();
    }
  }
  return pointsCanvas;
}

function drawCurve() {
  const canvas = $("#curve"), ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const n = curve.length;
  if (n < 2) return;
  let top = 0;
  for (const c of curve) for (const v of [c[1], c[2]]) if (v !== null && isFinite(v) && v > top) top = v;
  top = top || 1;
  const stride = Math.max(1, Math.floor(n / canvas.width));     // at most one point per pixel
  for (const [index, style] of [[1, "#333"], [2, "#999"]]) {
    ctx.beginPath(); ctx.strokeStyle = style;
    for (let i = 0; i < n; i += stride) {
      const c = curve[i], x = i / (n - 1) * canvas.width;
      const y = canvas.height - (c[index] ?? top) / top * (canvas.height - 4);
      i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    }
    ctx.stroke();
  }
}

// The weights: curves on one canvas, width and colour from value and sign. The
// curves (Path2D) are made when the network's shape or the layout changes; each
// frame only strokes them. Hovering finds the curve under the pointer.
let links = [], linkKey = "", linkRatio = 1, hovered = null;
const ROOT = getComputedStyle(document.documentElement);
const NEG_CSS = ROOT.getPropertyValue("--neg").trim() || "#f59322";
const POS_CSS = ROOT.getPropertyValue("--pos").trim() || "#0877bd";
function nodeCentre(layer, unit, net) {
  const node = document.querySelector(`.node[data-layer="${layer}"][data-unit="${unit}"]`);
  if (!node) return null;
  const box = node.getBoundingClientRect();
  return [box.left - net.left + box.width / 2, box.top - net.top + box.height / 2, box.width / 2];
}

function layoutLinks() {
  const canvas = $("#links"), net = $("#net-inner").getBoundingClientRect();
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(net.width * ratio); canvas.height = Math.round(net.height * ratio);
  linkRatio = ratio;
  links = [];
  last.weights.forEach((w, l) => {
    for (let j = 0; j < w.cols; j++) {
      const to = nodeCentre(l + 1, j, net);
      for (let i = 0; i < w.rows; i++) {
        const from = nodeCentre(l, i, net);
        if (!from || !to) continue;
        const path = new Path2D(), x0 = from[0] + from[2], x1 = to[0] - to[2], xm = (x0 + x1) / 2;
        path.moveTo(x0, from[1]);
        path.bezierCurveTo(xm, from[1], xm, to[1], x1, to[1]);
        links.push({ path, layer: l, row: i, column: j });
      }
    }
  });
}

function drawLinks() {
  if (!last) return;
  const key = JSON.stringify(last.header.shape) + config.features.join();
  if (key !== linkKey) { layoutLinks(); linkKey = key; }
  const canvas = $("#links"), ctx = canvas.getContext("2d"), ratio = linkRatio;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  for (const link of links) {
    const value = weightOf(link);
    if (value === undefined) continue;
    ctx.globalAlpha = link === hovered ? 1 : 0.7;
    ctx.strokeStyle = value < 0 ? NEG_CSS : POS_CSS;
    ctx.lineWidth = Math.min(8, 0.5 + Math.abs(value) * 3);
    ctx.stroke(link.path);
  }
  ctx.globalAlpha = 1;
}

function weightOf(link) {
  const w = last && last.weights[link.layer];
  return w ? w.kernel[link.row * w.cols + link.column] : undefined;
}

function linkAt(x, y) {              // the topmost curve within 4 px of (x, y) in #net
  const ctx = $("#links").getContext("2d"), ratio = linkRatio;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  for (let k = links.length - 1; k >= 0; k--) {
    const value = weightOf(links[k]);
    ctx.lineWidth = Math.max(8, 0.5 + Math.abs(value || 0) * 3);
    if (ctx.isPointInStroke(links[k].path, x * ratio, y * ratio)) return links[k];
  }
  return null;
}

function biasOf(node) {              // a hidden unit's bias, or the one output's
  const l = +node.dataset.layer - 1, w = last && last.weights[l];
  if (!w || node.classList.contains("feature") || (node.classList.contains("output-node") && w.cols > 1))
    return undefined;
  return w.bias[+node.dataset.unit];
}

function showTip(text, x, y) {      // (x, y) in #net-inner; the tip lies over it, unclipped
  const tip = $("#tip");
  tip.hidden = !text;
  if (!text) return;
  tip.textContent = text;
  const inner = $("#net-inner").getBoundingClientRect(), section = $(".network").getBoundingClientRect();
  tip.style.left = `${x + inner.left - section.left + 12}px`;
  tip.style.top = `${y + inner.top - section.top + 12}px`;
}

function hover(event) {
  if (!last) return;
  const net = $("#net-inner").getBoundingClientRect(), x = event.clientX - net.left, y = event.clientY - net.top;
  const node = event.target.closest(".node:not(.feature)");
  const grad = event.target.closest(".grad[data-layer]");
  const link = node || grad ? null : linkAt(x, y);
  if (link !== hovered) { hovered = link; drawLinks(); }
  if (grad) {
    showTip(word(GRADIENT_TIP), x, y);
  } else if (node && biasOf(node) !== undefined) {
    const mark = node.dataset.mark === "d" ? word("dead: outputs 0 on every training point, so it learns nothing")
      : node.dataset.mark === "s" ? word("saturated: on most points in the flat tail, where its slope is ~0") : "";
    showTip(`${word("Bias")} ${biasOf(node).toFixed(3)} (${word("click to edit")})${mark ? " · " + mark : ""}`, x, y);
  } else if (link) {
    showTip(`${word("Weight")} ${weightOf(link).toFixed(3)} (${word("click to edit")})`, x, y);
  } else showTip("");
}

async function edit(kind, target) {
  const now = kind === "bias" ? biasOf(target) : weightOf(target);
  const typed = prompt(word(kind === "bias" ? "Bias" : "Weight"), now.toFixed(3));
  if (typed === null) return;
  const message = kind === "bias" ?
    { type: "edit", layer: +target.dataset.layer - 1, row: null, column: +target.dataset.unit, value: Number(typed) } :
    { type: "edit", layer: target.layer, row: target.row, column: target.column, value: Number(typed) };
  return send(message).catch(() => {});
}

// ---------------------------------------------------------------- controls
function buildControls() {
  const fill = (name, values, label = String) => {
    $(`[data-control="${name}"]`).innerHTML =
      values.map((v) => `<option value="${v}">${label(v)}</option>`).join("");
  };
  fill("learningRate", options.learningRates);
  fill("regularizationRate", options.regularizationRates);
  fill("dropout", options.dropouts);
  fill("activation", options.activations, activationName);
  $('[data-control="dataset"]').innerHTML = options.datasets.map((d) => datasetButton(d)).join("");
  options.datasets.forEach((d, i) => {
    const thumb = options.thumbnails[i];
    paint(document.querySelectorAll(".datasets canvas")[i], Uint8Array.from(atob(thumb), (c) => c.charCodeAt(0)), 16);
  });
}

// a data set's button: its thumbnail and its name (TensorFlow Playground's names)
const DATASET_NAMES = {
  circle: "Circle", xor: "XOR", gauss: "Gaussian", spiral: "Spiral", moons: "Moons",
  "reg-plane": "Plane", "reg-gauss": "Multi-Gaussian", "blobs-3": "3 blobs", "blobs-4": "4 blobs",
  "blobs-5": "5 blobs", "spiral-3": "3 spirals", upload: "Your points" };
function datasetButton(d) {
  const name = word(DATASET_NAMES[d] || d);
  return `<button data-dataset="${d}" title="${name}"><canvas width="16" height="16"></canvas>` +
         `<small>${name}</small></button>`;
}
function activationName(a) {
  return a === "relu" ? "ReLU" : a === "linear" ? word("Linear") : a[0].toUpperCase() + a.slice(1);
}

function relabel() {              // the names that the page made itself, in the new language
  document.querySelectorAll(".datasets button").forEach((button) => {
    const name = word(DATASET_NAMES[button.dataset.dataset] || button.dataset.dataset);
    button.title = name; button.querySelector("small").textContent = name;
  });
  document.querySelectorAll('[data-control="activation"] option').forEach((option) => {
    option.textContent = activationName(option.value);
  });
}

// classification or regression, as the data set is (the upload's: its labels)
function problemOf(dataset) {
  if (dataset === "upload") return points && points.classes === 1 ? "regression" : "classification";
  const i = options.datasets.indexOf(dataset);
  return options.classes[i] === 1 ? "regression" : "classification";
}
function showProblem() {
  const problem = problemOf(config.dataset);
  $("#problem").value = problem;
  document.querySelectorAll(".datasets button").forEach((b) => { b.hidden = problemOf(b.dataset.dataset) !== problem; });
}

function syncControls() {
  for (const name of ["learningRate", "regularizationRate", "activation", "optimizer", "loss",
                      "regularization", "schedule", "dropout"])
    $(`[data-control="${name}"]`).value = String(config[name]);
  $('[data-control="batchNorm"]').checked = config.batchNorm;
  for (const name of ["trainRatio", "noise", "batchSize", "seed"]) {
    $(`[data-control="${name}"]`).value = config[name];
    const shown = $(`#${name}-value`); if (shown) shown.textContent = config[name];
  }
  if (config.dataset === "upload" && points) uploadThumbnail();
  document.querySelectorAll(".datasets button").forEach((b) =>
    b.classList.toggle("selected", b.dataset.dataset === config.dataset));
  showProblem();
  buildNetwork();
}

function uploadThumbnail() {
  // your points as one more data-set button, drawn as the others (the mean label per cell)
  const box = $('[data-control="dataset"]');
  let button = box.querySelector('[data-dataset="upload"]');
  if (!button) {
    box.insertAdjacentHTML("beforeend", datasetButton("upload"));
    button = box.lastElementChild;
  }
  const sum = new Float32Array(256), count = new Float32Array(256);
  const cell = (v) => Math.min(15, Math.max(0, Math.floor((v + 6) / 12 * 16)));
  for (const [x, y, label] of [...points.train, ...points.test]) {
    const i = (15 - cell(y)) * 16 + cell(x);
    sum[i] += points.classes > 2 ? label / Math.max(1, points.classes - 1) * 2 - 1 : label;
    count[i]++;
  }
  paint(button.querySelector("canvas"), Uint8Array.from(sum, (total, i) =>
    count[i] ? Math.round((Math.max(-1, Math.min(1, total / count[i])) + 1) * 127.5) : 128), 16);
}

function buildNetwork() {
  showTip("");                     // a tip about the old network's weight or unit goes with it
  const columns = [];
  const features = options.features.map((f) =>
    `<div class="node feature ${config.features.includes(f) ? "" : "off"}" data-feature="${f}" ` +
    `${config.features.includes(f) ? `data-layer="0" data-unit="${config.features.indexOf(f)}"` : ""}>` +
    `<span class="name">${f.replace("^2", "²")}</span><canvas width="16" height="16"></canvas></div>`);
  columns.push(`<div class="column" data-control="features"><small>${word("Features")}</small>` +
               `<div class="grad"></div><div class="unit-buttons"></div>${features.join("")}</div>`);
  config.hidden.forEach((units, l) => {
    const nodes = Array.from({ length: units }, (_, u) =>
      `<div class="node" data-layer="${l + 1}" data-unit="${u}"><canvas width="16" height="16"></canvas></div>`);
    columns.push(`<div class="column"><small>${units} ${language === "ko" ? word("neurons") : "neuron" + (units > 1 ? "s" : "")}</small>` +
      `<div class="grad" data-layer="${l}"></div>` +
      `<div class="unit-buttons"><button data-action="add-unit" data-index="${l}" title="${word("add a neuron")}">+</button>` +
      `<button data-action="remove-unit" data-index="${l}" title="${word("remove a neuron")}">&minus;</button></div>` +
      `<select class="layer-activation" data-control="activations" data-index="${l}" ` +
      `title="${word("this layer's activation")}">${options.activations.map((a) =>
        `<option value="${a}"${a === layerActivation(l) ? " selected" : ""}>${activationName(a)}</option>`).join("")}` +
      `</select>${nodes.join("")}</div>`);
  });
  const outLayer = config.hidden.length + 1;
  columns.push(`<div class="column"><small>${word("Output")}</small>` +
    `<div class="grad" data-layer="${config.hidden.length}"></div><div class="unit-buttons"></div>` +
    `<div class="node output-node" data-layer="${outLayer}" data-unit="0" style="border-color:#333">` +
    `<canvas width="100" height="100"></canvas></div></div>`);
  $("#columns").innerHTML = columns.join("");
  $("#layer-count").textContent = language === "ko" ? `${word("hidden layers")} ${config.hidden.length}개` :
    `${config.hidden.length} hidden layer${config.hidden.length === 1 ? "" : "s"}`;
  // the node canvases in frame order: active features, then hidden units
  nodeCanvases = config.features.map((f) => $(`.node[data-feature="${f}"] canvas`));
  document.querySelectorAll(".node:not(.feature):not(.output-node)[data-layer] canvas")
    .forEach((c) => nodeCanvases.push(c));
  // a feature that is off still shows its map, greyed (the maps never change)
  options.features.forEach((f, i) => {
    if (!config.features.includes(f) && options.featureMaps)
      paint($(`.node[data-feature="${f}"] canvas`), Uint8Array.from(atob(options.featureMaps[i]), (c) => c.charCodeAt(0)), 16);
  });
  gradCells = [...document.querySelectorAll(".grad[data-layer]")];
  unitNodes = config.hidden.map((_, l) => [...document.querySelectorAll(`.node[data-layer="${l + 1}"]`)]);
  linkKey = "";
  hovered = null;
  draw();
}

function layerActivation(l) {
  return config.activations ? config.activations[l] : config.activation;
}

function setting(name, value) {
  return send({ type: "set", name, value });
}

document.addEventListener("change", (event) => {
  const name = event.target.dataset.control;
  if (!name || !config) return;
  let value = event.target.value;
  if (name === "activations") {
    value = config.hidden.map((_, l) => layerActivation(l));
    value[+event.target.dataset.index] = event.target.value;
  }
  if (["learningRate", "regularizationRate", "trainRatio", "noise", "batchSize", "seed",
       "dropout"].includes(name))
    value = Number(value);
  if (name === "batchNorm") value = event.target.checked;
  setting(name, value).catch(() => syncControls());
});
document.addEventListener("input", (event) => {
  const name = event.target.dataset.control, shown = name && $(`#${name}-value`);
  if (shown) shown.textContent = event.target.value;
});
document.addEventListener("click", (event) => {
  if (!config) return;
  const unit = event.target.closest(".node:not(.feature)");
  if (unit && biasOf(unit) !== undefined) return edit("bias", unit);
  const target = event.target.closest("button, select, .node.feature");
  if (!target && event.target.closest("#net")) {          // a weight's curve
    const net = $("#net-inner").getBoundingClientRect();
    const link = linkAt(event.clientX - net.left, event.clientY - net.top);
    return link ? edit("weight", link) : undefined;
  }
  if (!target) return;
  const control = target.dataset.control, action = target.dataset.action;
  if (control === "play") return running ? api.pause() : api.play();
  if (control === "step") return api.step();
  if (control === "reset") return api.reset();
  if (control === "regenerate") return send({ type: "regenerate" }).catch(showError);
  if (target.dataset.dataset) return setting("dataset", target.dataset.dataset).catch(() => {});
  if (target.classList.contains("feature")) {
    const f = target.dataset.feature;
    const next = config.features.includes(f) ? config.features.filter((x) => x !== f) : [...config.features, f];
    return setting("features", next).catch(() => {});
  }
  const hidden = [...config.hidden];
  if (action === "add-layer" && hidden.length < options.maxLayers) hidden.push(2);
  else if (action === "remove-layer" && hidden.length) hidden.pop();
  else if (action === "add-unit" && hidden[target.dataset.index] < options.maxUnits) hidden[target.dataset.index]++;
  else if (action === "remove-unit" && hidden[target.dataset.index] > 1) hidden[target.dataset.index]--;
  else return;
  setting("hidden", hidden).catch(() => {});
});
for (const kind of ["keras", "safetensors"])
  $(`#download-${kind}`).addEventListener("click", () => api.download(kind).catch(showError));
$("#upload").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  if (file.size > 60 * 1024)
    return showError(`The CSV is ${file.size} bytes; at most 60 KB (2,000 points).`,
                     `CSV가 ${file.size}바이트입니다. 60 KB(점 2,000개)까지 올릴 수 있습니다.`);
  api.upload(await file.text()).catch(() => {});
  event.target.value = "";
});
$("#language").addEventListener("click", () => translate(language === "en" ? "ko" : "en"));
$("#problem").addEventListener("change", (event) => {   // the first data set of that type
  if (!config || problemOf(config.dataset) === event.target.value) return;
  const first = options.datasets.find((d) => problemOf(d) === event.target.value);
  setting("dataset", first).catch(() => syncControls());
});
$("#show-test").addEventListener("change", draw);
$("#discretize").addEventListener("change", draw);
$("#net").addEventListener("mousemove", hover);
$("#net").addEventListener("mouseleave", () => { showTip(""); if (hovered) { hovered = null; drawLinks(); } });
new ResizeObserver(() => { linkKey = ""; if (last) draw(); }).observe($("#net-inner"));
$("#copy-code").addEventListener("click", async () => {
  try { await navigator.clipboard.writeText(code); $("#copy-code").textContent = word("Copied"); }
  catch { showError("The browser did not allow copying; playground.exportCode() gives the code.",
                    "브라우저가 복사를 허락하지 않았습니다. playground.exportCode()로 코드를 얻을 수 있습니다."); }
  setTimeout(() => { $("#copy-code").textContent = word("Copy as code"); }, 1500);
});

// the texts the server and the page show (the message, the CSV's report), kept in both
// languages so that switching the language switches them too
let shown = ["", ""], report = ["", ""];
function showError(text, korean) {
  if (text instanceof Error) { korean = text.ko; text = text.message; }
  shown = [text || "", korean || text || ""];
  showTexts();
}
function showTexts() {
  const k = language === "ko" ? 1 : 0;
  $("#message").textContent = shown[k];
  $("#report").textContent = report[k];
}

// ---------------------------------------------------------------- English / 한국어
const GRADIENT_TIP = "∇: how large the loss's gradient is for this layer's weights, ‖∂L/∂W‖ " +
  "(the bar: a log scale, 6 decades). A bar near nothing means the layer barely learns: vanishing " +
  "gradients. Compare the layers while it trains.";
const WORDS = {
  "Learning rate": "학습률", "Activation": "활성화 함수", "Optimizer": "옵티마이저", "Loss": "손실",
  "Regularization": "규제", "Regularization rate": "규제 비율", "Data": "데이터",
  "Ratio of training to test data:": "학습 데이터 비율:", "Noise:": "노이즈:", "Batch size:": "배치 크기:",
  "Regenerate": "다시 만들기", "Seed": "시드", "Output": "출력", "Test loss": "시험 손실",
  "Training loss": "학습 손실", "Show test data": "시험 데이터 보기", "Discretize output": "출력 이산화",
  "Copy as code": "코드로 복사", "Epoch": "에폭", "Features": "특성", "Download .keras": ".keras 받기",
  "Download .safetensors": ".safetensors 받기", "hidden layers": "은닉층", "neurons": "뉴런", "Copied": "복사됨",
  "Your points (CSV: x1, x2, label)": "내 점 (CSV: x1, x2, label)", "Schedule": "학습률 스케줄",
  "constant": "일정", "exponential": "지수 감소", "cosine": "코사인", "Dropout": "드롭아웃",
  "Batch norm": "배치 정규화", "Weight": "가중치", "Bias": "편향", "click to edit": "클릭해 고치기",
  "dead: outputs 0 on every training point, so it learns nothing":
    "죽은 뉴런: 모든 학습 점에서 0을 내므로 배우지 못합니다",
  "saturated: on most points in the flat tail, where its slope is ~0":
    "포화: 대부분의 점에서 기울기가 거의 0인 평평한 꼬리에 있습니다",
  "playground": "플레이그라운드", "a fresh network": "새 네트워크",
  "play / pause (space bar)": "재생 / 멈춤 (스페이스 바)", "one epoch": "한 에폭",
  "add a hidden layer": "은닉층 더하기", "remove the last hidden layer": "마지막 은닉층 빼기",
  "add a neuron": "뉴런 더하기", "remove a neuron": "뉴런 빼기",
  "this layer's activation": "이 층의 활성화 함수",
  "test points: true class (rows) by predicted class (columns)":
    "시험 점: 실제 클래스(행)와 예측한 클래스(열)",
  "Problem type": "문제 유형", "Classification": "분류", "Regression": "회귀",
  "Momentum": "모멘텀", "Square": "제곱", "Cross-entropy": "교차 엔트로피", "None": "없음",
  "Linear": "선형", "frames/s": "프레임/초", "Choose a CSV file": "CSV 파일 고르기",
  "Circle": "원", "Gaussian": "가우스", "Spiral": "나선", "Moons": "반달", "Plane": "평면",
  "Multi-Gaussian": "여러 가우스", "3 blobs": "덩어리 3개", "4 blobs": "덩어리 4개",
  "5 blobs": "덩어리 5개", "3 spirals": "나선 3개", "Your points": "내 점",
  "Colour: the class the network predicts, paler where it is less sure":
    "색: 네트워크가 예측한 클래스, 덜 확실한 곳은 옅게",
  "Colour: the predicted value, orange −1, white 0, blue +1":
    "색: 예측한 값, 주황 −1, 흰색 0, 파랑 +1",
  "Colour: the network's output, orange −1 (one class), blue +1 (the other); the points are the data":
    "색: 네트워크의 출력, 주황 −1(한 클래스), 파랑 +1(다른 클래스); 점은 데이터입니다",
  [GRADIENT_TIP]: "∇: 이 층 가중치에 대한 손실의 기울기 크기 ‖∂L/∂W‖ (막대는 로그 눈금, 6자리). " +
    "막대가 거의 없으면 이 층은 거의 배우지 못합니다: 기울기 소실. 학습 중에 층마다 비교해 보세요.",
};
let language = "en";
function translate(name) {
  if (name !== "en" && name !== "ko") throw new Error(`language must be en or ko; received ${name}`);
  language = name;
  document.documentElement.lang = name;
  document.querySelectorAll("[data-i18n]").forEach((element) => {
    element.textContent = word(element.dataset.i18n);
  });
  document.querySelectorAll("[data-i18n-title]").forEach((element) => {
    element.title = word(element.dataset.i18nTitle);
  });
  document.title = `glassnet ${word("playground")}`;
  $("#language").textContent = name === "ko" ? "English" : "한국어";
  try { localStorage.setItem("glassnet-playground-language", name); } catch { /* private mode */ }
  showTexts();
  if (options) relabel();
  if (config) buildNetwork();
  return name;
}
function word(english) { return language === "ko" ? (WORDS[english] || english) : english; }

// ---------------------------------------------------------------- the URL
const NUMBERS = ["learningRate", "regularizationRate", "batchSize", "noise", "trainRatio", "seed",
                 "dropout"];
function fromHash() {
  const out = {};
  for (const [key, value] of new URLSearchParams(location.hash.slice(1))) {
    if (key === "features" || key === "activations") out[key] = value ? value.split(",") : [];
    else if (key === "hidden") out[key] = value ? value.split(",").map(Number) : [];
    else if (key === "batchNorm") out[key] = value === "true";
    else out[key] = NUMBERS.includes(key) ? Number(value) : value;
  }
  return out;
}
function toHash() {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(config))
    if (value !== null) params.set(key, Array.isArray(value) ? value.join(",") : String(value));
  history.replaceState(null, "", "#" + params.toString());
}

// ---------------------------------------------------------------- window.playground
function state() {
  const h = last ? last.header : null;
  return { epoch: h ? h.epoch : 0, running,
           trainLoss: h && h.epoch > 0 ? h.trainLoss : null,     // null before the first step
           testLoss: h && h.epoch > 0 ? h.testLoss : null,
           trainAccuracy: h ? h.trainAccuracy : null, testAccuracy: h ? h.testAccuracy : null,
           fps: fps.value, config: config ? JSON.parse(JSON.stringify(config)) : null,
           message: $("#message").textContent || null };
}

const api = {
  state,
  set: (name, value) => setting(name, value),
  play: async () => { await send({ type: "play" }); return state(); },  // its frame starts the loop
  pause: async () => { await send({ type: "pause" }); return state(); },
  step: async () => { const before = last ? last.header.epoch : 0; await send({ type: "step" });
                      await until(() => last && last.header.epoch > before); return state(); },
  reset: async () => { await send({ type: "reset" }); return state(); },
  exportCode: () => code,
  download: (format) => send({ type: "download", format }),
  upload: (csv) => send({ type: "upload", csv }).then(() => $("#report").textContent),
  language: (name) => translate(name),
};
function until(test) {
  return new Promise((resolve) => { const check = () => test() ? resolve() : setTimeout(check, 10); check(); });
}
document.addEventListener("keydown", (event) => {
  if (event.target.tagName === "INPUT" || event.target.tagName === "SELECT") return;
  if (event.code === "Space") { event.preventDefault(); running ? api.pause() : api.play(); }
});
try { const saved = localStorage.getItem("glassnet-playground-language"); if (saved) translate(saved); }
catch { /* private mode */ }
connect();
