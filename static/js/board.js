/* The pipeline board: drag a card to another column to move the deal (htmx POST to the move view).
   The server answers with the re-rendered board, or with the card replaced by a small form when a
   gate needs fields; cancelling that form re-renders the board, which puts the card back. */
(function () {
  "use strict";
  function initColumns(root) {
    var lists = (root.querySelectorAll ? root : document).querySelectorAll(".board-list");
    lists.forEach(function (list) {
      if (list.dataset.sortable) { return; }
      list.dataset.sortable = "1";
      Sortable.create(list, {
        group: "board",
        sort: false,
        draggable: ".card-open",
        filter: "button, summary, input, select, textarea, label",
        preventOnFilter: false,
        // Pointer-event dragging (not native HTML5 drag and drop): same behaviour with mouse, touch and pen.
        forceFallback: true,
        fallbackTolerance: 4,
        animation: 150,
        ghostClass: "card-ghost",
        onEnd: function (evt) {
          if (evt.from === evt.to) { return; }
          var card = evt.item;
          htmx.ajax("POST", card.dataset.moveUrl, {
            source: card,
            target: card,
            swap: "outerHTML",
            values: {
              to_stage: evt.to.dataset.stage,
              expected_stage: card.dataset.stage,
              source: "board"
            }
          });
        }
      });
    });
  }
  // Keyboard users keep their place: after a move the focus goes to the moved card, and a gate form
  // takes the focus on its first field.
  function restoreFocus(elt) {
    if (elt.id === "board" && elt.dataset.focusDeal) {
      var link = document.querySelector("#deal-" + elt.dataset.focusDeal + " .card-title");
      if (link) { link.focus({ preventScroll: false }); }
    } else if (elt.classList && elt.classList.contains("card-gate")) {
      var field = elt.querySelector("select, input:not([type=hidden]), textarea");
      if (field) { field.focus(); }
    }
  }
  htmx.onLoad(restoreFocus);
  htmx.onLoad(function (elt) {
    if (elt.querySelector && (elt.id === "board" || elt.querySelector(".board-list") || elt.classList.contains("board-list"))) {
      initColumns(elt.classList && elt.classList.contains("board-list") ? elt.parentNode : elt);
    }
  });
  initColumns(document);
})();
