/* Signing out on a shared tablet: the inspection pages kept for offline use (Cache Storage,
 * written by /static/inspections/sw.js) are dropped before the logout request is sent, so the
 * next person cannot read them offline. The outbox of answers not yet sent (IndexedDB) stays:
 * nothing an inspector entered is lost by signing out. */
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!form.matches("form[data-signout]") || form.dataset.cleared || !("caches" in window)) return;
  event.preventDefault();
  try {
    for (const key of await caches.keys()) if (key.startsWith("pneumo-inspections")) await caches.delete(key);
  } finally {
    form.dataset.cleared = "1";
    form.submit();
  }
});
