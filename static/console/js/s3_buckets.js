// S3 > Buckets: find buckets by name as the user types.
(function () {
  "use strict";
  const filter = document.getElementById("bucket-filter");
  const rows = document.querySelectorAll("#buckets-table tbody tr");
  const noMatch = document.getElementById("no-match");
  filter.addEventListener("input", () => {
    const q = filter.value.trim().toLowerCase();
    let shown = 0;
    rows.forEach((row) => { row.hidden = !!q && !row.dataset.search.includes(q); if (!row.hidden) shown += 1; });
    if (noMatch) noMatch.hidden = shown > 0 || !rows.length;
  });
})();
