// The reports' attempts chart (Chart.js): data from the page's json_script, labels from the canvas.
(function () {
  "use strict";
  const canvas = document.getElementById("attempts-chart");
  const data = document.getElementById("attempts-series");
  if (!canvas || !data) return;
  const series = JSON.parse(data.textContent);
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: series.labels,
      datasets: [
        {label: canvas.dataset.labelSuccess, data: series.success, backgroundColor: "#198754"},
        {label: canvas.dataset.labelFailure, data: series.failure, backgroundColor: "#dc3545"},
      ],
    },
    options: {
      maintainAspectRatio: false,
      animation: false,
      scales: {x: {stacked: true}, y: {stacked: true, beginAtZero: true, ticks: {precision: 0}}},
    },
  });
})();
