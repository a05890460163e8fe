// Cut-out refine editor (#refine-editor): keep and remove brushes and a box over the photo, at the photo's own
// resolution, with zoom and a move tool; pointer events, so a finger paints on a phone. "Refine" sends the
// strokes as RLE exactly as processing/engines/erase/rle.py decodes them ("start length" pairs, 0-based starts
// over the row-major pixels, index = y * width + x), one string per brush, and the box as "x0,y0,x1,y1".
// The mattes (the cut-out before, the refined one after) are greyscale PNGs the photo's size: the mask view
// shades what they remove, the cut-out view shows the photo through them on a checkerboard.
// Everything is delegated from the document, so the parts htmx swaps in keep working.
(function () {
  "use strict";

  var root = document.getElementById("refine-editor");
  if (!root) return;

  var W = parseInt(root.dataset.width, 10);
  var H = parseInt(root.dataset.height, 10);
  var viewport = root.querySelector(".refine-viewport");
  var stage = root.querySelector(".refine-stage");
  var photo = root.querySelector(".refine-photo");
  var strokeCanvas = root.querySelector("canvas.refine-strokes");
  var strokeCtx = strokeCanvas.getContext("2d");
  var veilCanvas = root.querySelector("canvas.refine-veil");
  var cutoutCanvas = root.querySelector("canvas.refine-cutout");
  var boxDiv = root.querySelector(".refine-box");
  var cursor = root.querySelector(".refine-cursor");
  var refineForm = document.getElementById("refine-form");
  var saveForm = document.getElementById("save-form");
  var sizeInput = root.querySelector("input[name=brush_size]");
  var sizeOutput = root.querySelector(".refine-size-value");
  var zoomOutput = root.querySelector(".refine-zoom-value");

  var NONE = 0, KEEP = 1, REMOVE = 2;
  var labels = new Uint8Array(W * H); // what each pixel was painted with
  var box = null; // [x0, y0, x1, y1] in photo pixels, exclusive
  var strokePixels = strokeCtx.createImageData(W, H);
  var COLOURS = {};
  COLOURS[KEEP] = [26, 170, 80, 150];
  COLOURS[REMOVE] = [236, 32, 96, 150];
  var undoStack = [];
  var UNDO_LIMIT = 40;

  var mattes = { before: null, after: null }; // Uint8Array per pixel, 0..255
  var loadedUrls = { before: null, after: null };
  var photoData = null; // the photo's pixels, read once for the cut-out view

  var defaultSize = Math.max(6, Math.min(200, Math.round(Math.max(W, H) / 40)));
  sizeInput.max = String(Math.max(200, Math.round(Math.max(W, H) / 6)));
  sizeInput.value = String(defaultSize);
  sizeOutput.textContent = String(defaultSize);

  // --- zoom -------------------------------------------------------------------------------------
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
    // Keep the photo point under the anchor (the pointer, or the middle of the view) where it was.
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
    updateCursorSize();
  }

  viewport.addEventListener("wheel", function (event) {
    if (!event.ctrlKey && !event.metaKey) return;
    event.preventDefault();
    setZoom(zoom * (event.deltaY < 0 ? 1.15 : 1 / 1.15), { x: event.clientX, y: event.clientY });
  }, { passive: false });

  // --- drawing the strokes --------------------------------------------------------------------------
  function renderStrokes(x0, y0, x1, y1) {
    x0 = Math.max(0, Math.floor(x0)); y0 = Math.max(0, Math.floor(y0));
    x1 = Math.min(W, Math.ceil(x1)); y1 = Math.min(H, Math.ceil(y1));
    if (x1 <= x0 || y1 <= y0) return;
    var data = strokePixels.data;
    for (var y = y0; y < y1; y++) {
      for (var x = x0, i = y * W + x0; x < x1; x++, i++) {
        var p = i * 4, colour = COLOURS[labels[i]];
        if (colour) {
          data[p] = colour[0]; data[p + 1] = colour[1]; data[p + 2] = colour[2]; data[p + 3] = colour[3];
        } else {
          data[p + 3] = 0;
        }
      }
    }
    strokeCtx.putImageData(strokePixels, 0, 0, x0, y0, x1 - x0, y1 - y0);
    updateSummary();
  }

  function renderBox() {
    if (!box) { boxDiv.hidden = true; return; }
    boxDiv.hidden = false;
    boxDiv.style.left = (100 * box[0]) / W + "%";
    boxDiv.style.top = (100 * box[1]) / H + "%";
    boxDiv.style.width = (100 * (box[2] - box[0])) / W + "%";
    boxDiv.style.height = (100 * (box[3] - box[1])) / H + "%";
  }

  var summaryTimer = null;
  function updateSummary() {
    if (summaryTimer) return;
    summaryTimer = setTimeout(function () {
      summaryTimer = null;
      var keep = 0, remove = 0;
      for (var i = 0, total = W * H; i < total; i++) {
        if (labels[i] === KEEP) keep++; else if (labels[i] === REMOVE) remove++;
      }
      var parts = [];
      if (keep) parts.push(keep + " px to keep");
      if (remove) parts.push(remove + " px to remove");
      if (box) parts.push("a box");
      refineForm.querySelector(".refine-summary").textContent = parts.length
        ? "Painted: " + parts.join(", ") + "."
        : "Paint with Keep or Remove, or draw a box.";
    }, 120);
  }

  // --- the mattes -------------------------------------------------------------------------------------
  function readPixels(image) {
    var canvas = document.createElement("canvas");
    canvas.width = W; canvas.height = H;
    var context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(image, 0, 0, W, H);
    return context.getImageData(0, 0, W, H).data;
  }

  function loadMatte(which, url, done) {
    if (!url || loadedUrls[which] === url) return;
    loadedUrls[which] = url;
    var image = new Image();
    image.onload = function () {
      if (image.naturalWidth !== W || image.naturalHeight !== H) { root.dataset.matteError = which; return; }
      var rgba = readPixels(image);
      var matte = new Uint8Array(W * H);
      for (var i = 0, total = W * H; i < total; i++) matte[i] = rgba[i * 4];
      mattes[which] = matte;
      if (done) done();
      renderMatte();
    };
    image.onerror = function () { loadedUrls[which] = null; root.dataset.matteError = which; };
    image.src = url;
  }

  function shownMatte() {
    var which = currentCompare();
    return mattes[which] || mattes.before;
  }

  function currentCompare() {
    var checked = root.querySelector("input[name=refine_compare]:checked");
    return checked ? checked.value : "before";
  }

  function currentView() {
    var checked = root.querySelector("input[name=refine_view]:checked");
    return checked ? checked.value : "mask";
  }

  function renderMatte() {
    var matte = shownMatte();
    root.dataset.showing = matte === mattes.after && mattes.after ? "after" : (matte ? "before" : "");
    if (!matte) return;
    var view = currentView();
    root.classList.toggle("view-mask", view === "mask");
    root.classList.toggle("view-cutout", view === "cutout");
    var total = W * H, i;
    if (view === "mask") {
      var veilCtx = veilCanvas.getContext("2d");
      var veil = veilCtx.createImageData(W, H), v = veil.data;
      for (i = 0; i < total; i++) {
        var p = i * 4;
        v[p] = 24; v[p + 1] = 30; v[p + 2] = 56; v[p + 3] = Math.round((255 - matte[i]) * 0.66);
      }
      veilCtx.putImageData(veil, 0, 0);
    } else {
      if (!photoData) {
        if (!photo.complete || !photo.naturalWidth) { photo.addEventListener("load", renderMatte, { once: true }); return; }
        photoData = readPixels(photo);
      }
      var cutCtx = cutoutCanvas.getContext("2d");
      var cut = cutCtx.createImageData(W, H), c = cut.data;
      for (i = 0; i < total; i++) {
        var q = i * 4;
        c[q] = photoData[q]; c[q + 1] = photoData[q + 1]; c[q + 2] = photoData[q + 2]; c[q + 3] = matte[i];
      }
      cutCtx.putImageData(cut, 0, 0);
    }
  }

  function syncSteps() {
    var base = document.getElementById("base-status");
    if (base && base.dataset.matteUrl) {
      refineForm.querySelector("input[name=base]").value = base.dataset.matteResult || "";
      loadMatte("before", base.dataset.matteUrl, function () { root.dataset.baseReady = "1"; });
    }
    var run = document.getElementById("refine-run");
    if (run && run.dataset.matteUrl && loadedUrls.after !== run.dataset.matteUrl) {
      loadMatte("after", run.dataset.matteUrl, function () {
        var compare = root.querySelector(".refine-compare");
        compare.disabled = false;
        root.querySelector("input[name=refine_compare][value=after]").checked = true;
        saveForm.querySelector("input[name=refined]").value = run.dataset.refineResult;
        saveForm.querySelector("[data-action=save]").disabled = false;
        root.dataset.refined = run.dataset.refineResult;
      });
    }
    var saved = document.getElementById("refine-saved");
    if (saved && saved.dataset.savedResult && root.dataset.saved !== saved.dataset.savedResult) {
      root.dataset.saved = saved.dataset.savedResult;
      // On a phone the side panel is below the photo: bring the link to the new version into view.
      saved.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
  }

  // --- pointer input ------------------------------------------------------------------------------------
  var gesture = null;

  function tool() {
    var checked = root.querySelector("input[name=refine_tool]:checked");
    return checked ? checked.value : "keep";
  }

  function toImage(event) {
    var rect = strokeCanvas.getBoundingClientRect();
    return { x: ((event.clientX - rect.left) * W) / rect.width, y: ((event.clientY - rect.top) * H) / rect.height };
  }

  function stamp(cx, cy, radius, value) {
    var x0 = Math.max(0, Math.floor(cx - radius)), x1 = Math.min(W - 1, Math.ceil(cx + radius));
    var y0 = Math.max(0, Math.floor(cy - radius)), y1 = Math.min(H - 1, Math.ceil(cy + radius));
    var r2 = radius * radius;
    for (var y = y0; y <= y1; y++) {
      var dy = y + 0.5 - cy;
      for (var x = x0; x <= x1; x++) {
        var dx = x + 0.5 - cx;
        if (dx * dx + dy * dy <= r2) labels[y * W + x] = value;
      }
    }
    if (x1 >= x0 && y1 >= y0) {
      var b = gesture.box;
      gesture.box = [Math.min(b[0], x0), Math.min(b[1], y0), Math.max(b[2], x1 + 1), Math.max(b[3], y1 + 1)];
      renderStrokes(x0, y0, x1 + 1, y1 + 1);
    }
  }

  function line(from, to) {
    var radius = Math.max(1, parseInt(sizeInput.value, 10) / 2);
    var distance = Math.hypot(to.x - from.x, to.y - from.y);
    var steps = Math.max(1, Math.ceil(distance / Math.max(1, radius / 2)));
    for (var s = 1; s <= steps; s++) {
      stamp(from.x + ((to.x - from.x) * s) / steps, from.y + ((to.y - from.y) * s) / steps, radius, gesture.value);
    }
  }

  function clampPoint(point) {
    return { x: Math.min(W, Math.max(0, point.x)), y: Math.min(H, Math.max(0, point.y)) };
  }

  function boxFrom(a, b) {
    return [Math.round(Math.min(a.x, b.x)), Math.round(Math.min(a.y, b.y)),
      Math.round(Math.max(a.x, b.x)), Math.round(Math.max(a.y, b.y))];
  }

  strokeCanvas.addEventListener("pointerdown", function (event) {
    if (event.button !== 0 && event.button !== 1) return;
    event.preventDefault();
    strokeCanvas.setPointerCapture(event.pointerId);
    var current = event.button === 1 ? "pan" : tool();
    if (current === "pan") {
      gesture = { kind: "pan", x: event.clientX, y: event.clientY, left: viewport.scrollLeft, top: viewport.scrollTop };
    } else if (current === "box") {
      var start = clampPoint(toImage(event));
      gesture = { kind: "box", start: start, before: box };
      box = boxFrom(start, start);
      renderBox();
    } else {
      // The whole layer is copied once per stroke; only the touched box is kept for undo.
      gesture = { kind: "paint", before: labels.slice(), box: [W, H, 0, 0], value: current === "remove" ? REMOVE : KEEP, last: toImage(event) };
      line(gesture.last, gesture.last);
    }
  });

  strokeCanvas.addEventListener("pointermove", function (event) {
    moveCursor(event);
    if (!gesture) return;
    if (gesture.kind === "pan") {
      viewport.scrollLeft = gesture.left - (event.clientX - gesture.x);
      viewport.scrollTop = gesture.top - (event.clientY - gesture.y);
    } else if (gesture.kind === "box") {
      box = boxFrom(gesture.start, clampPoint(toImage(event)));
      renderBox();
    } else {
      var point = toImage(event);
      line(gesture.last, point);
      gesture.last = point;
    }
  });

  function endGesture() {
    if (!gesture) return;
    if (gesture.kind === "paint") {
      var b = gesture.box;
      if (b[2] > b[0] && b[3] > b[1]) pushUndo({ kind: "paint", box: b, saved: crop(gesture.before, b) });
    } else if (gesture.kind === "box") {
      if (box && (box[2] - box[0] < 4 || box[3] - box[1] < 4)) box = gesture.before; // a click is no box
      if (box !== gesture.before) pushUndo({ kind: "box", saved: gesture.before });
      renderBox();
      updateSummary();
    }
    gesture = null;
  }
  strokeCanvas.addEventListener("pointerup", endGesture);
  strokeCanvas.addEventListener("pointercancel", endGesture);

  function updateCursorSize() {
    var size = parseInt(sizeInput.value, 10) * zoom;
    cursor.style.width = size + "px";
    cursor.style.height = size + "px";
  }

  function moveCursor(event) {
    var current = tool();
    if (event.pointerType === "touch" || (current !== "keep" && current !== "remove")) { cursor.hidden = true; return; }
    var point = toImage(event);
    cursor.hidden = false;
    cursor.className = "refine-cursor " + current;
    cursor.style.left = (100 * point.x) / W + "%";
    cursor.style.top = (100 * point.y) / H + "%";
  }
  strokeCanvas.addEventListener("pointerleave", function () { cursor.hidden = true; });

  function crop(source, b) {
    var width = b[2] - b[0];
    var out = new Uint8Array(width * (b[3] - b[1]));
    for (var y = b[1]; y < b[3]; y++) out.set(source.subarray(y * W + b[0], y * W + b[2]), (y - b[1]) * width);
    return out;
  }

  function restore(saved, b) {
    var width = b[2] - b[0];
    for (var y = b[1]; y < b[3]; y++) labels.set(saved.subarray((y - b[1]) * width, (y - b[1] + 1) * width), y * W + b[0]);
    renderStrokes(b[0], b[1], b[2], b[3]);
  }

  // --- undo ---------------------------------------------------------------------------------------------
  function pushUndo(entry) {
    undoStack.push(entry);
    if (undoStack.length > UNDO_LIMIT) undoStack.shift();
    root.querySelector("[data-action=undo]").disabled = false;
  }

  function undo() {
    var entry = undoStack.pop();
    if (!entry) return;
    if (entry.kind === "paint") restore(entry.saved, entry.box);
    else if (entry.kind === "box") { box = entry.saved; renderBox(); updateSummary(); }
    else if (entry.kind === "clear") { labels.set(entry.labels); box = entry.box; renderBox(); renderStrokes(0, 0, W, H); }
    root.querySelector("[data-action=undo]").disabled = undoStack.length === 0;
  }

  function clearAll() {
    pushUndo({ kind: "clear", labels: labels.slice(), box: box });
    labels.fill(NONE);
    box = null;
    renderBox();
    renderStrokes(0, 0, W, H);
  }

  // --- RLE ------------------------------------------------------------------------------------------------
  function encode(value) {
    var out = [], start = -1;
    for (var i = 0, total = W * H; i < total; i++) {
      if (labels[i] === value) { if (start < 0) start = i; }
      else if (start >= 0) { out.push(start, i - start); start = -1; }
    }
    if (start >= 0) out.push(start, W * H - start);
    return out.join(" ");
  }

  // --- delegated events -------------------------------------------------------------------------------------
  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-action]");
    if (!target || !root.contains(target)) return;
    var action = target.dataset.action;
    if (action === "undo") undo();
    else if (action === "clear") clearAll();
    else if (action === "zoom-in") setZoom(zoom * 1.25);
    else if (action === "zoom-out") setZoom(zoom / 1.25);
    else if (action === "zoom-fit") setZoom(fitZoom());
    else if (action === "zoom-full") setZoom(1);
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!root.contains(target)) return;
    if (target.name === "refine_view" || target.name === "refine_compare") renderMatte();
    else if (target.name === "refine_tool") viewport.classList.toggle("panning", target.value === "pan");
  });

  document.addEventListener("input", function (event) {
    if (event.target === sizeInput) { sizeOutput.textContent = sizeInput.value; updateCursorSize(); }
  });

  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && event.key === "z" && !event.shiftKey) {
      var tag = (event.target.tagName || "").toLowerCase();
      if (tag === "input" && event.target.type === "text") return;
      event.preventDefault();
      undo();
    }
  });

  // Capture phase: the strokes go into the form before htmx (listening on the form) reads it.
  document.addEventListener("submit", function (event) {
    if (event.target !== refineForm) return;
    var keep = encode(KEEP), remove = encode(REMOVE);
    var summary = refineForm.querySelector(".refine-summary");
    if (!keep && !remove && !box) {
      event.preventDefault(); event.stopPropagation();
      summary.textContent = "Nothing to refine yet: paint with Keep or Remove, or draw a box.";
      return;
    }
    if (!refineForm.querySelector("input[name=base]").value) {
      event.preventDefault(); event.stopPropagation();
      summary.textContent = "The cut-out is still being read; refine again in a moment.";
      return;
    }
    refineForm.querySelector("input[name=keep]").value = keep;
    refineForm.querySelector("input[name=remove]").value = remove;
    refineForm.querySelector("input[name=box]").value = box ? box.join(",") : "";
  }, true);

  document.body.addEventListener("htmx:afterSettle", syncSteps);
  window.addEventListener("resize", function () { if (zoom > fitZoom()) setZoom(fitZoom()); });
  root.querySelector("[data-action=undo]").disabled = true;
  setZoom(fitZoom());
  syncSteps();
})();
