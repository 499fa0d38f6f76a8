// New workspace: suggest an address from the name until the person types one themselves.
(function () {
  "use strict";
  const slug = document.querySelector("input[data-slug-from]");
  if (!slug) return;
  const name = document.getElementById(slug.dataset.slugFrom);
  let touched = slug.value !== "";
  slug.addEventListener("input", () => { touched = true; });
  name.addEventListener("input", () => {
    if (touched) return;
    slug.value = name.value.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40);
  });
})();
