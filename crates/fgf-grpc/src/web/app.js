// The fgf-tagger page: sends the document to POST /v1/tag and draws the
// answer. Offsets are the API's code point offsets (charStart/charEnd),
// applied to Array.from(text), so characters outside the BMP (two UTF-16
// units in a JS string) land where they should.
//
// A link can carry a document: /?text=...&granularity=sentence&focus=CODE
// tags it on load and focuses the first chip of label CODE (its evidence
// underlined), for sharing a result and for the browser test; &repeat=N
// makes the document the text N times (a large document for measuring the
// page, which a link cannot carry).
"use strict";

const $ = (id) => document.getElementById(id);
let lastAnswer = null;
let pendingFile = null;

function say(message, isError) {
  const s = $("status");
  s.textContent = message;
  s.classList.toggle("error", Boolean(isError));
}

// The bearer token field, when the server needs one.
function auth(headers) {
  const token = $("token").value.trim();
  if (token) headers.Authorization = "Bearer " + token;
  return headers;
}

function pillarOf(code) {
  return code.split(".")[0];
}

function el(tag, props, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props || {});
  e.append(...children);
  return e;
}

async function loadModel() {
  try {
    const r = await fetch("/v1/model", { headers: auth({}) });
    const m = await r.json();
    if (!r.ok) throw new Error(m.error ? m.error.message : "HTTP " + r.status);
    $("model-version").textContent = m.version;
    const rows = (m.labels || []).map((l) =>
      el("tr", {},
        el("td", {}, el("code", {}, l.code)),
        el("td", {}, l.name || ""),
        el("td", {}, (l.threshold || 0).toFixed(2)),
        el("td", {}, l.test && l.test.f1 !== undefined ? l.test.f1.toFixed(3) : "")));
    document.querySelector("#label-table tbody").replaceChildren(...rows);
  } catch (e) {
    $("model-version").textContent = "unavailable (" + e.message + ")";
  }
}

function toBase64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

async function takeFile(file) {
  if (!file) return;
  pendingFile = { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) };
  $("text").value = "";
  $("text").placeholder = "file: " + file.name + " (" + pendingFile.bytes.length + " bytes); type here to tag text instead";
  say("file " + file.name + " ready: press Tag");
}

async function tag(event) {
  if (event) event.preventDefault();
  const granularity = document.querySelector("input[name=granularity]:checked").value;
  const threshold = parseFloat($("threshold").value);
  const request = { granularity: granularity, includeEvidence: true };
  if (threshold > 0) request.threshold = threshold;
  if (pendingFile) {
    request.id = pendingFile.name;
    request.content = toBase64(pendingFile.bytes);
    request.fileName = pendingFile.name;
  } else {
    request.id = "page";
    request.text = $("text").value;
    if (!request.text.trim()) {
      say("Paste a document or choose a file first.", true);
      $("text").focus();
      return;
    }
  }
  say("tagging…");
  const started = performance.now();
  let answer;
  try {
    const r = await fetch("/v1/tag", {
      method: "POST",
      headers: auth({ "Content-Type": "application/json" }),
      body: JSON.stringify(request),
    });
    answer = await r.json().catch(() => null);
    if (!r.ok) {
      const e = answer && answer.error;
      say(e ? e.status + ": " + e.message : "HTTP " + r.status, true);
      return;
    }
  } catch (e) {
    say("the server did not answer: " + e.message, true);
    return;
  }
  render(answer.text || request.text, answer);
  const ms = performance.now() - started;
  document.body.dataset.renderMs = ms.toFixed(1);
  say((answer.spans || []).length + " spans in " + ms.toFixed(0) + " ms");
  lastAnswer = answer;
  $("download").disabled = false;
}

function render(text, answer) {
  const cps = Array.from(text);
  drawSummary(answer.summary || {});
  const blocks = (answer.spans || []).map((s) => spanBlock(cps, s));
  $("document").replaceChildren(...blocks);
}

function bar(share) {
  const pillar = pillarOf(share.code);
  const pct = Math.round((share.share || 0) * 100);
  const fillBar = el("div", { className: "fill " + pillar, role: "img", ariaLabel: share.code + " " + pct + "%" });
  fillBar.style.width = Math.max(pct, 1) + "%";
  return el("div", { className: "bar" },
    el("span", {}, share.name + " " + share.code), fillBar, el("span", {}, pct + "%"));
}

function drawSummary(summary) {
  const pillars = ["fang", "guan", "fu"].map((code) =>
    (summary.pillars || []).find((p) => p.code === code) || { code: code, name: { fang: "简政放权", guan: "放管结合", fu: "优化服务" }[code], share: 0 });
  $("pillars").replaceChildren(...pillars.map(bar));
  const themes = (summary.themes || []).slice().sort((a, b) => (b.share || 0) - (a.share || 0)).slice(0, 5);
  $("themes").replaceChildren(...themes.map(bar));
  $("summary").hidden = false;
}

// Fills `node` with the code points [start, end) of the document, the
// ranges in `marks` (absolute code point offsets; overlapping ones merged)
// wrapped in <mark>.
function fill(node, cps, start, end, marks) {
  const parts = [];
  let at = start;
  const sorted = marks
    .map(([a, b]) => [Math.max(a, start), Math.min(b, end)])
    .filter(([a, b]) => a < b)
    .sort((x, y) => x[0] - y[0]);
  const merged = [];
  for (const [a, b] of sorted) {
    const last = merged[merged.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  for (const [a, b] of merged) {
    parts.push(document.createTextNode(cps.slice(at, a).join("")));
    const m = el("mark", { className: "evidence" }, cps.slice(a, b).join(""));
    m.dataset.start = a;
    m.dataset.end = b;
    parts.push(m);
    at = b;
  }
  parts.push(document.createTextNode(cps.slice(at, end).join("")));
  node.replaceChildren(...parts);
}

function chips(cps, span, textNode) {
  const start = span.charStart || 0;
  const end = span.charEnd || 0;
  const labels = (span.pillars || []).concat(span.themes || []);
  const row = el("div", { className: "chips" });
  for (const l of labels) {
    const chip = el("button", { type: "button", className: "chip " + pillarOf(l.code) },
      l.code + " " + (l.name || "") + " " + (l.score || 0).toFixed(2));
    chip.dataset.code = l.code;
    chip.title = "evidence: " + (l.evidence || []).map((e) => e.term).join(", ");
    const ranges = (l.evidence || []).map((e) => [e.charStart || 0, e.charEnd || 0]);
    const on = () => fill(textNode, cps, start, end, ranges);
    const off = () => fill(textNode, cps, start, end, []);
    chip.addEventListener("mouseenter", on);
    chip.addEventListener("focus", on);
    chip.addEventListener("mouseleave", off);
    chip.addEventListener("blur", off);
    row.append(chip);
  }
  return row;
}

function spanBlock(cps, span) {
  const role = (span.role || "ROLE_UNSPECIFIED").replace("ROLE_", "").toLowerCase();
  const block = el("div", { className: "span role-" + role });
  block.dataset.role = role;
  block.dataset.start = span.charStart || 0;
  block.dataset.end = span.charEnd || 0;
  const pillars = (span.pillars || []).slice().sort((a, b) => (b.score || 0) - (a.score || 0));
  if (role === "body" && pillars.length) block.classList.add("pillar-" + pillars[0].code);
  const sentences = span.sentences || [];
  const text = el(role === "heading" ? "h3" : "p", { className: "text" });
  if (sentences.length) {
    // Sentence spans: each with its text and its own chips.
    block.append(chips(cps, span, text));
    for (const s of sentences) {
      const sentenceText = el("span", { className: "text" });
      fill(sentenceText, cps, s.charStart || 0, s.charEnd || 0, []);
      const sentence = el("div", { className: "sentence" }, sentenceText, chips(cps, s, sentenceText));
      sentence.dataset.start = s.charStart || 0;
      sentence.dataset.end = s.charEnd || 0;
      block.append(sentence);
    }
    return block;
  }
  fill(text, cps, span.charStart || 0, span.charEnd || 0, []);
  block.append(text, chips(cps, span, text));
  return block;
}

function download() {
  if (!lastAnswer) return;
  const blob = new Blob([JSON.stringify(lastAnswer, null, 2)], { type: "application/json" });
  const a = el("a", { href: URL.createObjectURL(blob), download: (lastAnswer.id || "tagged") + ".json" });
  document.body.append(a);
  a.click();
  a.remove();
}

function setUp() {
  $("form").addEventListener("submit", tag);
  $("download").addEventListener("click", download);
  $("file").addEventListener("change", (e) => takeFile(e.target.files[0]));
  const text = $("text");
  text.addEventListener("input", () => { pendingFile = null; });
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) tag(e);
  });
  text.addEventListener("dragover", (e) => e.preventDefault());
  text.addEventListener("drop", (e) => {
    e.preventDefault();
    takeFile(e.dataTransfer.files[0]);
  });
  const threshold = $("threshold");
  threshold.addEventListener("input", () => {
    const v = parseFloat(threshold.value);
    $("threshold-value").textContent = v > 0 ? v.toFixed(2) : "model's";
  });
  loadModel();
  const params = new URLSearchParams(location.search);
  if (params.has("text")) {
    const times = Math.min(Math.max(parseInt(params.get("repeat") || "1", 10) || 1, 1), 10000);
    text.value = params.get("text").repeat(times);
    if (params.get("granularity") === "sentence") {
      document.querySelector("input[value=GRANULARITY_SENTENCE]").checked = true;
    }
    tag().then(() => {
      const code = params.get("focus");
      const chip = code && document.querySelector('.chip[data-code="' + CSS.escape(code) + '"]');
      if (chip) chip.focus();
    });
  }
}

setUp();
