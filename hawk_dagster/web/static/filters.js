// Progressive enhancement of filter forms (GET): leave out empty fields, so a shared link holds only the filters
// that are set. Without script the form still works; the server ignores empty values.
document.querySelectorAll("form[role=search]").forEach((form) => {
  form.addEventListener("submit", () => {
    form.querySelectorAll("input, select").forEach((field) => {
      if (field.name && !field.multiple && field.type !== "checkbox" && field.value.trim() === "") {
        field.disabled = true;
      }
    });
  });
});
// Back/forward may restore the page as it was at submit time: fields disabled above come back enabled.
window.addEventListener("pageshow", () => {
  document.querySelectorAll("form[role=search] [disabled]").forEach((field) => { field.disabled = false; });
});
