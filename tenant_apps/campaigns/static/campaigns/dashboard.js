// The dashboard's two small charts; numbers and labels come from the page (json_script).
(function () {
  "use strict";
  const source = document.getElementById("dashboard-chart-data");
  if (!source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const options = { plugins: { legend: { position: "bottom" } }, maintainAspectRatio: false };
  new Chart(document.getElementById("mailings-chart"), {
    type: "doughnut",
    data: {
      labels: data.statuses.labels,
      datasets: [{ data: data.statuses.values, backgroundColor: ["#0dcaf0", "#198754", "#6c757d"] }],
    },
    options,
  });
  new Chart(document.getElementById("deliveries-chart"), {
    type: "bar",
    data: {
      labels: data.deliveries.labels,
      datasets: [{ data: data.deliveries.values, backgroundColor: ["#198754", "#dc3545"] }],
    },
    options: { ...options, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
})();
