// The create wizard: show the parts that belong to the chosen way of creating a function.
(function () {
  "use strict";
  const form = document.getElementById("create-form");
  function update() {
    const method = form.querySelector("input[name=method]:checked").value;
    form.querySelectorAll("[data-method]").forEach((el) => { el.hidden = el.dataset.method !== method; });
  }
  form.querySelectorAll("input[name=method]").forEach((r) => r.addEventListener("change", update));
  update();
})();
