// Triggers: show the settings of the chosen source, and confirm deletes and state changes.
(function () {
  "use strict";
  const form = document.getElementById("add-trigger");
  if (form) {
    const show = () => {
      const source = (form.querySelector("input[name=source]:checked") || {}).value;
      form.querySelectorAll(".trigger-panel").forEach((panel) => { panel.hidden = panel.dataset.source !== source; });
      const intent = (form.querySelector("input[name=api_choice]:checked") || {}).value || "new";
      form.querySelectorAll("[data-api-choice]").forEach((el) => { el.hidden = el.dataset.apiChoice !== intent; });
    };
    form.addEventListener("change", show);
    show();
  }
  document.querySelectorAll("form[data-confirm]").forEach((f) => {
    f.addEventListener("submit", (e) => { if (!window.confirm(f.dataset.confirm)) e.preventDefault(); });
  });
})();
