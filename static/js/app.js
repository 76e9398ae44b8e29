/* SalesLadder: small progressive enhancements shared by every page. No user-facing strings live here:
   texts come from data- attributes rendered (and translated) by Django. */
(function () {
  "use strict";
  function showError(text) {
    var box = document.getElementById("messages");
    if (!box) { return; }
    var div = document.createElement("div");
    div.className = "message message-error";
    div.setAttribute("role", "alert");
    div.textContent = text;
    box.appendChild(div);
  }
  document.body.addEventListener("htmx:responseError", function () {
    showError(document.body.dataset.errorMessage);
  });
  document.body.addEventListener("htmx:sendError", function () {
    showError(document.body.dataset.errorMessage);
  });
  // Close an open "Move to…" menu with Escape and give focus back to its toggle.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var open = document.querySelector("details.move-menu[open]");
    if (open) {
      open.removeAttribute("open");
      open.querySelector("summary").focus();
    }
  });
})();
