// Behaviour that would otherwise need inline handlers, which the Content-Security-Policy
// forbids (docs/security.md):
// - <select data-autosubmit> submits its form when changed (the language switch);
// - <input data-select-on-focus> selects its whole text when focused (links to copy).
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
    target.form.submit();
  }
});
document.addEventListener("focusin", function (event) {
  var target = event.target;
  if (target instanceof HTMLInputElement && target.hasAttribute("data-select-on-focus")) {
    target.select();
  }
});
