// The menu's work-list and inbox counts, loaded after the page so that no page pays for them
// (a static file: the Content-Security-Policy allows no inline script).
(function () {
  "use strict";
  var slot = document.querySelector("[data-nav-counts]");
  if (!slot) {
    return;
  }
  fetch(slot.getAttribute("data-nav-counts"), {credentials: "same-origin"})
    .then(function (response) { return response.ok ? response.text() : ""; })
    .then(function (html) { if (html) { slot.innerHTML = html; } })
    .catch(function () { /* the badges are a convenience: nothing to tell the user */ });
}());
