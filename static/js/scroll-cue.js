// Marks each .table-responsive box that scrolls sideways: "scroll-cue-end" while
// columns are hidden on the right, "scroll-cue-start" once scrolled from the left.
// rassylka.css turns the marks into a fade at that edge.
(function () {
  function mark(box) {
    const hiddenRight = box.scrollWidth - box.clientWidth - Math.abs(box.scrollLeft) > 1;
    box.classList.toggle("scroll-cue-end", hiddenRight);
    box.classList.toggle("scroll-cue-start", Math.abs(box.scrollLeft) > 1);
  }
  function markAll() {
    document.querySelectorAll(".table-responsive").forEach(mark);
  }
  document.addEventListener("scroll", function (event) {
    if (event.target instanceof Element && event.target.matches(".table-responsive")) mark(event.target);
  }, true);
  window.addEventListener("resize", markAll);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", markAll);
  else markAll();
})();
