/* Offline filling of a checklist: an explicit outbox in IndexedDB, one entry per answer
 * {client_uuid, checklist_version, base_version, item, value, note, photo?}, flushed on page load,
 * on `online` events and by the 同步 button, with a fresh CSRF token read from the cookie at flush
 * time. No Background Sync API (Safari lacks it). */
(function () {
  "use strict";
  const root = document.getElementById("fill-root");
  if (!root) return;
  const T = window.INSPECTION_TEXT;
  const assignment = Number(root.dataset.assignment);
  const checklistVersion = Number(root.dataset.version);
  const canFill = root.dataset.canFill === "1";
  const DB_NAME = "pneumo-inspections";
  let db = null;
  let server = {};          // item id → {value, note, version}
  let flushing = false;
  let flushAgain = false;  // a change recorded during a flush is sent right after it

  // ---- IndexedDB -------------------------------------------------------------------------
  function openDb() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => {
        const d = req.result;
        const outbox = d.createObjectStore("outbox", { keyPath: "client_uuid" });
        outbox.createIndex("assignment", "assignment");
        d.createObjectStore("server", { keyPath: "assignment" });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  function tx(store, mode, fn) {
    return new Promise((resolve, reject) => {
      const t = db.transaction(store, mode);
      const result = fn(t.objectStore(store));
      t.oncomplete = () => resolve(result && "result" in result ? result.result : result);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
  }
  const outboxAll = () => tx("outbox", "readonly", (s) => s.index("assignment").getAll(assignment));
  const outboxPut = (entry) => tx("outbox", "readwrite", (s) => s.put(entry));
  const outboxDelete = (uuid) => tx("outbox", "readwrite", (s) => s.delete(uuid));
  const serverSave = () => tx("server", "readwrite", (s) => s.put({ assignment, answers: server }));
  const serverLoad = () => tx("server", "readonly", (s) => s.get(assignment));

  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  function csrfToken() {  // fresh at every flush: a cached page carries a stale one
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  // ---- Rendering -------------------------------------------------------------------------
  const card = (itemId) => root.querySelector(`.fill-item[data-item="${itemId}"]`);
  function setState(itemId, state, text) {
    const el = card(itemId);
    if (!el) return;
    el.classList.remove("state-pending", "state-synced", "state-conflict", "state-error");
    const badge = el.querySelector(".item-state");
    if (!state) { badge.textContent = ""; badge.className = "badge item-state"; return; }
    el.classList.add(`state-${state}`);
    badge.textContent = T[state];
    badge.className = "badge item-state " + ({ pending: "text-bg-warning", synced: "text-bg-success",
      conflict: "text-bg-danger", error: "text-bg-danger" })[state];
    const err = el.querySelector(".item-error");
    err.textContent = state === "error" ? (text || "") : "";
    err.classList.toggle("d-none", state !== "error");
  }
  function showValue(itemId, value, note, photoBlobs) {
    const el = card(itemId);
    if (!el) return;
    const type = el.dataset.type;
    if (type === "yes_no_na" || type === "single_choice") {
      el.querySelectorAll("input[type=radio]").forEach((r) => { r.checked = r.value === value; });
    } else if (type === "photo") {
      const box = el.querySelector(".photo-previews");
      box.innerHTML = "";
      (photoBlobs || []).forEach((blob) => {
        const img = document.createElement("img");
        img.src = URL.createObjectURL(blob);
        box.appendChild(img);
      });
      if (!photoBlobs && Array.isArray(value) && value.length) {
        const span = document.createElement("span");
        span.className = "badge text-bg-light";
        span.textContent = `📷 ${value.length}`;
        box.appendChild(span);
      }
    } else {
      const input = el.querySelector(".answer-input");
      if (input && document.activeElement !== input) input.value = value == null ? "" : value;
    }
    const noteInput = el.querySelector(".note-input");
    if (noteInput && document.activeElement !== noteInput) noteInput.value = note || "";
  }
  function display(value) {
    if (value == null || value === "") return T.empty;
    if (Array.isArray(value)) return `📷 ${value.length}`;
    return T[value] || String(value);
  }
  function message(text, kind, html) {
    const box = document.getElementById("sync-message");
    box.className = `alert alert-${kind || "info"}`;
    if (html) box.innerHTML = html; else box.textContent = text;
  }
  function networkBadge() {
    const b = root.querySelector("[data-testid=network-state]");
    b.textContent = navigator.onLine ? T.online : T.offline;
    b.className = "badge fs-6 " + (navigator.onLine ? "text-bg-success" : "text-bg-secondary");
  }
  async function refresh() {
    const entries = await outboxAll();
    Object.entries(server).forEach(([item, a]) => { showValue(item, a.value, a.note); setState(item, "synced"); });
    entries.sort((a, b) => a.seq - b.seq).forEach((e) => {
      showValue(e.item, e.value, e.note, e.photo ? [e.photo.blob] : null);
      if (e.conflict) showConflict(e); else setState(e.item, e.error ? "error" : "pending", e.error);
    });
    const badge = root.querySelector("[data-testid=pending-count]");
    badge.textContent = `${T.pending} ${entries.length}`;
    badge.dataset.count = entries.length;
    networkBadge();
  }
  function showConflict(entry) {
    const el = card(entry.item);
    setState(entry.item, "conflict");
    const box = el.querySelector(".conflict");
    box.classList.remove("d-none");
    box.querySelector(".conflict-text").textContent =
      T.serverHas + display(entry.conflict.value) + T.mineIs + display(entry.value);
    box.querySelector(".keep-mine").onclick = async () => {
      await outboxDelete(entry.client_uuid);
      await outboxPut({ ...entry, client_uuid: uuid4(), base_version: entry.conflict.version, conflict: null,
                        seq: Date.now() });
      box.classList.add("d-none");
      await refresh();
      flush();
    };
    box.querySelector(".take-server").onclick = async () => {
      await outboxDelete(entry.client_uuid);
      server[entry.item] = entry.conflict;
      await serverSave();
      box.classList.add("d-none");
      await refresh();
    };
  }

  // ---- Recording answers -----------------------------------------------------------------
  async function record(itemId, patch) {
    const entries = (await outboxAll()).filter((e) => e.item === itemId && !e.conflict);
    const previous = entries.sort((a, b) => b.seq - a.seq)[0];
    const base = server[itemId] || {};
    const entry = {
      client_uuid: uuid4(), assignment, checklist_version: checklistVersion, item: itemId,
      base_version: base.version || 0,
      value: previous ? previous.value : (base.value ?? null),
      note: previous ? previous.note : (base.note || ""),
      photo: previous ? previous.photo : null,
      seq: Date.now() + Math.random(),
      ...patch,
    };
    // One pending entry per answer: the newer one replaces what was not yet sent.
    for (const e of entries) await outboxDelete(e.client_uuid);
    await outboxPut(entry);
    await refresh();
    if (navigator.onLine) flush();
  }
  function bind() {
    root.querySelectorAll(".fill-item").forEach((el) => {
      const itemId = Number(el.dataset.item);
      const type = el.dataset.type;
      el.querySelectorAll("input[type=radio]").forEach((r) =>
        r.addEventListener("change", () => record(itemId, { value: r.value })));
      const input = el.querySelector(".answer-input");
      if (input) input.addEventListener("change", () => {
        const raw = input.value.trim();
        record(itemId, { value: raw === "" ? null : (type === "text" ? raw : Number(raw)) });
      });
      const photo = el.querySelector(".photo-input");
      if (photo) photo.addEventListener("change", async () => {
        const file = photo.files[0];
        if (!file) return;
        if (file.size > Number(root.dataset.photoMax)) { setState(itemId, "error", T.tooLarge); return; }
        const blob = new Blob([await file.arrayBuffer()], { type: file.type });
        const id = uuid4();
        await record(itemId, { value: [id], photo: { uuid: id, blob, name: file.name, type: file.type, uploaded: false } });
      });
      const note = el.querySelector(".note-input");
      note.addEventListener("change", () => record(itemId, { note: note.value }));
      if (!canFill) el.querySelectorAll("input, textarea").forEach((x) => { x.disabled = true; });
    });
  }

  // ---- Flushing --------------------------------------------------------------------------
  function authFailed() {
    message("", "danger", `${T.loginAgain} <a href="${root.dataset.loginUrl}">${T.loginLink}</a>`);
  }
  async function flush() {
    if (!canFill) return;
    if (flushing) { flushAgain = true; return; }
    if (!navigator.onLine) { await refresh(); return; }
    flushing = true;
    try {
      let entries = (await outboxAll()).filter((e) => !e.conflict).sort((a, b) => a.seq - b.seq);
      if (!entries.length) { await refresh(); return; }
      for (const e of entries) {
        if (!e.photo || e.photo.uploaded) continue;
        const body = new FormData();
        body.append("client_uuid", e.photo.uuid);
        body.append("item", e.item);
        body.append("file", e.photo.blob, e.photo.name || "photo.jpg");
        const r = await fetch(root.dataset.photoUrl, { method: "POST", body, credentials: "same-origin",
                                                       headers: { "X-CSRFToken": csrfToken() } });
        if (r.status === 401 || r.status === 403) { authFailed(); return; }
        if (r.status === 201) { e.photo.uploaded = true; await outboxPut(e); continue; }
        const data = await r.json().catch(() => ({}));
        e.error = data.detail || Object.values(data).flat().join(" ") || T.syncFailed;
        await outboxPut(e);
      }
      entries = (await outboxAll()).filter((e) => !e.conflict && (!e.photo || e.photo.uploaded));
      if (!entries.length) { await refresh(); return; }
      const payload = { answers: entries.map((e) => ({ client_uuid: e.client_uuid, checklist_version: e.checklist_version,
        base_version: e.base_version, item: e.item, value: e.value, note: e.note || "" })) };
      const r = await fetch(root.dataset.syncUrl, { method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() }, body: JSON.stringify(payload) });
      if (r.status === 401 || r.status === 403) { authFailed(); return; }
      const data = await r.json().catch(() => ({}));
      if (!data.results) { message(data.detail || T.syncFailed, "danger"); return; }
      const byUuid = Object.fromEntries(entries.map((e) => [e.client_uuid, e]));
      let problems = 0;
      for (const res of data.results) {
        const e = byUuid[res.client_uuid];
        if (!e) continue;
        if (res.status === "applied" || res.status === "duplicate") {
          server[e.item] = { value: res.answer.value, note: res.answer.note, version: res.answer.version };
          await outboxDelete(e.client_uuid);
        } else if (res.status === "conflict") {
          problems++;
          e.conflict = res.answer ? { value: res.answer.value, note: res.answer.note, version: res.answer.version }
                                  : { value: null, note: "", version: 0 };
          await outboxPut(e);
        } else {
          problems++;
          e.error = res.detail;
          await outboxPut(e);
        }
      }
      await serverSave();
      await refresh();
      if (!problems) message(T.syncedAll, "success");
    } catch (err) {
      message(T.syncFailed, "warning");
    } finally {
      flushing = false;
      if (flushAgain) { flushAgain = false; setTimeout(flush, 0); }
    }
  }

  async function loadServer() {
    try {
      const r = await fetch(root.dataset.offlineUrl, { credentials: "same-origin" });
      if (r.ok) {
        const data = await r.json();
        server = {};
        data.answers.forEach((a) => { server[a.item] = { value: a.value, note: a.note, version: a.version }; });
        await serverSave();
        fetch(root.dataset.versionUrl, { credentials: "same-origin" }).catch(() => {});  // warm the cache
        return;
      }
    } catch (err) { /* offline: fall back to the copy kept in IndexedDB */ }
    const saved = await serverLoad();
    server = (saved && saved.answers) || {};
  }

  async function start() {
    db = await openDb();
    bind();
    await loadServer();
    await refresh();
    root.dataset.ready = "1";
    window.addEventListener("online", () => { networkBadge(); flush(); });
    window.addEventListener("offline", networkBadge);
    const button = document.getElementById("sync-button");
    if (button) button.addEventListener("click", () => flush());
    const form = document.getElementById("submit-form");
    if (form) form.addEventListener("submit", async (ev) => {
      if ((await outboxAll()).length) { ev.preventDefault(); message(T.flushFirst, "warning"); }
    });
    flush();
  }

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(root.dataset.swUrl, { scope: "/inspections/" }).then(() =>
      navigator.serviceWorker.ready).then((reg) => {
      const urls = [location.pathname, root.dataset.offlineUrl, root.dataset.versionUrl,
        ...[...document.querySelectorAll("link[rel=stylesheet], script[src]")].map((x) => x.href || x.src)];
      if (reg.active) reg.active.postMessage({ type: "cache", urls });
      root.dataset.sw = "1";
    }).catch(() => {});
  }
  start();
})();
