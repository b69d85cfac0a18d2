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
// - <form data-submit-on-load> is submitted as soon as the page has loaded (the sign-in hand-off
//   to a new enterprise's host; without scripts its button does the same);
// - <form data-confirm="…"> (or a submit button with data-confirm) asks in the page's
//   <dialog id="confirm-dialog"> before a destructive action; "Yes" adds confirmed=yes and
//   submits with the same button. Without scripts the server answers with a confirmation page
//   instead (core.views.confirmation_page): a destructive POST without confirmed=yes does nothing.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-submit-on-load]");
  if (form instanceof HTMLFormElement) {
    form.submit();
  }
});
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!(form instanceof HTMLFormElement) || form.method === "dialog") {
    return;
  }
  var submitter = event.submitter || null;
  var message = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
  var dialog = document.getElementById("confirm-dialog");
  if (!message || form.querySelector('input[name="confirmed"]') || !(dialog instanceof HTMLDialogElement)) {
    return;
  }
  event.preventDefault();
  document.getElementById("confirm-dialog-message").textContent = message;
  dialog.returnValue = "";
  dialog.addEventListener(
    "close",
    function () {
      if (dialog.returnValue !== "yes") {
        return;
      }
      var confirmed = document.createElement("input");
      confirmed.type = "hidden";
      confirmed.name = "confirmed";
      confirmed.value = "yes";
      form.appendChild(confirmed);
      if (submitter && typeof form.requestSubmit === "function") {
        form.requestSubmit(submitter);
      } else {
        form.requestSubmit ? form.requestSubmit() : form.submit();
      }
    },
    { once: true }
  );
  dialog.showModal();
});
// <a data-autofollow>: follow the link once the page has loaded (the hand-off to a new
// enterprise's host after creating it; a link, since the CSP's form-action stops redirects
// of a form's POST to another host).
document.addEventListener("DOMContentLoaded", function () {
  var link = document.querySelector("a[data-autofollow]");
  if (link instanceof HTMLAnchorElement) {
    window.location.assign(link.href);
  }
});
// Org editor (issue 16 §6): <button data-details-toggle="open|close" data-target="<id>"> opens or
// closes every <details> inside the element with that id ("expand all" / "collapse all"; those
// marked data-details-keep stay open, so the first level still shows).
document.addEventListener("click", function (event) {
  var button = event.target instanceof Element ? event.target.closest("[data-details-toggle]") : null;
  var container = button ? document.getElementById(button.getAttribute("data-target") || "") : null;
  if (!container) {
    return;
  }
  var open = button.getAttribute("data-details-toggle") === "open";
  container.querySelectorAll("details").forEach(function (details) {
    details.open = open || details.hasAttribute("data-details-keep");
  });
});
// <input type="checkbox" data-select-all="FORM-ID">: ticks or clears every checkbox of that form
// on the page (the member list's bulk actions; the row checkboxes carry form="FORM-ID").
document.addEventListener("change", function (event) {
  var box = event.target;
  if (!(box instanceof HTMLInputElement) || !box.hasAttribute("data-select-all")) {
    return;
  }
  var formId = box.getAttribute("data-select-all");
  document.querySelectorAll('input[type="checkbox"][form="' + formId + '"]').forEach(function (row) {
    row.checked = box.checked;
  });
});

// <a data-history-back href="/">: goes back to the previous page when there is one in this tab
// (the error pages); otherwise, and without JavaScript, the link's own address.
document.addEventListener("click", function (event) {
  var link = event.target instanceof Element ? event.target.closest("a[data-history-back]") : null;
  if (link && window.history.length > 1 && document.referrer) {
    event.preventDefault();
    window.history.back();
  }
});
