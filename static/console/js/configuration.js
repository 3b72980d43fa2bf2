// The Configuration tab: add and remove rows of the key/value editors.
(function () {
  "use strict";
  document.querySelectorAll(".kv-editor").forEach((editor) => {
    const body = editor.querySelector("tbody");
    let next = body.rows.length;

    function addRow() {
      const row = body.insertRow();
      for (const [kind, label] of [["key", editor.dataset.keyLabel], ["value", editor.dataset.valueLabel]]) {
        const input = Object.assign(document.createElement("input"), { type: "text", name: kind + "_" + next });
        input.setAttribute("aria-label", label + " " + (next + 1));
        row.insertCell().append(input);
      }
      const remove = Object.assign(document.createElement("button"), { type: "button", className: "btn small kv-remove", textContent: "Remove" });
      row.insertCell().append(remove);
      next += 1;
      row.querySelector("input").focus();
    }

    editor.querySelector(".kv-add").addEventListener("click", addRow);
    body.addEventListener("click", (e) => {
      if (e.target.classList.contains("kv-remove")) e.target.closest("tr").remove();
    });
    if (!body.rows.length) addRow();
  });
})();
