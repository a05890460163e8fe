// Photo selection on list pages: "Select all on this page" and a live count of what is selected.
// The tiles' checkboxes belong to the form named by data-select-all / data-selection-count (through
// their form= attribute). Without JavaScript the link reloads the page with every tile ticked.
(function () {
  function boxes(formId) {
    return Array.from(document.querySelectorAll('input[type=checkbox][name=images][form="' + formId + '"]'));
  }

  function refresh(formId) {
    const all = boxes(formId);
    const chosen = all.filter(function (box) { return box.checked; }).length;
    document.querySelectorAll('[data-selection-count="' + formId + '"]').forEach(function (counter) {
      counter.textContent = chosen ? chosen + " selected" : "";
    });
    document.querySelectorAll('[data-select-all="' + formId + '"]').forEach(function (link) {
      link.textContent = all.length && chosen === all.length ? "Clear selection" : "Select all on this page";
    });
  }

  document.addEventListener("click", function (event) {
    const link = event.target.closest && event.target.closest("[data-select-all]");
    if (!link) return;
    event.preventDefault();
    const formId = link.dataset.selectAll;
    const all = boxes(formId);
    const everything = all.length && all.every(function (box) { return box.checked; });
    all.forEach(function (box) { box.checked = !everything; });
    refresh(formId);
  });

  document.addEventListener("change", function (event) {
    const box = event.target;
    if (box.name === "images" && box.getAttribute("form")) refresh(box.getAttribute("form"));
  });

  // Tiles still waiting for their thumbnail are swapped in by htmx; keep the count right after that.
  document.addEventListener("htmx:afterSwap", function () {
    document.querySelectorAll("[data-selection-count]").forEach(function (counter) {
      refresh(counter.dataset.selectionCount);
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-selection-count]").forEach(function (counter) {
      refresh(counter.dataset.selectionCount);
    });
  });
})();
