/* Behaviours the templates declare with data attributes. The Content-Security-Policy allows no
 * inline script and no inline event handler (docs/ARCHITECTURE-NOTES.md, "No inline scripts"),
 * so instead of onchange="…" a template writes data-autosubmit, data-print or data-confirm="…".
 *   data-autosubmit  on a select/input: submits its form when the value changes;
 *   data-print       on a button: opens the print dialog;
 *   data-confirm     on a submit button or link: asks first, and does nothing if declined. */
(function () {
  "use strict";
  document.addEventListener("change", (event) => {
    const field = event.target.closest && event.target.closest("[data-autosubmit]");
    if (field && field.form) field.form.submit();
  });
  document.addEventListener("click", (event) => {
    const target = event.target.closest && event.target.closest("[data-print], [data-confirm]");
    if (!target) return;
    if (target.hasAttribute("data-print")) {
      event.preventDefault();
      window.print();
    } else if (!window.confirm(target.dataset.confirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();
