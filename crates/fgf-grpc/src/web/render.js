// Drawing a TagResponse, shared by the page (app.js) and the batch report
// that `fgf tag --html` writes (report.js). Offsets are the API's code
// point offsets (charStart/charEnd), applied to an array of code points,
// so characters outside the BMP (two UTF-16 units in a JS string) land
// where they should.
"use strict";

function pillarOf(code) {
  return code.split(".")[0];
}

function el(tag, props, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props || {});
  e.append(...children);
  return e;
}

function bar(share) {
  const pillar = pillarOf(share.code);
  const pct = Math.round((share.share || 0) * 100);
  const fillBar = el("div", { className: "fill " + pillar, role: "img", ariaLabel: share.code + " " + pct + "%" });
  fillBar.style.width = Math.max(pct, 1) + "%";
  return el("div", { className: "bar" },
    el("span", {}, share.name + " " + share.code), fillBar, el("span", {}, pct + "%"));
}

// The pillar shares (all three, in schema order) and the top 5 themes of
// a TagResponse summary, as bars.
function summaryBars(summary) {
  const names = { fang: "简政放权", guan: "放管结合", fu: "优化服务" };
  const pillars = ["fang", "guan", "fu"].map((code) =>
    (summary.pillars || []).find((p) => p.code === code) || { code: code, name: names[code], share: 0 });
  const themes = (summary.themes || []).slice().sort((a, b) => (b.share || 0) - (a.share || 0)).slice(0, 5);
  return { pillars: pillars.map(bar), themes: themes.map(bar) };
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

// The document's code points: the answer's `text` (a request that sent
// `content`), else `fallback` (the text the page sent), else rebuilt from
// the spans' own text at their offsets (a line of `fgf tag` output; the
// gaps between spans are whitespace no span shows).
function codePoints(answer, fallback) {
  if (answer.text) return Array.from(answer.text);
  if (fallback) return Array.from(fallback);
  const cps = [];
  for (const s of answer.spans || []) {
    Array.from(s.text || "").forEach((c, i) => { cps[(s.charStart || 0) + i] = c; });
  }
  return cps;
}

// Every span of `answer` as a block, in reading order.
function spanBlocks(cps, answer) {
  return (answer.spans || []).map((s) => spanBlock(cps, s));
}
