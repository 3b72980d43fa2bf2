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
    const blueprint = (form.querySelector("input[name=blueprint]:checked") || {}).value;
    form.querySelectorAll("[data-blueprint-needs]").forEach((el) => {
      el.hidden = method !== "blueprint" || el.dataset.blueprintNeeds !== blueprint;
    });
    const name = form.querySelector("input[name=function_name]").value.trim();
    document.getElementById("new-role-name").textContent = (name || "<function name>") + "-role-<random>";
  }
  // A blueprint's presets (memory, timeout) replace the fields' values unless the user changed them.
  const presetFields = ["memory_size", "timeout"].map((name) => form.querySelector(`input[name=${name}]`));
  presetFields.forEach((field) => { field.dataset.preset = field.value; });
  function applyPresets(radio) {
    presetFields.forEach((field) => {
      if (field.value !== field.dataset.preset) return;
      const key = field.name === "memory_size" ? "memorySize" : "timeout";
      field.value = radio.dataset[key] || field.defaultValue;
      field.dataset.preset = field.value;
    });
  }
  form.querySelectorAll("input[name=blueprint]").forEach((r) => r.addEventListener("change", () => { applyPresets(r); update(); }));
  form.querySelectorAll("input[name=method], input[name=execution_role]").forEach((r) => r.addEventListener("change", update));
  form.querySelector("input[name=function_name]").addEventListener("input", update);
  update();
})();
