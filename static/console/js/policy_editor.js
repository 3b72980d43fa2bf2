// Policy documents in the Monaco editor: each textarea[data-json-editor] becomes a JSON editor
// whose text goes back into the textarea, so the form posts it (and works without scripts).
(function () {
  "use strict";
  const areas = document.querySelectorAll("textarea[data-json-editor]");
  if (!areas.length || typeof require === "undefined") return;
  const root = areas[0].closest("[data-monaco]").dataset.monaco;
  require.config({ paths: { vs: root } });
  require(["vs/editor/editor.main"], function () {
    areas.forEach((area) => {
      const box = document.createElement("div");
      box.className = "json-editor";
      box.id = area.id + "-editor";
      box.setAttribute("aria-label", (document.querySelector(`label[for="${area.id}"]`) || {}).textContent || "");
      area.after(box);
      area.hidden = true;
      const editor = monaco.editor.create(box, {
        value: area.value, language: "json", automaticLayout: true, minimap: { enabled: false }, fontSize: 13,
        scrollBeyondLastLine: false, tabSize: 4, lineNumbersMinChars: 3, wordWrap: "on",
      });
      editor.onDidChangeModelContent(() => { area.value = editor.getValue(); });
      // The label points at the hidden textarea: clicking it focuses the editor instead.
      const label = document.querySelector(`label[for="${area.id}"]`);
      if (label) label.addEventListener("click", (e) => { e.preventDefault(); editor.focus(); });
      box.dataset.ready = "true";
      window.policyEditors = Object.assign(window.policyEditors || {}, { [area.id]: editor });
    });
  });
})();
