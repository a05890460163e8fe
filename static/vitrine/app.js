// Small behaviours every page shares, delegated from the document so that no template needs
// inline event handlers (the Content Security Policy forbids them).
document.addEventListener("submit", function (event) {
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
document.addEventListener("change", function (event) {
  if (event.target.hasAttribute && event.target.hasAttribute("data-autosubmit")) event.target.form.submit();
});
document.addEventListener("focusin", function (event) {
  if (event.target.hasAttribute && event.target.hasAttribute("data-select-on-focus")) event.target.select();
});
// Fields that only matter for one choice (the custom size, the background colour) carry
// data-shown-when="name=value" and are hidden while another value is picked. Without JavaScript
// they simply stay visible, and the server ignores them unless their choice is picked.
function syncShownWhen(root) {
  root.querySelectorAll("[data-shown-when]").forEach(function (element) {
    const [name, value] = element.dataset.shownWhen.split("=");
    const form = element.closest("form");
    if (!form) return;
    const field = form.elements.namedItem(name);
    if (!field) return;
    element.hidden = field.value !== value;
  });
}
document.addEventListener("change", function (event) {
  if (event.target.form) syncShownWhen(event.target.form);
});
document.addEventListener("DOMContentLoaded", function () { syncShownWhen(document); });
