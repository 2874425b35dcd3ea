// /reports: draw the funnel and disposition charts from the JSON in #report-data
// (data is never written into script code), again after each htmx swap of the figures
// and after htmx restores the page from its history (which runs this file again).
(function () {
  var palette = ["#2f5bea", "#16794c", "#a86400", "#b3261e", "#6b7385", "#7ea0ff",
                 "#3fb27f", "#e0a43a", "#d9645c", "#9aa3b8", "#1d2433", "#c9d3ee"];

  function replace(canvas, config) {
    if (!canvas) return;
    var old = Chart.getChart(canvas);
    if (old) old.destroy();
    new Chart(canvas, config);
  }

  function draw() {
    var holder = document.getElementById("report-data");
    if (!holder || typeof Chart === "undefined") return;
    Object.values(Chart.instances).forEach(function (chart) {
      if (!chart.canvas || !chart.canvas.isConnected) chart.destroy();  // swapped out
    });
    var data = JSON.parse(holder.textContent);
    replace(document.getElementById("funnel-chart"), {
      type: "bar",
      data: { labels: data.funnel.labels,
              datasets: [{ label: "attempts", data: data.funnel.values, backgroundColor: palette.slice(0, 4) }] },
      options: { indexAxis: "y", plugins: { legend: { display: false } },
                 scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
    replace(document.getElementById("disposition-chart"), {
      type: "doughnut",
      data: { labels: data.dispositions.labels,
              datasets: [{ data: data.dispositions.values, backgroundColor: palette }] },
      options: { plugins: { legend: { position: "right" } } }
    });
  }

  draw();  // loaded at the end of <body>: the figures are already in the page
  if (!window.voicekitReportCharts) {
    window.voicekitReportCharts = true;
    document.body.addEventListener("htmx:afterSettle", function (event) {
      if (event.detail && event.detail.target && event.detail.target.id === "report-results") draw();
    });
    document.body.addEventListener("htmx:historyRestore", draw);
  }
})();
