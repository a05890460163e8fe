// Scenes, two small widgets without dependencies:
// 1. #scene-editor: mark a team scene's surface line and product box by dragging on its photo; the
//    values (fractions of the photo) go into the form's hidden inputs.
// 2. #scene-preview: a product's Scenes tab; a click or drag on the preview moves the product (its
//    footprint follows the pointer), the slider scales it, and the server draws a small composite.
(function () {
  "use strict";

  function clamp(v) { return Math.min(1, Math.max(0, v)); }

  function pointerFraction(event, element) {
    var r = element.getBoundingClientRect();
    return { x: clamp((event.clientX - r.left) / r.width), y: clamp((event.clientY - r.top) / r.height) };
  }

  // --- 1. the team scene editor ---------------------------------------------------------------
  function initEditor(root) {
    var img = root.querySelector("img");
    var canvas = root.querySelector("canvas");
    var form = root.closest("form");
    function field(name) { return form.querySelector("input[name=" + name + "]"); }
    var state = {
      surface: parseFloat(field("surface_y").value),
      box: ["box_x0", "box_y0", "box_x1", "box_y1"].map(function (n) { return parseFloat(field(n).value); })
    };
    var drag = null;

    function mode() {
      var checked = form.querySelector("input[name=editor_mode]:checked");
      return checked ? checked.value : "surface";
    }

    function draw() {
      var w = canvas.width = img.clientWidth, h = canvas.height = img.clientHeight;
      var ctx = canvas.getContext("2d");
      ctx.clearRect(0, 0, w, h);
      var b = state.box;
      ctx.fillStyle = "rgba(45,108,223,0.15)";
      ctx.strokeStyle = "#2d6cdf";
      ctx.lineWidth = 2;
      ctx.fillRect(b[0] * w, b[1] * h, (b[2] - b[0]) * w, (b[3] - b[1]) * h);
      ctx.strokeRect(b[0] * w, b[1] * h, (b[2] - b[0]) * w, (b[3] - b[1]) * h);
      ctx.strokeStyle = "#e0457b";
      ctx.setLineDash([8, 5]);
      ctx.beginPath();
      ctx.moveTo(0, state.surface * h);
      ctx.lineTo(w, state.surface * h);
      ctx.stroke();
      ctx.setLineDash([]);
    }

    function store() {
      var b = state.box;
      var box = [Math.min(b[0], b[2]), Math.min(b[1], b[3]), Math.max(b[0], b[2]), Math.max(b[1], b[3])];
      field("surface_y").value = state.surface.toFixed(4);
      ["box_x0", "box_y0", "box_x1", "box_y1"].forEach(function (n, i) { field(n).value = box[i].toFixed(4); });
    }

    canvas.addEventListener("pointerdown", function (event) {
      var p = pointerFraction(event, canvas);
      canvas.setPointerCapture(event.pointerId);
      drag = { start: p, mode: mode() };
      if (drag.mode === "surface") { state.surface = Math.max(0.05, p.y); }
      else { state.box = [p.x, p.y, p.x, p.y]; }
      draw();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drag) { return; }
      var p = pointerFraction(event, canvas);
      if (drag.mode === "surface") { state.surface = Math.max(0.05, p.y); }
      else { state.box = [drag.start.x, drag.start.y, p.x, p.y]; }
      draw();
    });
    function end() {
      if (!drag) { return; }
      drag = null;
      store();
      var b = state.box;
      state.box = [Math.min(b[0], b[2]), Math.min(b[1], b[3]), Math.max(b[0], b[2]), Math.max(b[1], b[3])];
      draw();
    }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    if (img.complete) { draw(); } else { img.addEventListener("load", draw); }
    window.addEventListener("resize", draw);
  }

  // --- 2. the placement preview on a product's Scenes tab -----------------------------------------
  function initPreview(root) {
    var form = document.getElementById("scene-render-form");
    var img = root.querySelector("img");
    var marker = root.querySelector(".marker");
    var x = document.getElementById("scene-x"), y = document.getElementById("scene-y");
    var scale = document.getElementById("scene-scale"), aspect = document.getElementById("scene-aspect");
    var timer = null, dragging = false;

    function firstChecked(selector) {
      var el = document.querySelector(selector + ":checked");
      return el ? el.value : "";
    }

    function refresh() {
      var scene = firstChecked("input.scene-pick"), image = firstChecked("input.image-pick");
      if (!scene || !image) { img.removeAttribute("src"); return; }
      var params = new URLSearchParams({ scene: scene, image: image, aspect: aspect.value, scale: scale.value });
      if (x.value) { params.set("x", x.value); params.set("y", y.value); }
      img.src = root.dataset.previewUrl + "?" + params.toString();
      root.dataset.scene = scene;
    }

    function later() { clearTimeout(timer); timer = setTimeout(refresh, 250); }

    function moveTo(event) {
      var p = pointerFraction(event, img);
      x.value = p.x.toFixed(4);
      y.value = p.y.toFixed(4);
      marker.hidden = false;
      marker.style.left = (p.x * 100) + "%";
      marker.style.top = (p.y * 100) + "%";
    }

    img.addEventListener("pointerdown", function (event) {
      dragging = true;
      img.setPointerCapture(event.pointerId);
      moveTo(event);
    });
    img.addEventListener("pointermove", function (event) { if (dragging) { moveTo(event); } });
    img.addEventListener("pointerup", function () { dragging = false; marker.hidden = true; refresh(); });
    img.addEventListener("dragstart", function (event) { event.preventDefault(); });
    img.addEventListener("load", function () { root.dataset.loaded = img.src; });
    scale.addEventListener("input", later);
    aspect.addEventListener("change", refresh);
    document.getElementById("scene-reset").addEventListener("click", function () {
      x.value = ""; y.value = ""; scale.value = "1"; refresh();
    });
    // Scene checkboxes live in the htmx-swapped grid, so listen on the document.
    document.addEventListener("change", function (event) {
      if (event.target.matches("input.scene-pick, input.image-pick")) { refresh(); }
    });
    document.body.addEventListener("htmx:afterSwap", refresh);
    refresh();
    void form;
  }

  function init() {
    var editor = document.getElementById("scene-editor");
    if (editor) { initEditor(editor); }
    var preview = document.getElementById("scene-preview");
    if (preview) { initPreview(preview); }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
