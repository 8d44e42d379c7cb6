/* Service worker of the inspection pages (scope /inspections/): keeps the page shell, the
 * checklist version JSON and the assignment's data for offline use. Network first, cache as
 * the fallback; writes (POST) are never touched: the page's outbox handles them. */
const CACHE = "pneumo-inspections-v1";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
    await self.clients.claim();
  })());
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "cache") {
    event.waitUntil(caches.open(CACHE).then((cache) =>
      Promise.all(event.data.urls.map((url) => fetch(url, { credentials: "same-origin" })
        .then((r) => (r.ok ? cache.put(url, r) : null)).catch(() => null)))));
  }
});

function cacheable(url) {
  return url.origin === self.location.origin && (url.pathname.startsWith("/inspections/")
    || url.pathname.startsWith("/api/inspections/") || url.pathname.startsWith("/static/"));
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (!cacheable(url) || url.pathname.endsWith("/sw.js")) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const response = await fetch(request);
      if (response.redirected && new URL(response.url).pathname.startsWith("/accounts/login")) {
        await caches.delete(CACHE);  // signed out: drop what the previous user could read
        return response;
      }
      if (response.ok && !response.redirected) cache.put(request, response.clone());
      return response;
    } catch (err) {
      const cached = await cache.match(request, { ignoreVary: true });
      if (cached) return cached;
      throw err;
    }
  })());
});
