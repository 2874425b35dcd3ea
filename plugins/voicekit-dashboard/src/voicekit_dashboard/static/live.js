// Live pages: elapsed times tick in the browser between server updates, and a call's
// "following" note goes away when the call ends. Rows carry data-elapsed (seconds when
// the server rendered them); counting from when a row arrived avoids clock skew.
(function () {
  var seen = new WeakMap();

  function format(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 60) return seconds + " s";
    var rest = seconds % 60;
    return Math.floor(seconds / 60) + " min " + (rest < 10 ? "0" : "") + rest + " s";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-elapsed]").forEach(function (el) {
      if (!seen.has(el)) seen.set(el, now - parseFloat(el.getAttribute("data-elapsed")) * 1000);
      el.textContent = format((now - seen.get(el)) / 1000);
    });
  }

  tick();
  setInterval(tick, 1000);
  document.body.addEventListener("htmx:afterSettle", tick);  // rows just swapped in
  // a call's page: the status badge follows the stream (rendered once, at page load)
  function setStatus(status, label) {
    var badge = document.querySelector("[data-testid=call-status]");
    if (!badge || badge.getAttribute("data-status") === status) return;
    badge.className = "badge " + status;
    badge.setAttribute("data-status", status);
    badge.textContent = label;
  }
  document.body.addEventListener("htmx:sseMessage", function (event) {
    var type = event.detail && event.detail.type;
    if (type === "line" || type === "tool") setStatus("in_call", "in call");
    if (type === "ended") setStatus("ended", "ended");
  });
  document.body.addEventListener("htmx:sseClose", function () {
    var note = document.getElementById("following");
    if (note) note.hidden = true;
    setStatus("ended", "ended");
  });
})();
