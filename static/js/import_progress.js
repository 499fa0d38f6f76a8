// The import page: poll the job's progress and reload the page when it is finished.
(function () {
  "use strict";
  const box = document.querySelector("[data-progress-url]");
  if (!box) return;
  const bar = box.querySelector(".progress-bar");
  async function poll() {
    try {
      const response = await fetch(box.dataset.progressUrl, {headers: {"Accept": "application/json"}});
      const state = await response.json();
      bar.style.width = state.percent + "%";
      bar.textContent = state.percent + "%";
      box.setAttribute("aria-valuenow", state.percent);
      if (state.finished) { window.location.reload(); return; }
    } catch (error) { /* a missed poll is retried */ }
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 500);
})();
