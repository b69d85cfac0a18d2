// <button data-countdown="N" data-countdown-unit="s">: disabled for N seconds, its
// text replaced by the seconds left ("60 s", "59 s", …), then enabled again with its own text (the
// sign-up page's "send a new code"; N is what the server's resend rule leaves, 0: usable now).
// Without JavaScript the button is usable at once and the server refuses a request that is early.
(function () {
  "use strict";
  function start(button) {
    var left = parseInt(button.getAttribute("data-countdown") || "0", 10);
    if (!(left > 0)) {
      return;
    }
    var label = button.textContent;
    var unit = button.getAttribute("data-countdown-unit") || "s";
    var show = function () {
      button.textContent = String(left) + " " + unit;
    };
    button.disabled = true;
    button.setAttribute("aria-live", "off");
    show();
    var timer = window.setInterval(function () {
      left -= 1;
      if (left > 0) {
        show();
        return;
      }
      window.clearInterval(timer);
      button.textContent = label;
      button.disabled = false;
    }, 1000);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button[data-countdown]").forEach(start);
  });
})();
