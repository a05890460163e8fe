// Search by picture: drop, paste, choose or photograph a picture; the server answers with the results
// partial (detected subject boxed on a preview, other objects as dashed boxes, the matches). Clicking a
// box or dragging a new one on the preview re-queries with that Region; filters re-query on change.
(function () {
  "use strict";
  const form = document.getElementById("search-form");
  if (!form) return;
  const drop = document.getElementById("search-drop");
  const field = (name) => form.elements.namedItem(name);
  let picture = null; // the File being searched; null when searching a catalog photo (field "image")
  let pending = null;

  function hasQuery() {
    return picture !== null || Boolean(field("image").value);
  }

  function results() {
    return document.getElementById("search-results");
  }

  async function search() {
    if (!hasQuery()) return;
    const data = new FormData(form);
    data.delete("picture");
    if (picture) {
      data.set("picture", picture, picture.name || "pasted.png");
      data.delete("image");
    }
    if (pending) pending.abort();
    pending = new AbortController();
    form.classList.add("searching");
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: data,
        headers: { "HX-Request": "true" },
        credentials: "same-origin",
        signal: pending.signal,
      });
      results().outerHTML = await response.text(); // errors come back as the same partial
      bindResults();
    } catch (error) {
      if (error.name !== "AbortError") {
        results().innerHTML = '<p class="message error">The search failed: ' + String(error.message || error) + "</p>";
      }
    } finally {
      form.classList.remove("searching");
    }
  }

  function newPicture(file) {
    if (!file || !file.type.startsWith("image/")) return;
    picture = file;
    field("image").value = "";
    field("region").value = "";
    field("crop").value = "1";
    field("start").value = "";
    search();
  }

  // ---- input: pick, photograph, drop, paste -------------------------------------------------------------------
  for (const id of ["search-file", "search-camera"]) {
    const input = document.getElementById(id);
    input.addEventListener("change", () => newPicture(input.files[0]));
  }
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    newPicture(event.dataTransfer.files[0]);
  });
  document.addEventListener("paste", (event) => {
    const file = Array.from(event.clipboardData ? event.clipboardData.files : []).find((f) => f.type.startsWith("image/"));
    if (file) {
      event.preventDefault();
      newPicture(file);
    }
  });

  // ---- filters and paging ---------------------------------------------------------------------------------------
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!hasQuery()) {
      results().innerHTML = '<p class="message error" id="search-error">Drop, paste or choose a photo to search with.</p>';
      return;
    }
    field("start").value = "";
    search();
  });
  form.addEventListener("change", (event) => {
    if (event.target.closest(".search-sidebar")) {
      field("start").value = "";
      search();
    }
  });

  // ---- the results partial: boxes, dragging, paging --------------------------------------------------------------
  function requery(region, crop) {
    field("region").value = region;
    field("crop").value = crop;
    field("start").value = "";
    search();
  }

  function bindResults() {
    const root = results();
    const preview = root.querySelector(".query-preview");
    if (preview && preview.dataset.image && !picture) field("image").value = preview.dataset.image;
    root.querySelectorAll(".region-box:not(.main)").forEach((box) => {
      box.addEventListener("click", () => requery(box.dataset.region, "1"));
    });
    const whole = root.querySelector("[data-whole-picture]");
    if (whole) whole.addEventListener("click", () => requery("", "0"));
    const detected = root.querySelector("[data-detected]");
    if (detected) detected.addEventListener("click", () => requery("", "1"));
    root.querySelectorAll("[data-min-score]").forEach((button) => {
      button.addEventListener("click", () => {
        field("min_score").value = button.dataset.minScore;
        field("start").value = "";
        search();
      });
    });
    root.querySelectorAll("[data-start]").forEach((button) => {
      button.addEventListener("click", () => {
        field("start").value = button.dataset.start;
        search();
      });
    });
    if (preview) bindDrag(preview);
  }

  function bindDrag(preview) {
    const img = preview.querySelector("img");
    let origin = null;
    let ghost = null;
    const point = (event) => {
      const rect = img.getBoundingClientRect();
      return {
        x: Math.min(Math.max(event.clientX - rect.left, 0), rect.width),
        y: Math.min(Math.max(event.clientY - rect.top, 0), rect.height),
        rect,
      };
    };
    preview.addEventListener("pointerdown", (event) => {
      if (event.target.closest(".region-box:not(.main)") || event.button !== 0) return;
      event.preventDefault();
      origin = point(event);
      ghost = document.createElement("div");
      ghost.className = "region-box drawing";
      preview.appendChild(ghost);
      preview.setPointerCapture(event.pointerId);
    });
    preview.addEventListener("pointermove", (event) => {
      if (!origin) return;
      const p = point(event);
      const left = Math.min(origin.x, p.x);
      const top = Math.min(origin.y, p.y);
      Object.assign(ghost.style, {
        left: (100 * left) / p.rect.width + "%",
        top: (100 * top) / p.rect.height + "%",
        width: (100 * Math.abs(p.x - origin.x)) / p.rect.width + "%",
        height: (100 * Math.abs(p.y - origin.y)) / p.rect.height + "%",
      });
    });
    preview.addEventListener("pointerup", (event) => {
      if (!origin) return;
      const p = point(event);
      const start = origin;
      origin = null;
      // Preview pixels -> pixels of the picture the server searched.
      const sx = Number(preview.dataset.width) / p.rect.width;
      const sy = Number(preview.dataset.height) / p.rect.height;
      const x1 = Math.round(Math.min(start.x, p.x) * sx);
      const x2 = Math.round(Math.max(start.x, p.x) * sx);
      const y1 = Math.round(Math.min(start.y, p.y) * sy);
      const y2 = Math.round(Math.max(start.y, p.y) * sy);
      if (x2 - x1 < 12 || y2 - y1 < 12) {
        ghost.remove(); // a click, not a drag
        return;
      }
      requery([x1, x2, y1, y2].join(","), "1");
    });
  }

  bindResults();
})();
