// Test call page: clear the caller's input once a turn was accepted, and lock a chat
// panel when its call ended (the stream's "ended" event closes the EventSource).
(function () {
  document.body.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form.matches && form.matches("[data-testid=say-form]") && event.detail.successful) {
      form.reset();
      var input = form.querySelector("[data-testid=say-input]");
      if (input) input.focus();
    }
  });
  document.body.addEventListener("htmx:sseClose", function (event) {
    var panel = event.target.closest("[data-testid=test-call-panel]");
    if (!panel) return;
    panel.querySelectorAll("input, button").forEach(function (el) { el.disabled = true; });
  });
})();
