/* The inspector's task list: registers the inspection service worker and asks it to keep this
 * list and, for every task, its checklist page, its offline data and its checklist version, so
 * that each opens without a network (as ODK Collect keeps downloaded forms). */
(function () {
  "use strict";
  const root = document.getElementById("tasks-root");
  if (!root || !("serviceWorker" in navigator)) return;
  const urls = [location.pathname, ...root.dataset.assets.split(/\s+/).filter(Boolean),
    ...[...root.querySelectorAll("[data-cache]")].flatMap((a) => a.dataset.cache.split(/\s+/).filter(Boolean)),
    ...[...document.querySelectorAll("link[rel=stylesheet], script[src]")].map((x) => x.href || x.src)];
  navigator.serviceWorker.register(root.dataset.swUrl, { scope: "/inspections/" })
    .then(() => navigator.serviceWorker.ready)
    .then((reg) => new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = (event) => resolve(event.data);
      reg.active.postMessage({ type: "cache", urls, reply: true }, [channel.port2]);
    }))
    .then((reply) => {
      root.dataset.cached = String((reply && reply.cached) || 0);
      const note = document.getElementById("offline-ready");
      if (note && reply && reply.cached) note.hidden = false;
    })
    .catch(() => {});
})();
