/* Service worker of the inspection pages (scope /inspections/): keeps the task list, each task's
 * checklist page, its offline data and checklist version, and the static files, for offline use.
 * Network first, cache as the fallback; writes (POST) are never touched: the page's outbox handles
 * them. A page never kept answers with a short offline notice instead of the browser's error. */
const CACHE = "pneumo-inspections-v1";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
    await self.clients.claim();
  })());
});

async function keep(urls) {
  const cache = await caches.open(CACHE);
  let cached = 0;
  await Promise.all(urls.map(async (url) => {
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      if (response.ok && !response.redirected) { await cache.put(url, response); cached += 1; }
    } catch (err) { /* offline or refused: keep what was there */ }
  }));
  return cached;
}

self.addEventListener("message", (event) => {
  if (!event.data || event.data.type !== "cache") return;
  const port = event.ports && event.ports[0];
  event.waitUntil(keep(event.data.urls || []).then((cached) => { if (port) port.postMessage({ cached }); }));
});

function cacheable(url) {
  return url.origin === self.location.origin && (url.pathname.startsWith("/inspections/")
    || url.pathname.startsWith("/api/inspections/") || url.pathname.startsWith("/static/"));
}

const OFFLINE_PAGE = `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>离线 · Offline</title></head>
<body style="font-family: sans-serif; padding: 2rem; font-size: 1.2rem">
<h1 style="font-size: 1.5rem">当前离线，此页面未保存在本机</h1>
<p>请返回<a href="/inspections/">监督检查任务列表</a>，打开已保存的检查任务；联网后即可访问其他页面。</p>
<p lang="en">You are offline and this page was not kept on this device. Go back to the
<a href="/inspections/">inspection tasks</a>.</p></body></html>`;

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
      const cached = await cache.match(request, { ignoreVary: true, ignoreSearch: request.mode === "navigate" });
      if (cached) return cached;
      if (request.mode === "navigate") {
        return new Response(OFFLINE_PAGE, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
      }
      throw err;
    }
  })());
});
