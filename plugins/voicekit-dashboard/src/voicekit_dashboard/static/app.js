// voicekit dashboard: small helpers on top of htmx (no build step).
document.body.addEventListener("htmx:responseError", function (event) {
  var box = document.getElementById("flash");
  if (!box) return;
  var text = event.detail.xhr.responseText;
  try { text = JSON.parse(text).detail || text; } catch (e) { /* not JSON */ }
  box.textContent = String(text);
  box.hidden = false;
});
