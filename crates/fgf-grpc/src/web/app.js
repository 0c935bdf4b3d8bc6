// The fgf-tagger page: sends the document to POST /v1/tag and draws the
// answer with render.js (loaded first).
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
        el("td", { className: "description" }, l.description || ""),
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
  const bars = summaryBars(answer.summary || {});
  $("pillars").replaceChildren(...bars.pillars);
  $("themes").replaceChildren(...bars.themes);
  $("summary").hidden = false;
  $("document").replaceChildren(...spanBlocks(codePoints(answer, request.text), answer));
  const ms = performance.now() - started;
  document.body.dataset.renderMs = ms.toFixed(1);
  say((answer.spans || []).length + " spans in " + ms.toFixed(0) + " ms");
  lastAnswer = answer;
  $("download").disabled = false;
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
