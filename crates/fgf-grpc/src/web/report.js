// The batch report written by `fgf tag --html`: one self-contained file.
// Every tagged document is embedded as its output line (a TagResponse in
// proto JSON) in <script type="application/json" class="doc" id="doc-N">,
// parsed only when it is opened; the table comes from the small
// <script type="application/json" id="report"> block written at the end.
// Drawing a document is render.js's, as on the page.
//
// State lives in the location hash, so a view can be linked and the back
// button works: #sort=KEY (or -KEY for descending) orders the table,
// &doc=N opens document N.
"use strict";

const report = JSON.parse(document.getElementById("report").textContent);

const COLUMNS = [
  { key: "seq", title: "#", numeric: true },
  { key: "id", title: "id" },
  { key: "chars", title: "chars", numeric: true },
  { key: "bodyChars", title: "body chars", numeric: true },
  { key: "fang", title: "放 fang", numeric: true, share: true },
  { key: "guan", title: "管 guan", numeric: true, share: true },
  { key: "fu", title: "服 fu", numeric: true, share: true },
  { key: "themes", title: "top themes" },
];

function state() {
  const p = new URLSearchParams(location.hash.slice(1));
  const sort = p.get("sort") || "seq";
  const desc = sort.startsWith("-");
  const key = desc ? sort.slice(1) : sort;
  return {
    key: COLUMNS.some((c) => c.key === key) ? key : "seq",
    desc: desc,
    doc: p.has("doc") ? parseInt(p.get("doc"), 10) : null,
  };
}

function hashFor(s) {
  let h = "sort=" + (s.desc ? "-" : "") + s.key;
  if (s.doc !== null) h += "&doc=" + s.doc;
  return "#" + h;
}

function value(row, key) {
  if (key === "themes") return (row.themes || []).join(" ");
  if (key === "id") return row.id || "";
  return row[key] || 0;
}

function sortedRows(s) {
  const column = COLUMNS.find((c) => c.key === s.key);
  const rows = report.rows.slice();
  rows.sort((a, b) => {
    const x = value(a, s.key);
    const y = value(b, s.key);
    const order = column.numeric ? x - y : String(x).localeCompare(String(y), "zh-CN");
    return (s.desc ? -order : order) || a.seq - b.seq;
  });
  return rows;
}

function shareCell(share) {
  const pct = Math.round((share || 0) * 100);
  const fillBar = el("span", { className: "cell-fill" });
  fillBar.style.width = pct + "%";
  return [el("span", { className: "cell-bar" }, fillBar), " " + pct + "%"];
}

function headerRow(s) {
  return el("tr", {}, ...COLUMNS.map((c) => {
    const next = { key: c.key, desc: c.key === s.key ? !s.desc : Boolean(c.numeric && c.key !== "seq"), doc: null };
    const th = el("th", { scope: "col" },
      el("a", { href: hashFor(next), className: "sort" }, c.title));
    th.dataset.key = c.key;
    if (c.key === s.key) th.setAttribute("aria-sort", s.desc ? "descending" : "ascending");
    if (c.share) th.classList.add(c.key);
    return th;
  }));
}

function bodyRow(row, s) {
  const id = row.doc === undefined || row.doc === null
    ? el("span", {}, row.id || "(no id)")
    : el("a", { href: hashFor({ key: s.key, desc: s.desc, doc: row.doc }) }, row.id || "(no id)");
  const tr = el("tr", {},
    el("td", { className: "num" }, String(row.seq + 1)),
    el("td", {}, id),
    el("td", { className: "num" }, String(row.chars || 0)),
    el("td", { className: "num" }, String(row.bodyChars || 0)),
    ...["fang", "guan", "fu"].map((p) => el("td", { className: "share " + p }, ...shareCell(row[p]))),
    el("td", {}, row.error
      ? el("span", { className: "failed" }, row.error.code + ": " + row.error.message)
      : (row.themes || []).join(", ")));
  tr.dataset.seq = row.seq;
  if (row.error) tr.classList.add("failed");
  return tr;
}

function drawTable(s) {
  const table = document.getElementById("docs");
  table.tHead.replaceChildren(headerRow(s));
  const filter = document.getElementById("filter").value.trim().toLowerCase();
  const rows = sortedRows(s).filter((r) => !filter || (r.id || "").toLowerCase().includes(filter));
  table.tBodies[0].replaceChildren(...rows.map((r) => bodyRow(r, s)));
  return rows;
}

function drawDocument(s, order) {
  const view = document.getElementById("view");
  const block = document.getElementById("doc-" + s.doc);
  if (!block) {
    view.hidden = true;
    return;
  }
  const answer = JSON.parse(block.textContent);
  const bars = summaryBars(answer.summary || {});
  document.getElementById("view-title").textContent = answer.id || "(no id)";
  document.getElementById("pillars").replaceChildren(...bars.pillars);
  document.getElementById("themes").replaceChildren(...bars.themes);
  document.getElementById("document").replaceChildren(...spanBlocks(codePoints(answer), answer));
  // Previous and next document in the table's order.
  const docs = order.filter((r) => r.doc !== undefined && r.doc !== null).map((r) => r.doc);
  const at = docs.indexOf(s.doc);
  const step = (to, label) => to === undefined
    ? el("span", { className: "help" }, label)
    : el("a", { href: hashFor({ key: s.key, desc: s.desc, doc: to }) }, label);
  document.getElementById("view-nav").replaceChildren(
    el("a", { href: hashFor({ key: s.key, desc: s.desc, doc: null }) }, "all documents"), " · ",
    step(at > 0 ? docs[at - 1] : undefined, "previous"), " · ",
    step(at >= 0 && at + 1 < docs.length ? docs[at + 1] : undefined, "next"));
  view.hidden = false;
}

function draw() {
  const started = performance.now();
  const s = state();
  const order = drawTable(s);
  const viewing = s.doc !== null && document.getElementById("doc-" + s.doc) !== null;
  document.getElementById("table-section").hidden = viewing;
  if (viewing) {
    drawDocument(s, order);
    document.getElementById("view-title").focus();
  } else {
    document.getElementById("view").hidden = true;
  }
  // How long drawing took (the table, and the view when one is open).
  document.body.dataset.drawMs = (performance.now() - started).toFixed(1);
}

function setUp() {
  // Milliseconds from navigation to here: reading the file and parsing it.
  document.body.dataset.loadMs = performance.now().toFixed(0);
  const failed = report.rows.filter((r) => r.error).length;
  document.getElementById("report-meta").textContent =
    (report.rows.length - failed) + " documents tagged" +
    (failed ? ", " + failed + " failed" : "") +
    " · model " + (report.models.join(", ") || "none") +
    " · written " + report.written + " by fgf " + report.fgfVersion;
  document.getElementById("filter").addEventListener("input", draw);
  window.addEventListener("hashchange", draw);
  draw();
}

setUp();
