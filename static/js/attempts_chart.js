// The reports' attempts chart (Chart.js): data from the page's json_script, labels from the canvas.
(function () {
  "use strict";
  const canvas = document.getElementById("attempts-chart");
  const data = document.getElementById("attempts-series");
  if (!canvas || !data) return;
  const series = JSON.parse(data.textContent);
  function hitDatasets() {  // opens and clicks (tenant_apps/engagement), when tracked: lines on the same buckets
    const node = document.getElementById("hits-series");
    if (!node) return [];
    const hits = JSON.parse(node.textContent);
    return [
      {type: "line", label: canvas.dataset.labelOpens, data: hits.opens, borderColor: "#0d6efd", stack: "opens"},
      {type: "line", label: canvas.dataset.labelClicks, data: hits.clicks, borderColor: "#fd7e14", stack: "clicks"},
    ];
  }
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: series.labels,
      datasets: [
        {label: canvas.dataset.labelSuccess, data: series.success, backgroundColor: "#198754"},
        {label: canvas.dataset.labelFailure, data: series.failure, backgroundColor: "#dc3545"},
        {label: canvas.dataset.labelBounced, data: series.bounced, backgroundColor: "#ffc107", stack: "feedback"},
        {label: canvas.dataset.labelComplained, data: series.complained, backgroundColor: "#6f42c1", stack: "feedback"},
      ].concat(hitDatasets()),
    },
    options: {
      maintainAspectRatio: false,
      animation: false,
      scales: {x: {stacked: true}, y: {stacked: true, beginAtZero: true, ticks: {precision: 0}}},
    },
  });
})();
