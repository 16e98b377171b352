// Keeps the eval sets ticked for comparison in the URL (?selected=...), so a reload, the page's own refresh while
// eval sets run, and back/forward keep them. Progressive enhancement: without it the compare form still works.
document.querySelectorAll('#compare-form input[name="eval_set"]').forEach((box) => {
  box.addEventListener("change", () => {
    const url = new URL(window.location.href);
    const ticked = new Set(url.searchParams.getAll("selected"));
    if (box.checked) ticked.add(box.value); else ticked.delete(box.value);
    url.searchParams.delete("selected");
    [...ticked].sort().forEach((id) => url.searchParams.append("selected", id));
    history.replaceState(null, "", url);
  });
});
