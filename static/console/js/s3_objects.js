// A bucket's objects: upload by button or drag and drop (folders too) with a progress bar per
// file, select objects to download or delete, copy the folder's S3 URI. Each file is one XHR PUT
// to the upload view (the session's cookie and the CSRF header), whose upload progress events
// move its bar; when all are done the table is redrawn from the page's own partial.
(function () {
  "use strict";
  const panel = document.getElementById("objects-panel");
  const zone = document.getElementById("drop-zone");
  const csrf = document.querySelector("#delete-form input[name=csrfmiddlewaretoken]").value;
  const prefix = panel.dataset.prefix;
  const statusPanel = document.getElementById("upload-status");
  const statusBody = document.querySelector("#upload-table tbody");
  const summary = document.getElementById("upload-summary");
  const PARALLEL = 3;
  let queue = [];
  let running = 0;
  let counts = { done: 0, failed: 0, total: 0 };

  function formatSize(bytes) {
    const units = ["bytes", "KB", "MB", "GB", "TB"];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
  }

  function cell(text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function addRow(path, file) {
    const tr = document.createElement("tr");
    tr.dataset.key = prefix + path;
    tr.append(cell(path, "name"), cell(file.type || "-"), cell(formatSize(file.size)));
    const status = document.createElement("td");
    status.innerHTML = '<div class="upload-progress"><div class="progress" role="progressbar" aria-valuemin="0" ' +
      'aria-valuemax="100" aria-valuenow="0"><div class="bar"></div></div><span class="pct">0%</span></div>' +
      '<div class="state muted">Waiting</div>';
    tr.append(status);
    statusBody.append(tr);
    return tr;
  }

  function setProgress(row, pct) {
    const value = Math.max(0, Math.min(100, Math.floor(pct)));
    row.querySelector(".progress").setAttribute("aria-valuenow", String(value));
    row.querySelector(".bar").style.width = `${value}%`;
    row.querySelector(".pct").textContent = `${value}%`;
  }

  function setState(row, text, kind) {
    const state = row.querySelector(".state");
    state.textContent = text;
    state.className = `state ${kind || "muted"}`;
  }

  function updateSummary() {
    const left = counts.total - counts.done - counts.failed;
    summary.textContent = `(${counts.done} succeeded, ${counts.failed} failed${left ? `, ${left} in progress` : ""})`;
  }

  function enqueue(items) {
    if (!items.length) return;
    statusPanel.hidden = false;
    items.forEach(({ file, path }) => {
      counts.total += 1;
      queue.push({ file, path, row: addRow(path, file) });
    });
    updateSummary();
    pump();
  }

  function pump() {
    while (running < PARALLEL && queue.length) {
      running += 1;
      send(queue.shift());
    }
    if (!running && !queue.length) refresh();
  }

  function send({ file, path, row }) {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", `${panel.dataset.uploadUrl}?key=${encodeURIComponent(prefix + path)}`);
    xhr.setRequestHeader("X-CSRFToken", csrf);
    setState(row, "Uploading");
    xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) setProgress(row, (100 * e.loaded) / e.total); });
    xhr.addEventListener("load", () => {
      if (xhr.status === 200) {
        setProgress(row, 100);
        setState(row, "Succeeded", "ok");
        row.classList.add("succeeded");
        counts.done += 1;
      } else {
        let message = `HTTP ${xhr.status}`;
        try { message = JSON.parse(xhr.responseText).message || message; } catch (e) { /* not JSON: a login page */ }
        setState(row, `Failed: ${message}`, "error");
        row.classList.add("failed");
        counts.failed += 1;
      }
    });
    xhr.addEventListener("error", () => { setState(row, "Failed: the connection was lost", "error"); counts.failed += 1; });
    xhr.addEventListener("loadend", () => { running -= 1; updateSummary(); pump(); });
    xhr.send(file);
  }

  async function refresh() {
    const url = new URL(panel.dataset.refreshUrl, window.location.href);
    url.searchParams.set("partial", "1");
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) return;
    const holder = document.createElement("div");
    holder.innerHTML = await response.text();
    const listing = holder.querySelector("#objects-listing");
    document.getElementById("objects-listing").replaceWith(listing);
    document.getElementById("objects-count").textContent = `(${listing.dataset.count})`;
    bindSelection();
  }

  // --- Choosing files: the button, or a drop (with folders walked through the entries API) ---
  const input = document.getElementById("upload-input");
  document.getElementById("upload-button").addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    enqueue(Array.from(input.files).map((file) => ({ file, path: file.webkitRelativePath || file.name })));
    input.value = "";
  });

  function readAll(reader) {
    return new Promise((resolve, reject) => {
      const all = [];
      const next = () => reader.readEntries((batch) => {
        if (!batch.length) { resolve(all); return; }
        all.push(...batch);
        next();
      }, reject);
      next();
    });
  }

  async function walk(entry) {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      return [{ file, path: entry.fullPath.replace(/^\//, "") }];
    }
    const children = await readAll(entry.createReader());
    const nested = await Promise.all(children.map(walk));
    return nested.flat();
  }

  let depth = 0;
  zone.addEventListener("dragenter", (e) => { e.preventDefault(); depth += 1; zone.classList.add("dragging"); });
  zone.addEventListener("dragover", (e) => { e.preventDefault(); e.dataTransfer.dropEffect = "copy"; });
  zone.addEventListener("dragleave", () => { depth = Math.max(0, depth - 1); if (!depth) zone.classList.remove("dragging"); });
  zone.addEventListener("drop", async (e) => {
    e.preventDefault();
    depth = 0;
    zone.classList.remove("dragging");
    // Items are only readable during the event: take entries (or plain files) now, walk folders after.
    const entries = [];
    const files = [];
    Array.from(e.dataTransfer.items || []).forEach((item) => {
      if (item.kind !== "file") return;
      const entry = item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
      if (entry) entries.push(entry); else if (item.getAsFile()) files.push(item.getAsFile());
    });
    if (!entries.length && !files.length) files.push(...Array.from(e.dataTransfer.files || []));
    const walked = (await Promise.all(entries.map(walk))).flat();
    enqueue(walked.concat(files.map((file) => ({ file, path: file.name }))));
  });
  // A drop that misses the list must not make the browser leave the page to open the file.
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());

  document.getElementById("upload-clear").addEventListener("click", () => {
    statusBody.replaceChildren();
    counts = { done: 0, failed: 0, total: 0 };
    statusPanel.hidden = true;
  });

  // --- Selection: download one object, delete any ---
  const downloadButton = document.getElementById("download-selected");
  const deleteButton = document.getElementById("delete-selected");

  function selected() {
    return Array.from(document.querySelectorAll("#objects-table tbody input[name=key]:checked"))
      .map((box) => box.closest("tr"));
  }

  function onSelect() {
    const rows = selected();
    deleteButton.disabled = !rows.length;
    downloadButton.disabled = !(rows.length === 1 && rows[0].dataset.kind === "object");
  }

  function bindSelection() {
    const all = document.getElementById("select-all");
    const boxes = document.querySelectorAll("#objects-table tbody input[name=key]");
    boxes.forEach((box) => box.addEventListener("change", onSelect));
    if (all) all.addEventListener("change", () => { boxes.forEach((box) => { box.checked = all.checked; }); onSelect(); });
    onSelect();
  }
  bindSelection();

  downloadButton.addEventListener("click", () => {
    const row = selected()[0];
    window.location.href = `${panel.dataset.downloadUrl}?prefix=${encodeURIComponent(row.dataset.key)}`;
  });

  const dialog = document.getElementById("delete-dialog");
  const form = document.getElementById("delete-form");
  const confirmInput = document.getElementById("delete-confirm");
  const submit = document.getElementById("delete-submit");
  deleteButton.addEventListener("click", () => {
    form.querySelectorAll("input[name=key]").forEach((el) => el.remove());
    const list = document.getElementById("delete-list");
    list.replaceChildren();
    selected().forEach((row) => {
      const hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = "key";
      hidden.value = row.dataset.key;
      form.append(hidden);
      const li = document.createElement("li");
      li.textContent = row.dataset.name + (row.dataset.kind === "folder" ? " (folder and all its objects)" : "");
      list.append(li);
    });
    confirmInput.value = "";
    submit.disabled = true;
    dialog.showModal();
    confirmInput.focus();
  });
  confirmInput.addEventListener("input", () => { submit.disabled = confirmInput.value.trim() !== "permanently delete"; });
  document.getElementById("delete-cancel").addEventListener("click", () => dialog.close());

  const copy = document.getElementById("copy-uri");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(copy.dataset.uri);
      copy.textContent = "Copied";
      setTimeout(() => { copy.textContent = "Copy S3 URI"; }, 1500);
    } catch (e) {
      window.prompt("Copy the S3 URI", copy.dataset.uri);
    }
  });
})();
