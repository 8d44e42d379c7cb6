// The menu's work-list and inbox counts, loaded after the page so that no page pays for them
// (a static file: the Content-Security-Policy allows no inline script).
(function () {
  "use strict";
  var slot = document.querySelector("[data-nav-counts]");
  if (!slot) {
    return;
  }
  // Not following redirects: once the session has ended, the server sends this fetch to the login
  // page, whose HTML does not belong in the menu and whose visit would set a new CSRF cookie under
  // a login form open in another tab.
  fetch(slot.getAttribute("data-nav-counts"), {credentials: "same-origin", redirect: "manual"})
    .then(function (response) { return response.ok ? response.text() : ""; })
    .then(function (html) { if (html) { slot.innerHTML = html; } })
    .catch(function () { /* the badges are a convenience: nothing to tell the user */ });
}());
