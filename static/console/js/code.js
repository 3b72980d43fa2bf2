// The Code tab: a Monaco editor over the function's files, a file tree, Deploy and Test.
(function () {
  "use strict";
  const root = document.getElementById("code-source");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const treeEl = $("file-tree");
  const stateEl = $("deploy-state");
  const deployButton = $("deploy-button");

  const LANGUAGES = { py: "python", js: "javascript", mjs: "javascript", cjs: "javascript", ts: "typescript",
    json: "json", md: "markdown", yml: "yaml", yaml: "yaml", sh: "shell" };
  const files = new Map();   // path -> {content, binary, model}
  const folders = new Set(); // empty folders made in the browser
  let selected = null;       // selected path (file or folder)
  let editor = null;
  let dirty = false;

  function language(path) {
    const base = path.split("/").pop();
    if (base === "bootstrap") return "shell";
    const ext = base.includes(".") ? base.split(".").pop().toLowerCase() : "";
    return LANGUAGES[ext] || "plaintext";
  }

  function setDirty(value) {
    dirty = value;
    stateEl.textContent = dirty ? "Changes not deployed" : "";
    stateEl.classList.toggle("dirty", dirty);
  }

  function folderOf(path) {
    const i = path.lastIndexOf("/");
    return i < 0 ? "" : path.slice(0, i);
  }

  // Build a nested tree of folders and files from the flat paths.
  function buildTree() {
    const tree = { folders: {}, files: [] };
    const ensure = (path) => {
      let node = tree;
      if (!path) return node;
      for (const part of path.split("/")) node = node.folders[part] = node.folders[part] || { folders: {}, files: [] };
      return node;
    };
    for (const folder of folders) ensure(folder);
    for (const path of [...files.keys()].sort()) ensure(folderOf(path)).files.push(path);
    return tree;
  }

  function renderTree() {
    treeEl.replaceChildren();
    const add = (parent, node, prefix) => {
      for (const name of Object.keys(node.folders).sort()) {
        const path = prefix ? prefix + "/" + name : name;
        const li = document.createElement("li");
        li.className = "folder";
        li.append(nodeButton(name, path, "folder"));
        const ul = document.createElement("ul");
        ul.style.paddingLeft = "14px";
        add(ul, node.folders[name], path);
        li.append(ul);
        parent.append(li);
      }
      for (const path of node.files) {
        const li = document.createElement("li");
        li.className = "file";
        li.append(nodeButton(path.split("/").pop(), path, "file"));
        parent.append(li);
      }
    };
    add(treeEl, buildTree(), "");
  }

  function nodeButton(label, path, kind) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "node" + (path === selected ? " selected" : "");
    b.textContent = label;  // names are user data: never HTML
    b.title = path;
    b.dataset.path = path;
    b.dataset.kind = kind;
    b.setAttribute("role", "treeitem");
    b.addEventListener("click", () => kind === "file" ? openFile(path) : selectFolder(path));
    return b;
  }

  function selectFolder(path) {
    selected = path;
    renderTree();
  }

  function openFile(path) {
    const file = files.get(path);
    if (!file) return;
    selected = path;
    $("current-file").textContent = path;
    if (file.binary) {
      editor.setModel(monaco.editor.createModel("This file is binary and cannot be edited here. It is kept when you deploy.", "plaintext"));
      editor.updateOptions({ readOnly: true });
    } else {
      editor.setModel(file.model);
      editor.updateOptions({ readOnly: false });
    }
    renderTree();
  }

  function addFile(path, content, binary) {
    const file = { content, binary };
    if (!binary) {
      file.model = monaco.editor.createModel(content, language(path));
      file.model.onDidChangeContent(() => setDirty(true));
    }
    files.set(path, file);
  }

  function targetFolder() {
    if (selected === null) return "";
    return files.has(selected) ? folderOf(selected) : selected;
  }

  function validName(name) {
    return name && !name.startsWith("/") && !name.split("/").some((p) => !p || p === "." || p === "..") && !name.includes("\\");
  }

  function newFile() {
    const base = targetFolder();
    const name = prompt("New file name", base ? base + "/untitled.txt" : "untitled.txt");
    if (name === null) return;
    const path = name.trim();
    if (!validName(path) || files.has(path)) { alert("Choose a new, valid file name."); return; }
    addFile(path, "", false);
    setDirty(true);
    openFile(path);
  }

  function newFolder() {
    const base = targetFolder();
    const name = prompt("New folder name", base ? base + "/folder" : "folder");
    if (name === null) return;
    const path = name.trim().replace(/\/+$/, "");
    if (!validName(path)) { alert("Choose a valid folder name."); return; }
    folders.add(path);
    selected = path;
    renderTree();
  }

  function renameSelected() {
    if (selected === null) return;
    const name = prompt("Rename " + selected + " to", selected);
    if (name === null) return;
    const path = name.trim().replace(/\/+$/, "");
    if (!validName(path) || path === selected) return;
    if (files.has(selected)) {
      if (files.has(path)) { alert("A file with that name exists."); return; }
      const file = files.get(selected);
      files.delete(selected);
      if (file.model) {
        const model = monaco.editor.createModel(file.model.getValue(), language(path));
        model.onDidChangeContent(() => setDirty(true));
        file.model.dispose();
        file.model = model;
      }
      files.set(path, file);
    } else {
      for (const [p, f] of [...files]) {
        if (p.startsWith(selected + "/")) { files.delete(p); files.set(path + p.slice(selected.length), f); }
      }
      for (const f of [...folders]) {
        if (f === selected || f.startsWith(selected + "/")) { folders.delete(f); folders.add(path + f.slice(selected.length)); }
      }
    }
    setDirty(true);
    selected = path;
    if (files.has(path)) openFile(path); else renderTree();
  }

  function deleteSelected() {
    if (selected === null || !confirm("Delete " + selected + "?")) return;
    for (const p of [...files.keys()]) {
      if (p === selected || p.startsWith(selected + "/")) { const f = files.get(p); if (f.model) f.model.dispose(); files.delete(p); }
    }
    for (const f of [...folders]) if (f === selected || f.startsWith(selected + "/")) folders.delete(f);
    setDirty(true);
    selected = null;
    const first = [...files.keys()].sort()[0];
    if (first) openFile(first); else { editor.setModel(null); $("current-file").textContent = "No file"; renderTree(); }
  }

  async function deploy() {
    const payload = [...files.entries()].map(([path, f]) => f.binary ? { path, binary: true } : { path, content: f.model.getValue() });
    deployButton.disabled = true;
    stateEl.textContent = "Deploying…";
    try {
      const response = await fetch(root.dataset.deployUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": window.LambdaConsole.csrfToken() },
        body: JSON.stringify({ files: payload }),
      });
      const data = await response.json();
      if (!response.ok) throw new Error(data.error || "Deploy failed");
      setDirty(false);
      stateEl.textContent = data.message;
    } catch (err) {
      stateEl.textContent = "Deploy failed: " + err.message;
      stateEl.classList.add("dirty");
    } finally {
      deployButton.disabled = false;
    }
  }

  function test() {
    const event = $("test-event-select").value;
    window.LambdaConsole.runTest(root.dataset.invokeUrl, event ? { event } : { body: "{}" },
      $("result-panel"), $("execution-result"), $("test-button"));
  }

  $("test-button").addEventListener("click", test);
  const editRuntime = $("edit-runtime");
  if (editRuntime) editRuntime.addEventListener("click", () => { $("runtime-form").hidden = !$("runtime-form").hidden; });
  window.addEventListener("beforeunload", (e) => { if (dirty) { e.preventDefault(); e.returnValue = ""; } });

  if (!$("editor")) return;
  $("new-file").addEventListener("click", newFile);
  $("new-folder").addEventListener("click", newFolder);
  $("rename-file").addEventListener("click", renameSelected);
  $("delete-file").addEventListener("click", deleteSelected);
  deployButton.addEventListener("click", deploy);
  document.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === "s") { e.preventDefault(); deploy(); }
  });

  require.config({ paths: { vs: root.dataset.monaco } });
  require(["vs/editor/editor.main"], async function () {
    editor = monaco.editor.create($("editor"), {
      automaticLayout: true, minimap: { enabled: false }, fontSize: 13, scrollBeyondLastLine: false,
      tabSize: root.dataset.runtime.startsWith("python") ? 4 : 2,
    });
    window.consoleEditor = editor;
    const response = await fetch(root.dataset.filesUrl, { credentials: "same-origin" });
    const data = await response.json();
    for (const f of data.files) addFile(f.path, f.content || "", f.binary);
    // Open the handler's file first, as the AWS console does.
    const module = (root.dataset.handler || "").split(".")[0];
    const paths = [...files.keys()].sort();
    const first = paths.find((p) => p.replace(/\.[^.\/]+$/, "") === module) || paths[0];
    if (first) openFile(first); else renderTree();
    root.dataset.ready = "true";
  });
})();
