// Shared by the Code and Test tabs: invoke the function and show the execution result panel.
// The server renders the panel (escaped by the template), so function output stays text.
(function () {
  "use strict";

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  async function runTest(url, fields, panel, target, button) {
    const body = new URLSearchParams(fields);
    if (button) { button.disabled = true; button.dataset.label = button.textContent; button.textContent = "Testing…"; }
    panel.hidden = false;
    target.innerHTML = '<div class="muted">Executing function…</div>';
    try {
      const response = await fetch(url, {
        method: "POST", body, credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/x-www-form-urlencoded" },
      });
      const html = await response.text();
      if ((response.headers.get("Content-Type") || "").startsWith("text/html") && html.includes("execution-result-box")) {
        target.innerHTML = html;
      } else {
        target.textContent = "The console could not run the test (HTTP " + response.status + ").";
      }
    } catch (err) {
      target.textContent = "The console could not be reached: " + err;
    } finally {
      if (button) { button.disabled = false; button.textContent = button.dataset.label; }
    }
  }

  window.LambdaConsole = { csrfToken, runTest };
})();
