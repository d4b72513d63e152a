// The glassnet playground page: draws what the server's Session sends, and
// sends it the settings. No build step: a plain ES module.

const $ = (selector) => document.querySelector(selector);
const NEG = [245, 147, 34], MID = [232, 234, 235], POS = [8, 119, 189];

let socket, options = null, config = null, code = "", points = null;
let last = null, running = false, waiting = false, nextId = 1;
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

function paint(canvas, bytes, side, classes = null, discretize = false) {
  const ctx = canvas.getContext("2d"), image = ctx.createImageData(side, side);
  for (let i = 0; i < side * side; i++) {
    let rgb;
    if (classes) {                 // the winning class, paler where unsure
      const base = CLASS_COLOURS[classes[i] % CLASS_COLOURS.length];
      const sure = discretize ? 1 : Math.max(0, bytes[i] / 255);
      rgb = base.map((c, k) => Math.round(MID[k] + (c - MID[k]) * sure * 0.8));
    } else {
      const b = discretize ? (bytes[i] >= 128 ? 255 : 0) : bytes[i];
      rgb = colour(b);
    }
    image.data.set([rgb[0], rgb[1], rgb[2], 255], i * 4);
  }
  if (canvas.width !== side) { canvas.width = side; canvas.height = side; }
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
    else if (message.type === "error" || message.type === "full") showError(message.message);
  };
  socket.onclose = () => showError("The connection to the playground server closed; reload the page.");
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
    showError(message.error);
    if (request) request.reject(new Error(message.error));
    return;
  }
  showError("");
  if (message.report) $("#report").textContent = message.report;
  config = message.config; code = message.code; running = message.running;
  syncControls();
  toHash();
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
  if (header.message) { showError(header.message); running = false; }
  draw();
  fps.frames++;
  const now = performance.now();
  if (now - fps.since >= 1000) {
    fps.value = fps.frames * 1000 / (now - fps.since); fps.frames = 0; fps.since = now;
    $("#fps").textContent = running ? `${fps.value.toFixed(0)} frames/s` : "";
  }
  waiting = false;
  if (running) requestAnimationFrame(requestFrame);
}

function requestFrame() {
  if (!running || waiting || socket.readyState !== 1) return;
  waiting = true;
  socket.send(JSON.stringify({ type: "frame" }));
}

// ---------------------------------------------------------------- drawing
const small = document.createElement("canvas");    // the output map at its own size
function draw() {
  if (!last || !config) return;
  const h = last.header;
  $("#epoch").textContent = String(h.epoch).padStart(6, "0").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  $("#train-loss").textContent = h.trainLoss === null ? "NaN" : h.trainLoss.toFixed(3);
  $("#test-loss").textContent = h.testLoss === null ? "NaN" : h.testLoss.toFixed(3);
  $("#accuracy").textContent = h.testAccuracy === null ? "" : language === "ko" ?
    `정확도: 학습 ${(100 * h.trainAccuracy).toFixed(1)}%, 시험 ${(100 * h.testAccuracy).toFixed(1)}%` :
    `Accuracy: train ${(100 * h.trainAccuracy).toFixed(1)}%, test ${(100 * h.testAccuracy).toFixed(1)}%`;
  $("#play").innerHTML = running ? "&#10074;&#10074;" : "&#9654;";
  const discretize = $("#discretize").checked;
  const out = $("#output");
  paint(small, last.output, h.grid, last.classes, discretize);
  const ctx = out.getContext("2d");
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(small, 0, 0, out.width, out.height);
  drawPoints(ctx, out.width);
  document.querySelectorAll(".node:not(.output-node) canvas[data-order]").forEach((canvas) => {
    const i = +canvas.dataset.order;
    if (last.nodes[i]) paint(canvas, last.nodes[i], h.cell, null, discretize);
  });
  const outNode = $(".output-node canvas");
  if (outNode) outNode.getContext("2d").drawImage(small, 0, 0, outNode.width, outNode.height);
  drawLinks();
  drawCurve();
  drawInside(h);
}

function drawInside(h) {
  // gradient flow: ||∂L/∂kernel|| of the layer into each column, on a log scale
  const grads = h.gradients || [];
  const top = Math.max(...grads.filter((g) => g), 1e-12);
  document.querySelectorAll(".grad").forEach((cell) => {
    const g = grads[+cell.dataset.layer];
    if (g === undefined) return;
    const share = g ? Math.max(0, 1 + Math.log10(g / top) / 6) : 0;   // 6 decades wide
    cell.innerHTML = `∇ ${g === null ? "NaN" : g.toExponential(1)}<i style="width:${(share * 100).toFixed(0)}%"></i>`;
    cell.title = "size of the gradient reaching this layer's weights (the bar: log scale, 6 decades)";
  });
  (h.units || []).forEach((marks, l) => marks.forEach((mark, u) => {
    const node = document.querySelector(`.node[data-layer="${l + 1}"][data-unit="${u}"]`);
    if (!node) return;
    node.classList.toggle("dead", mark === "dead");
    node.classList.toggle("saturated", mark === "saturated");
    node.title = mark === "dead" ? "dead: outputs 0 on every training point, so it learns nothing"
      : mark === "saturated" ? "saturated: on most points in the flat tail, where its slope is ~0" : "";
  }));
  const table = $("#confusion");
  if (!h.confusion) { table.innerHTML = ""; return; }
  const k = h.confusion.length;
  table.innerHTML = `<tr><th>${language === "ko" ? "실제 ↓ 예측 →" : "true ↓ predicted →"}</th>` +
    h.confusion.map((_, j) => `<th>${k === 2 ? (j ? "+1" : "-1") : j}</th>`).join("") + "</tr>" +
    h.confusion.map((row, i) => `<tr><th>${k === 2 ? (i ? "+1" : "-1") : i}</th>` +
      row.map((n, j) => `<td class="${i === j ? "hit" : ""}">${n}</td>`).join("") + "</tr>").join("");
}

function drawPoints(ctx, size) {
  if (!points) return;
  const scale = (v) => (v + 6) / 12 * size;
  const sets = [[points.train, "#fff"]];
  if ($("#show-test").checked) sets.push([points.test, "#000"]);
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
}

function drawCurve() {
  const canvas = $("#curve"), ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const values = curve.flatMap((c) => [c[1], c[2]]).filter((v) => v !== null && isFinite(v));
  if (curve.length < 2 || !values.length) return;
  const top = Math.max(...values) || 1, n = curve.length;
  for (const [index, style] of [[1, "#333"], [2, "#999"]]) {
    ctx.beginPath(); ctx.strokeStyle = style;
    curve.forEach((c, i) => {
      const x = i / (n - 1) * canvas.width, y = canvas.height - (c[index] ?? top) / top * (canvas.height - 4);
      i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    });
    ctx.stroke();
  }
}

function nodeCentre(layer, unit) {
  const node = document.querySelector(`.node[data-layer="${layer}"][data-unit="${unit}"]`);
  if (!node) return null;
  const box = node.getBoundingClientRect(), net = $("#net").getBoundingClientRect();
  return [box.left - net.left + box.width / 2, box.top - net.top + box.height / 2, box.width / 2];
}

let linkKey = "";
function drawLinks() {
  // the paths are made when the network's shape or the layout changes; each frame
  // only recolours and resizes them
  const svg = $("#links");
  if (!last) return;
  const net = $("#net").getBoundingClientRect();
  const key = JSON.stringify(last.header.shape) + config.features.join() + net.width + "x" + net.height;
  if (key !== linkKey) {
    const parts = [];
    last.weights.forEach((w, l) => {
      for (let j = 0; j < w.cols; j++) {
        const to = nodeCentre(l + 1, j);
        for (let i = 0; i < w.rows; i++) {
          const from = nodeCentre(l, i);
          if (!from || !to) continue;
          parts.push(`<path class="link" data-layer="${l}" data-row="${i}" data-column="${j}" ` +
            `d="M${from[0] + from[2]},${from[1]} C${(from[0] + to[0]) / 2},${from[1]} ` +
            `${(from[0] + to[0]) / 2},${to[1]} ${to[0] - to[2]},${to[1]}" stroke-opacity="0.7">` +
            `<title></title></path>`);
        }
      }
    });
    svg.innerHTML = parts.join("");
    linkKey = key;
  }
  for (const path of svg.children) {
    const w = last.weights[+path.dataset.layer];
    if (!w) continue;
    const value = w.kernel[+path.dataset.row * w.cols + +path.dataset.column];
    path.setAttribute("stroke", value < 0 ? "var(--neg)" : "var(--pos)");
    path.setAttribute("stroke-width", Math.min(8, 0.5 + Math.abs(value) * 3).toFixed(2));
    path.firstChild.textContent = `Weight ${value.toFixed(3)} (click to edit)`;
  }
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
  fill("activation", options.activations, (a) => a === "relu" ? "ReLU" : a[0].toUpperCase() + a.slice(1));
  $('[data-control="dataset"]').innerHTML = options.datasets.map((d) =>
    `<button data-dataset="${d}" title="${d}"><canvas width="16" height="16"></canvas></button>`).join("");
  options.datasets.forEach((d, i) => {
    const thumb = options.thumbnails[i];
    paint(document.querySelectorAll(".datasets canvas")[i], Uint8Array.from(atob(thumb), (c) => c.charCodeAt(0)), 16);
  });
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
  document.querySelectorAll(".datasets button").forEach((b) =>
    b.classList.toggle("selected", b.dataset.dataset === config.dataset));
  buildNetwork();
}

function buildNetwork() {
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
      `<div class="unit-buttons"><button data-action="add-unit" data-index="${l}">+</button>` +
      `<button data-action="remove-unit" data-index="${l}">&minus;</button></div>` +
      `<select class="layer-activation" data-control="activations" data-index="${l}" ` +
      `title="this layer's activation">${options.activations.map((a) =>
        `<option value="${a}"${a === layerActivation(l) ? " selected" : ""}>${a}</option>`).join("")}` +
      `</select>${nodes.join("")}</div>`);
  });
  const outLayer = config.hidden.length + 1, outputs = last ? last.header.shape.at(-1) : 1;
  columns.push(`<div class="column"><small>${word("Output")}</small>` +
    `<div class="grad" data-layer="${config.hidden.length}"></div><div class="unit-buttons"></div>` +
    Array.from({ length: 0 }, () => "").join("") +
    `<div class="node output-node" data-layer="${outLayer}" data-unit="0" style="border-color:#333">` +
    `<canvas width="100" height="100"></canvas></div></div>`);
  $("#columns").innerHTML = columns.join("");
  $("#layer-count").textContent = language === "ko" ? `${word("hidden layers")} ${config.hidden.length}개` :
    `${config.hidden.length} hidden layer${config.hidden.length === 1 ? "" : "s"}`;
  // the node canvases in frame order: active features, then hidden units
  const ordered = [];
  config.features.forEach((f) => ordered.push($(`.node[data-feature="${f}"] canvas`)));
  document.querySelectorAll('.node:not(.feature):not(.output-node)[data-layer] canvas').forEach((c) => ordered.push(c));
  document.querySelectorAll(".node canvas").forEach((c) => c.removeAttribute("data-order"));
  ordered.forEach((c, i) => c && c.setAttribute("data-order", i));
  void outputs;
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
  const target = event.target.closest("button, .node.feature, .link");
  if (!target || !config) return;
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
  if (target.classList.contains("link")) {
    const now = last.weights[+target.dataset.layer].kernel[+target.dataset.row * last.weights[+target.dataset.layer].cols + +target.dataset.column];
    const typed = prompt("Weight", now.toFixed(3));
    if (typed === null) return;
    return send({ type: "edit", layer: +target.dataset.layer, row: +target.dataset.row,
                  column: +target.dataset.column, value: Number(typed) }).catch(() => {});
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
  if (file.size > 60 * 1024) return showError(`The CSV is ${file.size} bytes; at most 60 KB (2,000 points).`);
  api.upload(await file.text()).catch(() => {});
  event.target.value = "";
});
$("#language").addEventListener("click", () => translate(language === "en" ? "ko" : "en"));
$("#show-test").addEventListener("change", draw);
$("#discretize").addEventListener("change", draw);
$("#copy-code").addEventListener("click", async () => {
  try { await navigator.clipboard.writeText(code); $("#copy-code").textContent = word("Copied"); }
  catch { showError("The browser did not allow copying; playground.exportCode() gives the code."); }
  setTimeout(() => { $("#copy-code").textContent = word("Copy as code"); }, 1500);
});
window.addEventListener("resize", () => { linkKey = ""; drawLinks(); });

function showError(text) { $("#message").textContent = text || ""; }

// ---------------------------------------------------------------- English / 한국어
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
  "Batch norm": "배치 정규화",
};
let language = "en";
function translate(name) {
  if (name !== "en" && name !== "ko") throw new Error(`language must be en or ko; received ${name}`);
  language = name;
  document.documentElement.lang = name;
  document.querySelectorAll("[data-i18n]").forEach((element) => {
    const english = element.dataset.i18n;
    element.textContent = name === "ko" ? (WORDS[english] || english) : english;
  });
  $("#language").textContent = name === "ko" ? "English" : "한국어";
  try { localStorage.setItem("glassnet-playground-language", name); } catch { /* private mode */ }
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
window.playground = api;
document.addEventListener("keydown", (event) => {
  if (event.target.tagName === "INPUT" || event.target.tagName === "SELECT") return;
  if (event.code === "Space") { event.preventDefault(); running ? api.pause() : api.play(); }
});
try { const saved = localStorage.getItem("glassnet-playground-language"); if (saved) translate(saved); }
catch { /* private mode */ }
connect();
