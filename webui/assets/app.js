// kwnode's web page: plain JavaScript, no libraries, no network but this origin.
"use strict";
(function () {
  const $ = (sel) => document.querySelector(sel);
  const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;
  const csrf = meta("kw-csrf"), csrfHeader = meta("kw-csrf-header");

  function notice(msg) { $("#notice").textContent = msg || ""; }

  // call makes an API request; state-changing ones carry the CSRF token.
  async function call(method, path, body) {
    const opts = { method, credentials: "same-origin", headers: {} };
    if (method !== "GET") opts.headers[csrfHeader] = csrf;
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const resp = await fetch(path, opts);
    if (resp.status === 401) notice("Session expired: run `kwnode ui` for a new link.");
    if (!resp.ok) {
      let msg = resp.status + " " + resp.statusText;
      try { msg = (await resp.json()).error || msg; } catch (e) { /* not JSON */ }
      throw new Error(msg);
    }
    return resp;
  }
  const getJSON = async (path) => (await call("GET", path)).json();

  function fmtBytes(n) {
    if (!(n >= 0)) return "?";
    const u = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(1)) + " " + u[i];
  }
  function ext(name) {
    const i = name.lastIndexOf(".");
    return i > 0 && i < name.length - 1 ? name.slice(i + 1).toLowerCase() : "";
  }
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") e.textContent = v;
      else if (k === "class") e.className = v;
      else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k);
    return e;
  }
  const short = (id) => id ? "…" + id.slice(-8) : "";

  // ---- search ----
  let hits = [], sortKey = "score", sortDir = -1, connected = new Set();

  $("#search-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const words = $("#q").value.trim().split(/\s+/).filter(Boolean);
    if (!words.length) return;
    $("#search-status").textContent = "Searching for " + words.join(" ") + "…";
    hits = [];
    renderHits();
    try {
      hits = await (await call("POST", "/v1/search", { words, limit: 200 })).json();
      $("#search-status").textContent = hits.length + (hits.length === 1 ? " file found." : " files found.");
    } catch (e) {
      $("#search-status").textContent = "Search failed: " + e.message;
    }
    fillTypes();
    renderHits();
  });
  for (const b of document.querySelectorAll("#results th button")) {
    b.addEventListener("click", () => {
      const k = b.dataset.sort;
      sortDir = k === sortKey ? -sortDir : (k === "name" ? 1 : -1);
      sortKey = k;
      for (const th of document.querySelectorAll("#results th[aria-sort]")) th.setAttribute("aria-sort", "none");
      b.parentElement.setAttribute("aria-sort", sortDir > 0 ? "ascending" : "descending");
      renderHits();
    });
  }
  for (const id of ["#f-type", "#f-min", "#f-max"]) $(id).addEventListener("input", renderHits);

  function fillTypes() {
    const sel = $("#f-type"), keep = sel.value;
    const types = [...new Set(hits.map((h) => ext(h.name)))].sort();
    sel.replaceChildren(el("option", { value: "", text: "all types" }),
      ...types.map((t) => el("option", { value: t || "-", text: t || "(none)" })));
    sel.value = types.includes(keep) || keep === "-" ? keep : "";
  }
  function filtered() {
    const t = $("#f-type").value;
    const min = parseFloat($("#f-min").value), max = parseFloat($("#f-max").value);
    return hits.filter((h) =>
      (!t || (t === "-" ? ext(h.name) === "" : ext(h.name) === t)) &&
      (isNaN(min) || h.size >= min * 1e6) && (isNaN(max) || h.size <= max * 1e6));
  }
  function renderHits() {
    const rows = filtered();
    const val = (h) => sortKey === "providers" ? h.providers.length : h[sortKey];
    rows.sort((a, b) => {
      const x = val(a), y = val(b);
      return (x < y ? -1 : x > y ? 1 : 0) * sortDir;
    });
    $("#results").hidden = hits.length === 0;
    $("#results tbody").replaceChildren(...rows.map((h) => {
      const live = h.providers.filter((p) => connected.has(p)).length;
      const btn = el("button", { type: "button", "aria-label": "Download " + h.name, "data-cid": h.cid, text: "Download" });
      btn.addEventListener("click", () => startDownload({ cid: h.cid, dir: $("#dl-dir").value.trim() }, h.name));
      return el("tr", { "data-cid": h.cid },
        el("td", { text: h.name }),
        el("td", { class: "num", text: fmtBytes(h.size) }),
        el("td", { class: "num", title: live + " connected now", text: h.providers.length + (live ? ` (${live} connected)` : "") }),
        el("td", { class: "num", text: h.score.toFixed(2) }),
        el("td", {}, btn));
    }));
  }

  // ---- downloads ----
  const dirInput = $("#dl-dir");
  dirInput.value = localStorage.getItem("kw-download-dir") || meta("kw-download-dir");
  dirInput.addEventListener("change", () => localStorage.setItem("kw-download-dir", dirInput.value.trim()));

  async function startDownload(req, name) {
    try {
      await call("POST", "/ui/downloads", req);
      notice("");
    } catch (e) {
      notice("Download of " + (name || req.cid) + " failed: " + e.message);
    }
  }
  function renderDownloads(list) {
    $("#dl-empty").hidden = list.length > 0;
    $("#dl-list").replaceChildren(...list.map((d) => {
      const pct = d.total > 0 ? Math.floor((100 * d.bytes) / d.total) : (d.state === "done" ? 100 : 0);
      const bar = el("progress", { max: "100", value: String(pct), "aria-label": "Progress of " + (d.name || d.cid) });
      const parts = [fmtBytes(d.bytes) + " of " + fmtBytes(d.total) + " (" + pct + "%)"];
      if (d.state === "running") parts.push(fmtBytes(d.rate) + "/s");
      if (d.state === "running" && d.peers > 0) parts.push(d.peers + (d.peers === 1 ? " peer" : " peers"));
      if (d.path) parts.push(d.path);
      const head = el("div", { class: "dl-head" },
        el("strong", { text: d.name || d.cid }),
        el("span", { class: "state-" + d.state, text: d.state + (d.error ? ": " + d.error : "") }));
      const li = el("li", { "data-cid": d.cid, "data-state": d.state, "data-pct": String(pct) }, head, bar,
        el("div", { class: "dl-meta", text: parts.join(" · ") }));
      if (d.state === "waiting" || d.state === "failed") {
        const b = el("button", { type: "button", class: "resume", text: "Resume" });
        b.addEventListener("click", () => startDownload(d.path ? { cid: d.cid, output: d.path } : { cid: d.cid, dir: dirInput.value.trim() }, d.name));
        li.append(b);
      }
      return li;
    }));
  }
  function followDownloads() {
    const es = new EventSource("/ui/events");
    es.addEventListener("downloads", (ev) => renderDownloads(JSON.parse(ev.data)));
    es.onerror = () => notice("Lost the daemon's event stream; retrying…");
    es.onopen = () => notice("");
  }

  // ---- shares ----
  async function loadShares() {
    try {
      const list = await getJSON("/v1/shares");
      $("#share-table tbody").replaceChildren(...list.map((s) => {
        const b = el("button", { type: "button", "aria-label": "Unshare " + s.name, text: "Unshare" });
        b.addEventListener("click", async () => {
          try {
            await call("POST", "/v1/unshare", { cid: s.cid });
            $("#share-status").textContent = "Unshared " + s.name + ".";
          } catch (e) { $("#share-status").textContent = "Unshare failed: " + e.message; }
          loadShares();
        });
        return el("tr", { "data-cid": s.cid },
          el("td", { text: s.name, title: s.path }), el("td", { class: "num", text: fmtBytes(s.size) }),
          el("td", { text: (s.keywords || []).join(", ") }), el("td", { class: "mono", text: s.cid }), el("td", {}, b));
      }));
    } catch (e) { $("#share-status").textContent = "Cannot list shares: " + e.message; }
  }
  $("#share-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const path = $("#share-path").value.trim();
    const keywords = $("#share-kw").value.split(",").map((s) => s.trim()).filter(Boolean);
    const status = $("#share-status");
    status.textContent = "Sharing " + path + "…";
    try {
      const resp = await call("POST", "/v1/share", keywords.length ? { paths: [path], keywords } : { paths: [path] });
      // The answer is newline-delimited JSON events, read as they arrive.
      const reader = resp.body.getReader(), dec = new TextDecoder();
      let buf = "", files = 0;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          if (!line) continue;
          const e = JSON.parse(line);
          if (e.type === "file") { files++; status.textContent = "Shared " + e.path; }
          else if (e.type === "failed") status.textContent = "Could not share " + e.path + ": " + e.error;
          else if (e.type === "error") throw new Error(e.error);
          else if (e.type === "done") status.textContent = "Shared " + files + (files === 1 ? " file" : " files") + (e.failed ? ", " + e.failed + " failed." : ".");
        }
      }
    } catch (e) { status.textContent = "Share failed: " + e.message; }
    loadShares();
  });

  // ---- node ----
  const SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text) e.textContent = text;
    return e;
  }
  // angle of a ring ID (64 hex digits) in radians, clockwise from the top.
  const angle = (id) => (parseInt(id.slice(0, 8), 16) / 4294967296) * 2 * Math.PI;
  const at = (id, r) => [r * Math.sin(angle(id)), -r * Math.cos(angle(id))];

  function drawRing(ring) {
    const g = $("#ring");
    for (const c of [...g.children]) if (c.tagName !== "title" && c.tagName !== "desc") c.remove();
    g.append(svg("circle", { class: "circle", cx: 0, cy: 0, r: 100 }));
    if (!ring || !ring.id) {
      g.querySelector("desc").textContent = "This node is not a ring member (client mode).";
      g.append(svg("text", { x: 0, y: 4, "text-anchor": "middle" }, "not a ring member"));
      return;
    }
    const succ = ring.successors || [], fingers = ring.fingers || [];
    g.querySelector("desc").textContent = `This node, ${succ.length} successors and ${fingers.length} fingers placed by ring ID.`;
    const [sx, sy] = at(ring.id, 100);
    const seen = new Set();
    for (const f of fingers) {
      if (seen.has(f.id) || f.id === ring.id) continue;
      seen.add(f.id);
      const [x, y] = at(f.id, 100);
      g.append(svg("line", { class: "chord", x1: sx, y1: sy, x2: x, y2: y }));
      g.append(svg("circle", { class: "finger", cx: x, cy: y, r: 4, "data-peer": f.peer_id }, ));
    }
    succ.forEach((p, i) => {
      if (p.id === ring.id) return;
      const [x, y] = at(p.id, 100), [lx, ly] = at(p.id, 116);
      g.append(svg("circle", { class: "succ", cx: x, cy: y, r: 5, "data-peer": p.peer_id }));
      g.append(svg("text", { x: lx, y: ly + 3, "text-anchor": "middle" }, "s" + (i + 1)));
    });
    g.append(svg("circle", { class: "self", cx: sx, cy: sy, r: 7 }));
    const [tx, ty] = at(ring.id, 80);
    g.append(svg("text", { x: tx, y: ty + 3, "text-anchor": "middle" }, "me"));
  }
  async function loadNode() {
    try {
      const [st, peers] = await Promise.all([getJSON("/v1/status"), getJSON("/v1/peers")]);
      $("#n-peer").textContent = st.peer_id;
      $("#n-mode").textContent = st.mode;
      $("#n-reach").textContent = st.reachability;
      $("#n-ring").textContent = st.ring.id || "— (not a ring member)";
      $("#n-records").textContent = st.ring.records;
      $("#n-version").textContent = st.version || "";
      const relays = st.relays || [];
      $("#n-relays").replaceChildren(relays.length ? el("ul", {}, ...relays.map((r) => el("li", { class: "mono", text: r }))) : "none");
      drawRing(st.ring);
      connected = new Set(peers.map((p) => p.peer_id));
      $("#peers tbody").replaceChildren(...peers.map((p) => el("tr", {},
        el("td", { class: "mono", title: p.peer_id, text: short(p.peer_id) }),
        el("td", { class: "mono", text: p.addr }),
        el("td", { class: p.direct ? "direct" : "relayed", text: p.direct ? "direct" : "relayed" }))));
    } catch (e) { notice("Cannot read the node's status: " + e.message); }
  }

  followDownloads();
  loadShares();
  loadNode();
  setInterval(loadNode, 5000);
})();
