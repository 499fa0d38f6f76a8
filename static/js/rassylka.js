// Behaviour the templates ask for with data attributes, so no page needs an
// inline script or event handler (the Content-Security-Policy forbids them).
(function () {
  "use strict";

  // <select data-autosubmit>: choosing an option submits its form (language, chart period).
  document.addEventListener("change", function (event) {
    const select = event.target.closest("select[data-autosubmit]");
    if (select && select.form) select.form.submit();
  });

  // <form data-confirm="Question?">: ask before submitting (removing a member, …).
  document.addEventListener("submit", function (event) {
    const form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });
})();
