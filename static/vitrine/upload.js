// Uploads each file in its own request so every file gets its own progress bar and its own error;
// a bad file never blocks the good ones. When all are done, one job makes the thumbnails.
(function () {
  "use strict";
  const form = document.getElementById("upload-form");
  if (!form) return;
  const input = document.getElementById("file-input");
  const dropzone = document.getElementById("dropzone");
  const list = document.getElementById("upload-list");
  const summary = document.getElementById("upload-summary");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const maxBytes = parseInt(form.dataset.maxBytes, 10);
  const PARALLEL = 3;
  // Uploading into an existing product: every request names it.
  const productInput = form.querySelector("input[name=product]");
  const product = productInput ? productInput.value : "";

  function row(file) {
    const li = document.createElement("li");
    li.className = "upload-row";
    const name = document.createElement("span");
    name.className = "filename";
    name.textContent = file.name;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    const status = document.createElement("span");
    status.className = "upload-status";
    status.textContent = "waiting";
    li.append(name, bar, status);
    list.append(li);
    return { li, bar, status };
  }

  function send(file, view) {
    return new Promise(function (resolve) {
      if (file.size > maxBytes) {
        view.li.classList.add("failed");
        view.status.textContent = "The file is larger than " + Math.round(maxBytes / 1048576) + " MB.";
        resolve(null);
        return;
      }
      const data = new FormData();
      data.append("file", file);
      if (product) data.append("product", product);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.dataset.fileUrl);
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.upload.onprogress = function (event) {
        if (event.lengthComputable) view.bar.value = Math.round((100 * event.loaded) / event.total);
      };
      xhr.onload = function () {
        let body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
        if (body && body.ok) {
          view.bar.value = 100;
          view.li.classList.add("done");
          view.status.textContent = body.image.note || (body.image.duplicate ? "already in your catalog" : "uploaded");
          resolve(body.image.id);
        } else {
          view.li.classList.add("failed");
          view.status.textContent = (body && body.error) || "Upload failed (" + xhr.status + ").";
          resolve(null);
        }
      };
      xhr.onerror = function () {
        view.li.classList.add("failed");
        view.status.textContent = "Network error; try this file again.";
        resolve(null);
      };
      view.status.textContent = "uploading";
      xhr.send(data);
    });
  }

  async function uploadAll(files) {
    const queue = Array.from(files).map(function (file) { return { file: file, view: row(file) }; });
    const ids = [];
    async function worker() {
      while (queue.length) {
        const next = queue.shift();
        const id = await send(next.file, next.view);
        if (id !== null) ids.push(id);
      }
    }
    const workers = [];
    for (let i = 0; i < PARALLEL; i++) workers.push(worker());
    await Promise.all(workers);
    if (!ids.length) return;
    const data = new FormData();
    ids.forEach(function (id) { data.append("images", id); });
    if (product) data.append("product", product);
    const response = await fetch(form.dataset.finishUrl, {
      method: "POST", body: data, headers: { "X-CSRFToken": csrf }, credentials: "same-origin",
    });
    const holder = document.createElement("div");
    holder.innerHTML = await response.text();
    summary.prepend(holder);
    if (window.htmx) window.htmx.process(holder);
  }

  input.addEventListener("change", function () {
    if (input.files.length) uploadAll(input.files);
    input.value = "";
  });
  ["dragenter", "dragover"].forEach(function (type) {
    dropzone.addEventListener(type, function (event) { event.preventDefault(); dropzone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (type) {
    dropzone.addEventListener(type, function (event) { event.preventDefault(); dropzone.classList.remove("over"); });
  });
  dropzone.addEventListener("drop", function (event) {
    if (event.dataTransfer && event.dataTransfer.files.length) uploadAll(event.dataTransfer.files);
  });
})();
