// A product's photos (#product-photos): reorder by dragging a photo's handle (mouse, pen or finger: pointer
// events, so it works on phones too) or with the arrow keys on the handle. The up/down and "Make cover"
// buttons are plain form buttons that work without JavaScript; htmx swaps the region back, and the focus
// returns to the button that was pressed, so a keyboard user can press it again.
(function () {
  "use strict";

  var focusKey = null;
  var drag = null;

  function region() { return document.getElementById("product-photos"); }

  function submitOrder(list) {
    var form = document.getElementById("photo-order-form");
    if (!form) return;
    form.querySelectorAll("input[name=order]").forEach(function (input) { input.remove(); });
    list.querySelectorAll(".photo-card").forEach(function (card) {
      var input = document.createElement("input");
      input.type = "hidden"; input.name = "order"; input.value = card.dataset.image;
      form.appendChild(input);
    });
    form.requestSubmit();
  }

  function orderOf(list) {
    return Array.prototype.map.call(list.querySelectorAll(".photo-card"), function (card) { return card.dataset.image; }).join(",");
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("#product-photos button[data-focus-key]");
    if (button) focusKey = button.dataset.focusKey;
  });

  document.addEventListener("keydown", function (event) {
    var handle = event.target.closest && event.target.closest("#product-photos .drag-handle");
    if (!handle) return;
    var action = { ArrowUp: "up", ArrowLeft: "up", ArrowDown: "down", ArrowRight: "down" }[event.key];
    if (!action) return;
    event.preventDefault();
    var button = handle.form.querySelector("button[value=" + action + "]");
    if (button && !button.disabled) {
      focusKey = handle.dataset.focusKey;
      // A click, not requestSubmit: htmx takes the pressed button's name and value from the click.
      button.click();
      focusKey = handle.dataset.focusKey;
    }
  });

  document.addEventListener("pointerdown", function (event) {
    var handle = event.target.closest && event.target.closest("#product-photos .drag-handle");
    if (!handle || event.button !== 0) return;
    var card = handle.closest(".photo-card");
    event.preventDefault();
    handle.setPointerCapture(event.pointerId);
    drag = { card: card, list: card.parentElement, handle: handle, before: orderOf(card.parentElement) };
    card.classList.add("dragging");
  });

  document.addEventListener("pointermove", function (event) {
    if (!drag) return;
    var under = document.elementFromPoint(event.clientX, event.clientY);
    var target = under && under.closest(".photo-card");
    if (!target || target === drag.card || target.parentElement !== drag.list) return;
    var cards = Array.prototype.slice.call(drag.list.children);
    var after = cards.indexOf(target) > cards.indexOf(drag.card);
    drag.list.insertBefore(drag.card, after ? target.nextSibling : target);
  });

  function endDrag() {
    if (!drag) return;
    var moved = orderOf(drag.list) !== drag.before;
    drag.card.classList.remove("dragging");
    focusKey = drag.handle.dataset.focusKey;
    var list = drag.list;
    drag = null;
    if (moved) submitOrder(list);
  }
  document.addEventListener("pointerup", endDrag);
  document.addEventListener("pointercancel", endDrag);

  document.body.addEventListener("htmx:afterSwap", function () {
    var root = region();
    if (!root || !focusKey) return;
    var again = root.querySelector("[data-focus-key='" + focusKey + "']");
    // A photo that reached an end has its button disabled: its handle keeps the focus instead.
    if (!again || again.disabled) again = root.querySelector("[data-focus-key='drag-" + focusKey.split("-").pop() + "']");
    if (again) again.focus();
    focusKey = null;
  });
})();
