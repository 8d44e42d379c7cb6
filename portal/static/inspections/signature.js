/* The leader's drawn signature: pointer events on a canvas, sent as a PNG data URL. */
(function () {
  "use strict";
  const form = document.getElementById("sign-form");
  if (!form) return;
  const canvas = form.querySelector("canvas");
  const ctx = canvas.getContext("2d");
  let drawing = false;
  let drawn = false;
  ctx.lineWidth = 3; ctx.lineCap = "round"; ctx.strokeStyle = "#000";
  function point(ev) {
    const rect = canvas.getBoundingClientRect();
    return [(ev.clientX - rect.left) * canvas.width / rect.width, (ev.clientY - rect.top) * canvas.height / rect.height];
  }
  canvas.addEventListener("pointerdown", (ev) => { drawing = true; ctx.beginPath(); ctx.moveTo(...point(ev)); });
  canvas.addEventListener("pointermove", (ev) => {
    if (!drawing) return;
    ctx.lineTo(...point(ev)); ctx.stroke(); drawn = true;
  });
  ["pointerup", "pointerleave", "pointercancel"].forEach((n) => canvas.addEventListener(n, () => { drawing = false; }));
  document.getElementById("sign-clear").addEventListener("click", () => {
    ctx.clearRect(0, 0, canvas.width, canvas.height); drawn = false;
  });
  form.addEventListener("submit", () => {
    form.querySelector("input[name=signature]").value = drawn ? canvas.toDataURL("image/png") : "";
  });
})();
