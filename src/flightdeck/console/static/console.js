// The console's only script: Copy buttons and live parts of pages. Pages work without it,
// except that Copy needs it and live parts then need a reload.
"use strict";

(function () {
  function copyText(id) {
    var element = document.getElementById(id);
    if (!element) { return Promise.reject(new Error("nothing to copy")); }
    var text = ("value" in element && element.tagName !== "OUTPUT") ? element.value : element.textContent;
    return navigator.clipboard.writeText(text.trim());
  }

  function setupCopy(button) {
    var target = button.getAttribute("data-copy-target");
    var status = document.querySelector('[data-copy-status-for="' + target + '"]');
    button.addEventListener("click", function () {
      copyText(target).then(function () {
        if (status) { status.textContent = "Copied"; }
      }, function () {
        if (status) { status.textContent = "Copy failed: select the text and copy it"; }
      });
    });
  }

  // A live part re-fetches its own HTML from data-live-src until the server marks it
  // settled (an element with data-live-settled), then stops.
  function setupLive(container) {
    var source = container.getAttribute("data-live-src");
    var interval = parseInt(document.body.getAttribute("data-live-interval") || "2000", 10);
    function poll() {
      fetch(source, { credentials: "same-origin", headers: { "Accept": "text/html" }, redirect: "manual" })
        .then(function (response) {
          // A server error may pass (a restart, a busy moment): try again, more slowly.
          // Anything else (signed out, not found) stops; a reload shows why.
          if (response.status >= 500) { window.setTimeout(poll, interval * 2); return null; }
          if (response.status !== 200) { return null; }
          return response.text();
        })
        .then(function (html) {
          if (html === null) { return; }
          container.innerHTML = html;
          if (!container.querySelector("[data-live-settled]")) {
            window.setTimeout(poll, interval);
          }
        }, function () { window.setTimeout(poll, interval * 2); });
    }
    window.setTimeout(poll, interval);
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-copy-target]"), setupCopy);
    Array.prototype.forEach.call(document.querySelectorAll("[data-live-src]"), setupLive);
  });
})();
