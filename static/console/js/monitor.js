// The Monitor tab: Chart.js charts of the function's metrics over the chosen period.
(function () {
  "use strict";
  const root = document.getElementById("monitor");
  if (!root || !window.Chart) return;
  const ORANGE = "#ec7211", BLUE = "#0073bb", RED = "#d13212", GREEN = "#1d8102", PURPLE = "#8456ce";
  let period = "1h";
  const charts = {};

  function label(iso) {
    const d = new Date(iso);
    const two = (n) => String(n).padStart(2, "0");
    return period === "1w" ? (d.getMonth() + 1) + "/" + d.getDate() + " " + two(d.getHours()) + ":00"
      : two(d.getHours()) + ":" + two(d.getMinutes());
  }

  function chart(id, datasets, options) {
    const canvas = document.getElementById(id);
    const config = {
      type: "line",
      data: { labels: [], datasets: datasets.map((d) => ({ borderWidth: 2, spanGaps: true, tension: 0.2,
        pointRadius: (c) => (c.raw ? 3 : 0), pointHoverRadius: 4, ...d })) },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { display: datasets.length > 1, position: "bottom", labels: { boxWidth: 12 } } },
        scales: { x: { ticks: { maxTicksLimit: 6, maxRotation: 0 } }, y: { beginAtZero: true, ticks: { precision: 0 } } },
        ...options,
      },
    };
    charts[id] = new Chart(canvas, config);
    return charts[id];
  }

  chart("chart-invocations", [{ label: "Invocations", borderColor: BLUE, backgroundColor: BLUE, key: "invocations" }]);
  chart("chart-duration", [
    { label: "Average (ms)", borderColor: BLUE, backgroundColor: BLUE, key: "duration_avg" },
    { label: "Maximum (ms)", borderColor: ORANGE, backgroundColor: ORANGE, key: "duration_max" },
  ]);
  chart("chart-errors", [
    { label: "Errors", borderColor: RED, backgroundColor: RED, key: "errors", yAxisID: "y" },
    { label: "Success rate (%)", borderColor: GREEN, backgroundColor: GREEN, key: "success_rate", yAxisID: "y1" },
  ], { scales: { x: { ticks: { maxTicksLimit: 6, maxRotation: 0 } }, y: { beginAtZero: true, ticks: { precision: 0 } },
    y1: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false } } } });
  chart("chart-throttles", [{ label: "Throttles", borderColor: PURPLE, backgroundColor: PURPLE, key: "throttles" }]);
  chart("chart-concurrency", [{ label: "Concurrent executions", borderColor: ORANGE, backgroundColor: ORANGE, key: "concurrent_executions" }]);

  async function load() {
    const response = await fetch(root.dataset.metricsUrl + "?period=" + encodeURIComponent(period), { credentials: "same-origin" });
    if (!response.ok) return;
    const data = await response.json();
    const labels = data.labels.map(label);
    for (const c of Object.values(charts)) {
      c.data.labels = labels;
      for (const ds of c.data.datasets) ds.data = data[ds.key];
      c.update();
    }
    const t = data.totals;
    document.getElementById("metrics-totals").textContent =
      t.invocations + " invocations, " + t.errors + " errors, " + t.throttles + " throttles in the last " + period;
    root.dataset.invocations = String(t.invocations);
  }

  root.querySelectorAll("[data-period]").forEach((b) => b.addEventListener("click", () => {
    period = b.dataset.period;
    root.querySelectorAll("[data-period]").forEach((x) => x.classList.toggle("active", x === b));
    load();
  }));
  document.getElementById("refresh-metrics").addEventListener("click", load);
  load();
  setInterval(load, 60000);
})();
