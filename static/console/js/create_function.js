// The create wizard: show the parts that belong to the chosen way of creating a function and
// of giving it a role.
(function () {
  "use strict";
  const form = document.getElementById("create-form");
  function update() {
    const method = form.querySelector("input[name=method]:checked").value;
    form.querySelectorAll("[data-method]").forEach((el) => { el.hidden = el.dataset.method !== method; });
    const role = (form.querySelector("input[name=execution_role]:checked") || {}).value || "new";
    form.querySelectorAll("[data-role-choice]").forEach((el) => { el.hidden = el.dataset.roleChoice !== role; });
    const name = form.querySelector("input[name=function_name]").value.trim();
    document.getElementById("new-role-name").textContent = (name || "<function name>") + "-role-<random>";
  }
  form.querySelectorAll("input[name=method], input[name=execution_role]").forEach((r) => r.addEventListener("change", update));
  form.querySelector("input[name=function_name]").addEventListener("input", update);
  update();
})();
