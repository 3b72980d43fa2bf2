// The Test tab: templates into the JSON box, local JSON check with the line of the error, Test.
(function () {
  "use strict";
  const panel = document.getElementById("test-event");
  if (!panel) return;
  const body = document.getElementById("id_body");
  const name = document.getElementById("id_name");
  const templates = JSON.parse(document.getElementById("event-templates").textContent);

  body.rows = 18;
  body.spellcheck = false;

  document.getElementById("template").addEventListener("change", (e) => {
    if (!e.target.value) return;
    body.value = templates[e.target.value];
    if (!name.value) name.value = e.target.value.replace(/[^A-Za-z0-9_.-]/g, "-").slice(0, 25);
  });

  const saved = document.getElementById("saved-event");
  if (saved) saved.addEventListener("change", () => {
    window.location.search = "?event=" + encodeURIComponent(saved.value);
  });
  document.getElementById("action-new").addEventListener("change", () => {
    name.value = "";
    body.value = templates["hello-world"];
  });

  // Where JSON.parse failed, as a line number (the server checks again before saving).
  function jsonError(text) {
    if (!text.trim()) return null;
    try { JSON.parse(text); return null; } catch (err) {
      const m = /position (\d+)/.exec(err.message);
      const line = m ? text.slice(0, Number(m[1])).split("\n").length : null;
      return "Event JSON is not valid: " + err.message.replace(/^JSON\.parse: /, "") + (line && !/line \d+/.test(err.message) ? " (line " + line + ")" : "");
    }
  }

  function showError(message) {
    let list = body.parentElement.querySelector(".errorlist");
    if (!message) { if (list) list.remove(); body.parentElement.classList.remove("has-error"); return; }
    if (!list) { list = document.createElement("ul"); list.className = "errorlist"; body.after(list); }
    list.replaceChildren(Object.assign(document.createElement("li"), { textContent: message }));
    body.parentElement.classList.add("has-error");
  }

  document.getElementById("test-button").addEventListener("click", () => {
    const error = jsonError(body.value);
    showError(error);
    if (error) return;
    window.LambdaConsole.runTest(panel.dataset.invokeUrl,
      { body: body.value, qualifier: document.getElementById("qualifier").value },
      document.getElementById("result-panel"), document.getElementById("execution-result"),
      document.getElementById("test-button"));
  });
})();
