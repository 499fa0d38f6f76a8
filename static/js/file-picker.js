// Shows the name of the file chosen in an includes/file_picker.html picker
// (its native input is hidden, so its browser-language text never shows).
document.addEventListener("change", function (event) {
  const input = event.target;
  if (!(input instanceof HTMLInputElement) || !input.matches("[data-file-picker] input[type=file]")) return;
  const shown = input.closest("[data-file-picker]").querySelector("[data-file-name]");
  const names = Array.from(input.files || [], function (file) { return file.name; });
  shown.textContent = names.length ? names.join(", ") : shown.dataset.empty;
  shown.classList.toggle("text-muted", names.length === 0);
});
