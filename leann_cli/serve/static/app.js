// leann serve: the page. Plain JavaScript, no build step; every text is put in with textContent.
"use strict";

const $ = (id) => document.getElementById(id);
const OPS = ["=", "!=", ">=", "<=", ">", "<", "~"];
let indexes = [];

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function human(n) {
  if (n === null || n === undefined) return "?";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return (i === 0 ? n.toFixed(0) : n.toFixed(1)) + " " + units[i];
}

function setStatus(text, isError) {
  const s = $("status");
  s.textContent = text || "";
  s.classList.toggle("error", Boolean(isError));
}

async function api(path, options) {
  const resp = await fetch(path, Object.assign({ credentials: "same-origin" }, options || {}));
  let data = null;
  try { data = await resp.json(); } catch (e) { data = null; }
  if (!resp.ok) throw new Error((data && data.error) || ("HTTP " + resp.status));
  return data;
}

function postJSON(path, body) {
  return { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
}

// ------------------------------------------------------------------ indexes

function currentIndex() {
  const name = $("index").value;
  return indexes.find((i) => i.name === name) || null;
}

function renderIndexList() {
  const list = $("index-list");
  list.textContent = "";
  if (!indexes.length) {
    list.appendChild(el("li", "muted", "No indexes here yet: build one below, or run `leann build NAME --docs PATH`."));
    return;
  }
  for (const info of indexes) {
    const li = el("li");
    li.appendChild(el("strong", null, info.name));
    const disk = info.disk || {};
    const line = info.passages + " passages · " + human(info.size_bytes) + " on disk · index " +
      human(disk.index_bytes) + " vs flat vectors " + human(disk.flat_bytes);
    li.appendChild(el("div", "muted size", line));
    if (info.graph_only) {
      li.appendChild(el("div", "muted graph-only",
        "Graph only (no stored embeddings or PQ codes): a compaction re-embeds every passage."));
    }
    if (disk.flat_bytes) {
      const bars = el("div", "bars");
      const widest = Math.max(disk.flat_bytes, disk.index_bytes || 0);
      for (const [label, value, cls] of [["leann", disk.index_bytes, "bar"], ["flat", disk.flat_bytes, "bar flat"]]) {
        bars.appendChild(el("span", null, label + " " + human(value)));
        const bar = el("div", cls);
        bar.style.width = (100 * (value || 0) / widest).toFixed(1) + "%";
        bars.appendChild(bar);
      }
      li.appendChild(bars);
      if (disk.index_bytes < disk.flat_bytes) {
        const saved = 100 * (1 - disk.index_bytes / disk.flat_bytes);
        li.appendChild(el("div", "muted", saved.toFixed(0) + "% smaller than a flat index"));
      }
    }
    if (info.building) li.appendChild(el("div", "muted", "building…"));
    const remove = el("button", "remove-index", "Remove…");
    remove.type = "button";
    remove.setAttribute("aria-label", "Remove index " + info.name);
    remove.addEventListener("click", () => removeIndex(info.name));
    li.appendChild(remove);
    list.appendChild(li);
  }
}

async function removeIndex(name) {
  // Deleting an index cannot be undone: ask first, naming it.
  if (!window.confirm("Remove the index \"" + name + "\" and its files? This cannot be undone.")) return;
  try {
    await api("/api/remove", postJSON("/api/remove", { index: name }));
    setStatus("Removed " + name + ".");
    await loadIndexes();
  } catch (e) {
    setStatus(e.message, true);
  }
}

function updateFields() {
  const info = currentIndex();
  const fields = (info && info.fields) || [];
  const dl = $("fields");
  dl.textContent = "";
  for (const f of fields) { const o = el("option"); o.value = f; dl.appendChild(o); }
  $("date-range").hidden = !fields.includes("date");
}

async function loadIndexes() {
  const data = await api("/api/indexes");
  indexes = data.indexes;
  const select = $("index");
  const keep = select.value;
  select.textContent = "";
  for (const info of indexes) select.appendChild(el("option", null, info.name));
  if (keep && indexes.some((i) => i.name === keep)) select.value = keep;
  const mode = $("mode");
  if (!mode.options.length) {
    for (const m of data.modes) mode.appendChild(el("option", null, m));
    mode.value = data.default_mode;
  }
  renderIndexList();
  updateFields();
}

// ------------------------------------------------------------------ filters

function addFilterRow() {
  const row = el("div", "filter-row");
  const field = el("input"); field.setAttribute("list", "fields"); field.placeholder = "field"; field.className = "f-field";
  field.setAttribute("aria-label", "Filter field");
  const op = el("select", "f-op"); op.setAttribute("aria-label", "Operator");
  for (const o of OPS) op.appendChild(el("option", null, o));
  const value = el("input", "f-value"); value.placeholder = "value"; value.setAttribute("aria-label", "Filter value");
  const remove = el("button", null, "×"); remove.type = "button"; remove.setAttribute("aria-label", "Remove filter");
  remove.addEventListener("click", () => row.remove());
  row.append(field, op, value, remove);
  $("filter-rows").appendChild(row);
  field.focus();
}

function filterParams() {
  const out = [];
  for (const row of document.querySelectorAll(".filter-row")) {
    const f = row.querySelector(".f-field").value.trim();
    if (f) out.push(f + row.querySelector(".f-op").value + row.querySelector(".f-value").value);
  }
  return out;
}

function searchInput() {
  const body = { index: $("index").value, top_k: Number($("top-k").value), mode: $("mode").value, filter: filterParams() };
  if (!$("date-range").hidden) {
    if ($("date-from").value) body.date_from = $("date-from").value;
    if ($("date-to").value) body.date_to = $("date-to").value;
  }
  return body;
}

// ------------------------------------------------------------------ results

function renderResults(rows) {
  const list = $("results");
  list.textContent = "";
  for (const r of rows) {
    const li = el("li", "result");
    li.id = "r-" + r.rank;
    li.tabIndex = 0;
    const meta = el("div", "meta");
    meta.appendChild(el("span", "num", "[" + r.rank + "]"));
    meta.appendChild(el("span", "score", r.score.toFixed(3)));
    if (r.link) {
      const a = el("a", "src", r.source);
      a.href = r.link; a.rel = "noopener noreferrer"; a.target = "_blank";
      meta.appendChild(a);
    } else {
      meta.appendChild(el("span", "src", r.source));
    }
    if (r.date) meta.appendChild(el("span", "date", r.date));
    li.appendChild(meta);
    const p = el("p", "snippet");
    for (const part of r.parts) p.appendChild(part.m ? el("mark", null, part.t) : document.createTextNode(part.t));
    li.appendChild(p);
    list.appendChild(li);
  }
}

async function runSearch() {
  const q = $("q").value.trim();
  if (!q) { setStatus("Type something to search."); return; }
  const input = searchInput();
  const params = new URLSearchParams({ index: input.index, q: q, top_k: input.top_k, mode: input.mode });
  for (const f of input.filter) params.append("filter", f);
  for (const k of ["date_from", "date_to"]) if (input[k]) params.set(k, input[k]);
  setStatus("Searching…");
  $("answer").hidden = true;
  try {
    const t0 = performance.now();
    const data = await api("/api/search?" + params.toString());
    renderResults(data.results);
    const ms = Math.round(performance.now() - t0);
    setStatus(data.results.length ? data.results.length + " results in " + ms + " ms" : "No results.");
  } catch (e) {
    $("results").textContent = "";
    setStatus(e.message, true);
  }
}

// ------------------------------------------------------------------ ask

function renderAnswer(text) {
  const box = $("answer-text");
  box.textContent = "";
  const pieces = text.split(/(\[\d+\])/);
  for (const piece of pieces) {
    const m = /^\[(\d+)\]$/.exec(piece);
    if (m && $("r-" + m[1])) {
      const a = el("a", "cite", piece);
      a.href = "#r-" + m[1];
      box.appendChild(a);
    } else if (piece) {
      box.appendChild(document.createTextNode(piece));
    }
  }
}

async function runAsk() {
  const question = $("q").value.trim();
  if (!question) { setStatus("Type a question to ask."); return; }
  const body = Object.assign(searchInput(), { question: question });
  setStatus("Asking…");
  $("answer").hidden = false;
  $("answer-model").textContent = "";
  renderAnswer("");
  let resp;
  try {
    resp = await fetch("/api/ask", Object.assign({ credentials: "same-origin" }, postJSON("/api/ask", body)));
  } catch (e) { setStatus(e.message, true); return; }
  if (!resp.ok) {
    let msg = "HTTP " + resp.status;
    try { msg = (await resp.json()).error || msg; } catch (e) { /* keep the status */ }
    $("answer").hidden = true;
    setStatus(msg, true);
    return;
  }
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "", answer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl); buffer = buffer.slice(nl + 1);
      if (!line.trim()) continue;
      const msg = JSON.parse(line);
      if (msg.type === "sources") { renderResults(msg.results); $("answer-model").textContent = "(" + msg.model + ")"; }
      else if (msg.type === "text") { answer += msg.text; renderAnswer(answer); }
      else if (msg.type === "error") { setStatus(msg.error, true); return; }
      else if (msg.type === "done") { setStatus("Answered from " + $("results").children.length + " passages."); }
    }
  }
}

// ------------------------------------------------------------------ build

async function startBuild(event) {
  event.preventDefault();
  const name = $("build-name").value.trim();
  const docs = $("build-docs").value.trim();
  const bar = $("build-progress"), status = $("build-status");
  status.classList.remove("error");
  try {
    let job = await api("/api/build", postJSON("/api/build", { index: name, docs: docs ? [docs] : [] }));
    bar.hidden = false; bar.removeAttribute("value");
    while (job.state === "running") {
      // Reading reports files one by one; embedding reports its chunks when they are written.
      const counted = job.total > 0 && (job.stage === "reading" || job.done >= job.total);
      if (counted) { bar.max = job.total; bar.value = job.done; } else { bar.removeAttribute("value"); }
      const what = job.stage === "reading" ? " reading " + job.done + "/" + job.total + " files"
        : job.stage === "embedding" ? " embedding " + job.total + " chunks" : "";
      status.textContent = "Building " + job.index + "…" + what + " " + job.elapsed_s.toFixed(1) + " s";
      await new Promise((r) => setTimeout(r, 500));
      job = await api("/api/build?id=" + encodeURIComponent(job.id));
    }
    bar.max = 1; bar.value = 1;
    if (job.state === "failed") throw new Error(job.error);
    status.textContent = job.index + ": " + job.report.summary;
    await loadIndexes();
  } catch (e) {
    bar.hidden = true;
    status.textContent = e.message; status.classList.add("error");
  }
}

// ------------------------------------------------------------------ keys

function moveFocus(step) {
  const items = Array.from(document.querySelectorAll(".result"));
  if (!items.length) return;
  const at = items.indexOf(document.activeElement);
  const next = at < 0 ? (step > 0 ? 0 : items.length - 1) : Math.min(Math.max(at + step, 0), items.length - 1);
  items.forEach((it) => it.classList.remove("active"));
  items[next].classList.add("active");
  items[next].focus();
}

function onKey(event) {
  const inField = /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName);
  if (event.key === "/" && !inField) { event.preventDefault(); $("q").focus(); $("q").select(); return; }
  if (document.activeElement === $("q")) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); runAsk(); }
    else if (event.key === "ArrowDown") { event.preventDefault(); moveFocus(1); }
    return;
  }
  if (document.activeElement.classList.contains("result")) {
    if (event.key === "ArrowDown" || event.key === "j") { event.preventDefault(); moveFocus(1); }
    else if (event.key === "ArrowUp" || event.key === "k") {
      event.preventDefault();
      if (document.activeElement === document.querySelector(".result")) $("q").focus(); else moveFocus(-1);
    } else if (event.key === "Escape") { $("q").focus(); }
    else if (event.key === "Enter") { const a = document.activeElement.querySelector("a.src"); if (a) a.click(); }
  }
}

function init() {
  if (location.search.includes("token=")) history.replaceState(null, "", "/");  // the cookie holds it now
  $("search-form").addEventListener("submit", (e) => { e.preventDefault(); runSearch(); });
  $("ask-btn").addEventListener("click", runAsk);
  $("add-filter").addEventListener("click", addFilterRow);
  $("index").addEventListener("change", updateFields);
  $("build-form").addEventListener("submit", startBuild);
  document.addEventListener("keydown", onKey);
  loadIndexes().then(() => $("q").focus()).catch((e) => setStatus(e.message, true));
}

document.addEventListener("DOMContentLoaded", init);
