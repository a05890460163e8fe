// Erase editor (#erase-editor): the detected elements as toggleable overlays, a brush and an eraser
// painting a mask at the photo's own resolution, an undo stack, and "Erase", which sends the mask
// as RLE exactly as processing/engines/erase/rle.py decodes it: "start length" pairs, 0-based
// starts over the row-major flattened pixels (index = y * width + x), sorted and maximal.
// The photo sits in a scrollable viewport with zoom (Fit, 100%, +/-, Ctrl+wheel) and a move tool; the element
// list groups elements by type and by identical text, and a group's or line's checkbox toggles all of it.
// Everything is delegated from the document, so the parts htmx swaps in keep working.
(function () {
  "use strict";

  var root = document.getElementById("erase-editor");
  if (!root) return;

  var W = parseInt(root.dataset.width, 10);
  var H = parseInt(root.dataset.height, 10);
  var canvas = root.querySelector("canvas.erase-mask");
  var viewport = root.querySelector(".erase-viewport");
  var stage = root.querySelector(".erase-stage");
  var zoomOutput = root.querySelector(".erase-zoom-value");
  var ctx = canvas.getContext("2d");
  var overlays = root.querySelector(".erase-overlays");
  var form = document.getElementById("erase-form");
  var sizeInput = root.querySelector("input[name=brush_size]");
  var sizeOutput = root.querySelector(".erase-size-value");

  // The mask is computed, never stored: brushed pixels, plus pixels of selected elements that the
  // eraser has not taken out. `hand` keeps what the user did: 0 untouched, 1 brushed, 2 erased.
  var BRUSHED = 1, ERASED = 2;
  var hand = new Uint8Array(W * H);
  var covered = new Uint8Array(W * H); // selected elements covering each pixel
  var elements = []; // {index, type, label, box, runs, selected}
  var loadedFrom = null;
  var undoStack = [];
  var UNDO_LIMIT = 40;
  var pixels = ctx.createImageData(W, H);
  var COLOUR = [236, 32, 96, 120];

  // A sensible default brush: about 1/40 of the photo's long side.
  var defaultSize = Math.max(6, Math.min(200, Math.round(Math.max(W, H) / 40)));
  sizeInput.max = String(Math.max(200, Math.round(Math.max(W, H) / 6)));
  sizeInput.value = String(defaultSize);
  sizeOutput.textContent = String(defaultSize);

  // --- zoom ---------------------------------------------------------------------------------------
  var zoom = 1;
  var MIN_ZOOM = 0.02, MAX_ZOOM = 8;

  function fitZoom() {
    var width = viewport.clientWidth || 600;
    var height = Math.max(240, window.innerHeight * 0.78);
    // Small photos are shown larger, up to twice their size, so painting them is precise enough.
    return Math.min(width / W, height / H, 2);
  }

  function setZoom(value, anchor) {
    var previous = zoom;
    zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, value));
    var rect = viewport.getBoundingClientRect();
    var ax = anchor ? anchor.x - rect.left : viewport.clientWidth / 2;
    var ay = anchor ? anchor.y - rect.top : viewport.clientHeight / 2;
    var px = (viewport.scrollLeft + ax) / previous, py = (viewport.scrollTop + ay) / previous;
    stage.style.width = Math.round(W * zoom) + "px";
    stage.style.height = Math.round(H * zoom) + "px";
    viewport.scrollLeft = px * zoom - ax;
    viewport.scrollTop = py * zoom - ay;
    zoomOutput.textContent = Math.round(zoom * 100) + "%";
    root.dataset.zoom = zoom.toFixed(4);
  }

  viewport.addEventListener("wheel", function (event) {
    if (!event.ctrlKey && !event.metaKey) return;
    event.preventDefault();
    setZoom(zoom * (event.deltaY < 0 ? 1.15 : 1 / 1.15), { x: event.clientX, y: event.clientY });
  }, { passive: false });

  function isOn(i) {
    var h = hand[i];
    return h === BRUSHED || (h !== ERASED && covered[i] > 0);
  }

  function render(x0, y0, x1, y1) {
    x0 = Math.max(0, Math.floor(x0)); y0 = Math.max(0, Math.floor(y0));
    x1 = Math.min(W, Math.ceil(x1)); y1 = Math.min(H, Math.ceil(y1));
    if (x1 <= x0 || y1 <= y0) return;
    var data = pixels.data;
    for (var y = y0; y < y1; y++) {
      for (var x = x0, i = y * W + x0; x < x1; x++, i++) {
        var p = i * 4;
        if (isOn(i)) {
          data[p] = COLOUR[0]; data[p + 1] = COLOUR[1]; data[p + 2] = COLOUR[2]; data[p + 3] = COLOUR[3];
        } else {
          data[p + 3] = 0;
        }
      }
    }
    ctx.putImageData(pixels, 0, 0, x0, y0, x1 - x0, y1 - y0);
    updateSummary();
  }

  function countOn() {
    var n = 0;
    for (var i = 0, total = W * H; i < total; i++) if (isOn(i)) n++;
    return n;
  }

  var summaryTimer = null;
  function updateSummary() {
    if (summaryTimer) return;
    summaryTimer = setTimeout(function () {
      summaryTimer = null;
      var summary = form.querySelector(".erase-summary");
      var share = (100 * countOn()) / (W * H);
      summary.textContent = share > 0
        ? share.toFixed(share < 1 ? 2 : 1) + "% of the photo will be filled."
        : "Paint over what should go, or tick detected elements.";
    }, 120);
  }

  // --- RLE ------------------------------------------------------------------------------------
  function encodeMask() {
    var out = [];
    var start = -1;
    for (var i = 0, total = W * H; i < total; i++) {
      if (isOn(i)) {
        if (start < 0) start = i;
      } else if (start >= 0) {
        out.push(start, i - start);
        start = -1;
      }
    }
    if (start >= 0) out.push(start, W * H - start);
    return out.join(" ");
  }

  function parseRuns(text) {
    var values = text ? text.trim().split(/\s+/).map(Number) : [];
    return Int32Array.from(values);
  }

  // --- elements ---------------------------------------------------------------------------------
  function applyRuns(runs, delta) {
    for (var r = 0; r < runs.length; r += 2) {
      for (var i = runs[r], end = runs[r] + runs[r + 1]; i < end; i++) covered[i] += delta;
    }
  }

  function setSelected(element, selected, record) {
    if (element.selected === selected) return;
    element.selected = selected;
    applyRuns(element.runs, selected ? 1 : -1);
    var box = element.box;
    render(box[0], box[1], box[2], box[3]);
    var checkbox = document.querySelector(".erase-element-toggle[data-index='" + element.index + "']");
    if (checkbox) checkbox.checked = selected;
    var overlay = overlays.querySelector(".erase-box[data-index='" + element.index + "']");
    if (overlay) overlay.classList.toggle("selected", selected);
    if (record) pushUndo({ kind: "toggle", index: element.index });
    syncGroupToggles();
  }

  // A group's or line's checkbox shows whether all (ticked), some (half) or none of its elements are selected.
  function syncGroupToggles() {
    if (!elements.length) return;
    var byIndex = {};
    elements.forEach(function (e) { byIndex[e.index] = e; });
    document.querySelectorAll(".erase-group-toggle, .erase-line-toggle").forEach(function (toggle) {
      var indexes = toggle.dataset.indexes.split(" ");
      var on = indexes.filter(function (i) { return byIndex[i] && byIndex[i].selected; }).length;
      toggle.checked = on === indexes.length;
      toggle.indeterminate = on > 0 && on < indexes.length;
    });
  }

  function setMany(indexes, selected) {
    var changed = [];
    indexes.forEach(function (index) {
      var element = elements.find(function (e) { return String(e.index) === index; });
      if (element && element.selected !== selected) {
        changed.push(element.index);
        setSelected(element, selected, false);
      }
    });
    if (changed.length) pushUndo({ kind: "toggle-many", indexes: changed });
    syncGroupToggles();
  }

  function drawOverlays() {
    overlays.textContent = "";
    elements.forEach(function (element) {
      var box = element.box;
      var div = document.createElement("div");
      div.className = "erase-box type-" + element.type + (element.selected ? " selected" : "");
      div.dataset.index = String(element.index);
      div.style.left = (100 * box[0]) / W + "%";
      div.style.top = (100 * box[1]) / H + "%";
      div.style.width = (100 * (box[2] - box[0])) / W + "%";
      div.style.height = (100 * (box[3] - box[1])) / H + "%";
      var tag = document.createElement("button");
      tag.type = "button";
      tag.className = "erase-box-label";
      tag.dataset.index = String(element.index);
      tag.title = (element.text || "") + (element.onSubject ? " (on the product)" : "");
      tag.textContent = element.type + " · " + element.label;
      div.appendChild(tag);
      overlays.appendChild(div);
    });
  }

  function loadDetection() {
    var status = document.getElementById("detect-status");
    if (!status || !status.dataset.elementsUrl || loadedFrom === status.dataset.elementsUrl) return;
    loadedFrom = status.dataset.elementsUrl;
    form.querySelector("input[name=detection]").value = status.dataset.detectionResult || "";
    fetch(status.dataset.elementsUrl, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (payload) {
        if (payload.width !== W || payload.height !== H) return;
        elements.forEach(function (element) { if (element.selected) applyRuns(element.runs, -1); });
        elements = payload.elements.map(function (data) {
          return {
            index: data.index, type: data.type, label: data.label, box: data.box, text: data.text,
            onSubject: data.onSubject, runs: parseRuns(data.mask), selected: false
          };
        });
        // The checkboxes rendered by the server carry the defaults (background on, product off).
        elements.forEach(function (element) {
          var checkbox = document.querySelector(".erase-element-toggle[data-index='" + element.index + "']");
          if (checkbox ? checkbox.checked : !element.onSubject) {
            element.selected = true;
            applyRuns(element.runs, 1);
          }
        });
        drawOverlays();
        render(0, 0, W, H);
        syncGroupToggles();
        root.dataset.elementsReady = String(elements.length);
      })
      .catch(function () {
        loadedFrom = null;
        root.dataset.elementsReady = "error";
      });
  }

  // --- painting ---------------------------------------------------------------------------------
  var stroke = null;

  function tool() {
    var checked = root.querySelector("input[name=erase_tool]:checked");
    return checked && checked.value === "eraser" ? ERASED : BRUSHED;
  }

  var pan = null;
  function panning() {
    var checked = root.querySelector("input[name=erase_tool]:checked");
    return checked && checked.value === "pan";
  }

  function toImage(event) {
    var rect = canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - rect.left) * W) / rect.width,
      y: ((event.clientY - rect.top) * H) / rect.height
    };
  }

  function stamp(cx, cy, radius, value) {
    var x0 = Math.max(0, Math.floor(cx - radius)), x1 = Math.min(W - 1, Math.ceil(cx + radius));
    var y0 = Math.max(0, Math.floor(cy - radius)), y1 = Math.min(H - 1, Math.ceil(cy + radius));
    var r2 = radius * radius;
    for (var y = y0; y <= y1; y++) {
      var dy = y + 0.5 - cy;
      for (var x = x0; x <= x1; x++) {
        var dx = x + 0.5 - cx;
        if (dx * dx + dy * dy <= r2) hand[y * W + x] = value;
      }
    }
    if (x1 >= x0 && y1 >= y0) {
      stroke.box = [Math.min(stroke.box[0], x0), Math.min(stroke.box[1], y0),
        Math.max(stroke.box[2], x1 + 1), Math.max(stroke.box[3], y1 + 1)];
      render(x0, y0, x1 + 1, y1 + 1);
    }
  }

  function line(from, to) {
    var radius = Math.max(1, parseInt(sizeInput.value, 10) / 2);
    var distance = Math.hypot(to.x - from.x, to.y - from.y);
    var steps = Math.max(1, Math.ceil(distance / Math.max(1, radius / 2)));
    for (var s = 1; s <= steps; s++) {
      stamp(from.x + ((to.x - from.x) * s) / steps, from.y + ((to.y - from.y) * s) / steps, radius, stroke.value);
    }
  }

  canvas.addEventListener("pointerdown", function (event) {
    if (event.button === 1 || (event.button === 0 && panning())) {
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      pan = { x: event.clientX, y: event.clientY, left: viewport.scrollLeft, top: viewport.scrollTop };
      return;
    }
    if (event.button !== 0) return;
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    // The whole layer is copied once per stroke; only the touched box is kept for undo.
    stroke = { before: hand.slice(), box: [W, H, 0, 0], value: tool(), last: toImage(event) };
    line(stroke.last, stroke.last);
  });

  canvas.addEventListener("pointermove", function (event) {
    if (pan) {
      viewport.scrollLeft = pan.left - (event.clientX - pan.x);
      viewport.scrollTop = pan.top - (event.clientY - pan.y);
      return;
    }
    if (!stroke) return;
    var point = toImage(event);
    line(stroke.last, point);
    stroke.last = point;
  });

  function endStroke() {
    pan = null;
    if (!stroke) return;
    var box = stroke.box;
    if (box[2] > box[0] && box[3] > box[1]) {
      pushUndo({ kind: "paint", box: box, saved: crop(stroke.before, box) });
    }
    stroke = null;
  }
  canvas.addEventListener("pointerup", endStroke);
  canvas.addEventListener("pointercancel", endStroke);

  function crop(source, box) {
    var width = box[2] - box[0];
    var out = new Uint8Array(width * (box[3] - box[1]));
    for (var y = box[1]; y < box[3]; y++) {
      out.set(source.subarray(y * W + box[0], y * W + box[2]), (y - box[1]) * width);
    }
    return out;
  }

  function restore(saved, box) {
    var width = box[2] - box[0];
    for (var y = box[1]; y < box[3]; y++) {
      hand.set(saved.subarray((y - box[1]) * width, (y - box[1] + 1) * width), y * W + box[0]);
    }
    render(box[0], box[1], box[2], box[3]);
  }

  // --- undo ---------------------------------------------------------------------------------------
  function pushUndo(entry) {
    undoStack.push(entry);
    if (undoStack.length > UNDO_LIMIT) undoStack.shift();
    var button = root.querySelector("[data-action=undo]");
    if (button) button.disabled = false;
  }

  function undo() {
    var entry = undoStack.pop();
    if (!entry) return;
    if (entry.kind === "paint") restore(entry.saved, entry.box);
    else if (entry.kind === "toggle") {
      var element = elements.find(function (e) { return e.index === entry.index; });
      if (element) setSelected(element, !element.selected, false);
    } else if (entry.kind === "toggle-many") {
      entry.indexes.forEach(function (index) {
        var one = elements.find(function (e) { return e.index === index; });
        if (one) setSelected(one, !one.selected, false);
      });
    }
    var button = root.querySelector("[data-action=undo]");
    if (button) button.disabled = undoStack.length === 0;
  }

  function clearPainting() {
    var box = [0, 0, W, H];
    pushUndo({ kind: "paint", box: box, saved: hand.slice() });
    hand.fill(0);
    render(0, 0, W, H);
  }

  // --- delegated events -----------------------------------------------------------------------------
  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-action], .erase-box-label");
    if (!target || !root.contains(target)) return;
    if (target.classList.contains("erase-box-label")) {
      var element = elements.find(function (e) { return String(e.index) === target.dataset.index; });
      if (element) setSelected(element, !element.selected, true);
      return;
    }
    var action = target.dataset.action;
    if (action === "undo") undo();
    else if (action === "clear") clearPainting();
    else if (action === "zoom-in") setZoom(zoom * 1.25);
    else if (action === "zoom-out") setZoom(zoom / 1.25);
    else if (action === "zoom-fit") setZoom(fitZoom());
    else if (action === "zoom-full") setZoom(1);
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.classList.contains("erase-element-toggle")) {
      var element = elements.find(function (e) { return String(e.index) === target.dataset.index; });
      if (element) setSelected(element, target.checked, true);
    } else if (target.classList.contains("erase-group-toggle") || target.classList.contains("erase-line-toggle")) {
      setMany(target.dataset.indexes.split(" "), target.checked);
    } else if (target.name === "erase_tool" && root.contains(target)) {
      viewport.classList.toggle("panning", target.value === "pan");
    } else if (target.name === "show_overlays" && root.contains(target)) {
      root.classList.toggle("hide-overlays", !target.checked);
    }
  });

  document.addEventListener("input", function (event) {
    if (event.target === sizeInput) sizeOutput.textContent = sizeInput.value;
  });

  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && event.key === "z" && !event.shiftKey) {
      var tag = (event.target.tagName || "").toLowerCase();
      if (tag === "input" && event.target.type === "text") return;
      event.preventDefault();
      undo();
    }
  });

  // Capture phase: the mask goes into the form before htmx (listening on the form) reads it.
  document.addEventListener("submit", function (event) {
    if (event.target !== form) return;
    var mask = encodeMask();
    if (!mask) {
      event.preventDefault();
      event.stopPropagation();
      form.querySelector(".erase-summary").textContent =
        "Nothing to erase yet: paint over what should go, or tick a detected element.";
      return;
    }
    form.querySelector("input[name=mask]").value = mask;
  }, true);

  document.body.addEventListener("htmx:afterSettle", function (event) {
    loadDetection();
    // The result appears below the photo: bring it into view once it is there.
    var result = document.getElementById("erase-result");
    if (result && result.contains(event.target) && result.querySelector(".erase-compare")) {
      result.scrollIntoView({ block: "start", behavior: "smooth" });
    }
  });
  window.addEventListener("resize", function () { if (zoom > fitZoom()) setZoom(fitZoom()); });
  setZoom(fitZoom());
  var undoButton = root.querySelector("[data-action=undo]");
  if (undoButton) undoButton.disabled = true;
  loadDetection();
})();
