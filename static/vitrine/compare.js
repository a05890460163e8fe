// Before/after slider: the range input moves the split between the original and the result.
// Delegated from the document, so it keeps working after htmx swaps the results in.
document.addEventListener("input", function (event) {
  const range = event.target;
  if (!range.classList || !range.classList.contains("compare-range")) return;
  range.closest(".compare").style.setProperty("--split", range.value + "%");
});
