/* Offline filling of a checklist: an explicit outbox in IndexedDB, one entry per answer
 * {client_uuid, checklist_version, base_version, item, value, note, photo?}, flushed on page load,
 * on `online` events and by the 同步 button, with a fresh CSRF token read from the cookie at flush
 * time. No Background Sync API (Safari lacks it). */
(function () {
  "use strict";
  const root = document.getElementById("fill-root");
  if (!root) return;
  const T = document.getElementById("inspection-text").dataset;  // translated texts, no inline script (CSP)
  const O = document.getElementById("offline-text").dataset;  // texts of offline submit and photos
  const assignment = Number(root.dataset.assignment);
  const checklistVersion = Number(root.dataset.version);
  const canFill = root.dataset.canFill === "1";
  const DB_NAME = "pneumo-inspections";
  let db = null;
  let server = {};          // item id → {value, note, version}
  let flushing = false;
  let flushAgain = false;  // a change recorded during a flush is sent right after it
  let submitAgain = false;  // the answers are all in: a queued 提交 may go
  let submitting = false;

  // ---- IndexedDB -------------------------------------------------------------------------
  function openDb() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, 2);
      req.onupgradeneeded = () => {
        const d = req.result;
        if (!d.objectStoreNames.contains("outbox")) {
          const outbox = d.createObjectStore("outbox", { keyPath: "client_uuid" });
          outbox.createIndex("assignment", "assignment");
        }
        if (!d.objectStoreNames.contains("server")) d.createObjectStore("server", { keyPath: "assignment" });
        // 提交 pressed offline: {assignment, highlights, problems, queued_at}, sent once the answers are.
        if (!d.objectStoreNames.contains("submits")) d.createObjectStore("submits", { keyPath: "assignment" });
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
  const submitPut = (entry) => tx("submits", "readwrite", (s) => s.put(entry));
  const submitGet = () => tx("submits", "readonly", (s) => s.get(assignment));
  const submitDelete = () => tx("submits", "readwrite", (s) => s.delete(assignment));

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
      (photoBlobs || []).forEach(({ blob, meta }) => {
        const figure = document.createElement("figure");
        const img = document.createElement("img");
        img.src = URL.createObjectURL(blob);
        figure.appendChild(img);
        if (meta) {
          const caption = document.createElement("figcaption");
          caption.dataset.testid = "photo-meta";
          caption.textContent = photoCaption(meta);
          figure.appendChild(caption);
        }
        box.appendChild(figure);
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
  function photoCaption(meta) {
    const when = meta.taken_at ? new Date(meta.taken_at) : null;
    const pad = (n) => String(n).padStart(2, "0");
    const time = when ? `${O.taken} ${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())} `
      + `${pad(when.getHours())}:${pad(when.getMinutes())}` : "";
    const where = meta.latitude != null
      ? `${O.position} ${meta.latitude.toFixed(5)}, ${meta.longitude.toFixed(5)}`
        + (meta.accuracy != null ? `（±${Math.round(meta.accuracy)} ${O.metres}）` : "")
      : O.noPosition;
    return `${time} · ${where}`;
  }
  // When and (if the inspector allows it) where a photo was taken; never holds the photo up for long.
  function photoMeta(file) {
    const taken = file.lastModified && Math.abs(Date.now() - file.lastModified) < 7 * 86400e3
      ? new Date(file.lastModified) : new Date();
    const meta = { taken_at: taken.toISOString(), latitude: null, longitude: null, accuracy: null };
    if (!navigator.geolocation) return Promise.resolve(meta);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(meta), 10000);
      navigator.geolocation.getCurrentPosition((pos) => {
        clearTimeout(timer);
        resolve({ ...meta, latitude: pos.coords.latitude, longitude: pos.coords.longitude,
                  accuracy: pos.coords.accuracy });
      }, () => { clearTimeout(timer); resolve(meta); }, { enableHighAccuracy: true, timeout: 9000, maximumAge: 60000 });
    });
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
      showValue(e.item, e.value, e.note, e.photo ? [{ blob: e.photo.blob, meta: e.photo.meta }] : null);
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

  // ---- 不得空项: blank required items, marked in their cards -------------------------------
  function isBlank(value) { return value == null || value === "" || (Array.isArray(value) && !value.length); }
  async function currentValues() {
    const values = {};
    Object.entries(server).forEach(([item, a]) => { values[item] = a.value; });
    (await outboxAll()).sort((a, b) => a.seq - b.seq).forEach((e) => { values[e.item] = e.value; });
    return values;
  }
  function markBlank(el, blank) {
    el.classList.toggle("item-blank", blank);
    el.querySelector(".item-blank-msg").classList.toggle("d-none", !blank);
  }
  // Marks the given cards (all blank required ones when `numbers` is omitted), jumps to the first.
  async function showBlanks(numbers) {
    const values = await currentValues();
    const cards = [...root.querySelectorAll(".fill-item")];
    const blank = cards.filter((el) => (numbers ? numbers.includes(el.dataset.number)
      : el.dataset.required === "1" && isBlank(values[el.dataset.item])));
    cards.forEach((el) => markBlank(el, blank.includes(el)));
    if (!blank.length) return [];
    message(O.blankList + blank.map((el) => `${el.dataset.number} ${el.dataset.text}`).join("；"), "danger");
    blank[0].scrollIntoView({ block: "center" });
    const first = blank[0].querySelector("input:not([disabled]), textarea:not([disabled])");
    if (first) first.focus({ preventScroll: true });
    return blank;
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
    if (!isBlank(entry.value)) markBlank(card(itemId), false);
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
        const meta = await photoMeta(file);
        await record(itemId, { value: [id], photo: { uuid: id, blob, name: file.name, type: file.type, meta,
                                                     uploaded: false } });
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
      if (!entries.length) { await refresh(); submitAgain = !(await outboxAll()).length; return; }
      for (const e of entries) {
        if (!e.photo || e.photo.uploaded) continue;
        const body = new FormData();
        body.append("client_uuid", e.photo.uuid);
        body.append("item", e.item);
        body.append("file", e.photo.blob, e.photo.name || "photo.jpg");
        const meta = e.photo.meta || {};
        if (meta.taken_at) body.append("taken_at", meta.taken_at);
        if (meta.latitude != null) {
          body.append("latitude", meta.latitude.toFixed(6));
          body.append("longitude", meta.longitude.toFixed(6));
          if (meta.accuracy != null) body.append("accuracy", String(Math.round(meta.accuracy)));
        }
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
      if (!problems && !(await outboxAll()).length) submitAgain = true;
    } catch (err) {
      message(T.syncFailed, "warning");
    } finally {
      flushing = false;
      if (flushAgain) { flushAgain = false; setTimeout(flush, 0); } else if (submitAgain) { submitAgain = false; sendSubmit(); }
    }
  }

  // ---- 提交: queued while offline, sent with the answers when the network returns -----------
  function showQueued(queued) {
    const badge = root.querySelector("[data-testid=submit-queued]");
    if (badge) badge.hidden = !queued;
    if (queued) message(O.queued, "warning");
  }
  async function sendSubmit() {
    const queued = await submitGet();
    if (!queued || !navigator.onLine || submitting) return;
    if ((await outboxAll()).length) { showQueued(true); return; }  // answers first: flush comes back here
    submitting = true;
    message(O.submitting, "info");
    let r;
    try {
      r = await fetch(root.dataset.submitUrl, { method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({ highlights: queued.highlights, problems: queued.problems }) });
    } catch (err) { submitting = false; showQueued(true); return; }  // still no network: stays queued
    submitting = false;
    if (r.status === 401 || r.status === 403) { authFailed(); return; }
    const data = await r.json().catch(() => ({}));
    if (r.ok) {
      await submitDelete();
      location.assign(root.dataset.reportUrl.replace(/\/0\/$/, `/${data.id}/`));
      return;
    }
    await submitDelete();
    showQueued(false);
    if (data.blank_items) { await showBlanks(data.blank_items); return; }
    const detail = Array.isArray(data.detail) ? data.detail.join(" ") : (data.detail || Object.values(data).flat().join(" "));
    message(O.submitFailed + (detail || T.syncFailed), "danger");
  }
  async function onSubmit(ev) {
    ev.preventDefault();
    const form = ev.target;
    if ((await showBlanks()).length) return;
    await submitPut({ assignment, highlights: form.highlights.value, problems: form.problems.value,
                      queued_at: new Date().toISOString() });
    if (!navigator.onLine) { showQueued(true); return; }
    if ((await outboxAll()).length) { showQueued(true); flush(); return; }
    sendSubmit();
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
    // A network that comes back without an `online` event (a flaky link): try again now and then.
    setInterval(() => { if (navigator.onLine) flush(); }, 30000);
    window.addEventListener("offline", networkBadge);
    const button = document.getElementById("sync-button");
    if (button) button.addEventListener("click", () => flush());
    const form = document.getElementById("submit-form");
    if (form) form.addEventListener("submit", onSubmit);
    const queued = canFill ? await submitGet() : null;
    if (queued && form) {
      form.highlights.value = queued.highlights; form.problems.value = queued.problems;
      showQueued(true);
    }
    const marked = root.querySelector(".fill-item.item-blank");
    if (marked) marked.scrollIntoView({ block: "center" });
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
