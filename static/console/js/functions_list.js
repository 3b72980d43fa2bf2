// The functions list: filter rows as the user types; confirm a delete by typing "delete".
(function () {
  "use strict";
  const filter = document.getElementById("function-filter");
  const rows = document.querySelectorAll("#functions-table tbody tr");
  const noMatch = document.getElementById("no-match");
  filter.addEventListener("input", () => {
    const q = filter.value.trim().toLowerCase();
    let shown = 0;
    rows.forEach((row) => { row.hidden = !!q && !row.dataset.search.includes(q); if (!row.hidden) shown += 1; });
    if (noMatch) noMatch.hidden = shown > 0 || !rows.length;
  });

  const dialog = document.getElementById("delete-dialog");
  const form = document.getElementById("delete-form");
  document.querySelectorAll("[data-delete]").forEach((button) => button.addEventListener("click", () => {
    form.action = button.dataset.url;
    document.getElementById("delete-name").textContent = button.dataset.delete;
    document.getElementById("delete-confirm").value = "";
    dialog.showModal();
  }));
  document.getElementById("delete-cancel").addEventListener("click", () => dialog.close());
})();
