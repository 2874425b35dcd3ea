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
  document.body.addEventListener("htmx:sseClose", function () {
    var note = document.getElementById("following");
    if (note) note.hidden = true;
  });
})();
