/* Accessibility touches Flask-Admin's own markup needs, on every screen (issue 15).

   - Help icons in list headers: Bootstrap's tooltip empties their title, which was their only
     name; give them a name that says which column they explain (WCAG 4.1.2, 2.4.4).
   - Select2 boxes (drawn once the page is ready) are links with no name while empty, and
     their "remove" crosses are unnamed links: name them after the field's label.
   - An error summary, when the page has one, takes focus so it is read first (GOV.UK). */
(function () {
  "use strict";
  document.querySelectorAll('[data-role="tooltip"]').forEach(function (el) {
    if (el.getAttribute("aria-label")) { return; }
    var text = el.getAttribute("title") || el.getAttribute("data-original-title") || "";
    var header = el.closest("th");
    var column = header ? header.textContent.trim() : "";
    el.setAttribute("aria-label", (column ? "About " + column + ": " : "Help: ") + text);
  });

  function labelFor(id) {
    var label = id ? document.querySelector('label[for="' + id + '"]') : null;
    return label ? label.textContent.replace(/\s+/g, " ").replace(/\*$/, "").trim() : "";
  }

  function nameSelect2Boxes() {
    document.querySelectorAll(".select2-container").forEach(function (box) {
      var field = (box.id || "").replace(/^s2id_/, "");
      var name = labelFor(field) || "Choose";
      box.querySelectorAll("a.select2-choice").forEach(function (link) {
        var chosen = link.querySelector(".select2-chosen");
        var value = chosen ? chosen.textContent.trim() : "";
        link.setAttribute("aria-label", name + ": " + (value || "none chosen"));
      });
      box.querySelectorAll("a.select2-search-choice-close").forEach(function (cross) {
        var item = cross.parentElement ? cross.parentElement.textContent.trim() : "";
        cross.setAttribute("aria-label", "Remove " + item + " from " + name);
        cross.setAttribute("role", "button");
      });
      box.querySelectorAll("input.select2-input, input.select2-focusser").forEach(function (input) {
        if (!input.getAttribute("aria-label")) { input.setAttribute("aria-label", name); }
      });
    });
  }

  if (window.jQuery) {
    // Registered after Flask-Admin's own ready handler (form.js), so it runs after Select2.
    window.jQuery(function () {
      nameSelect2Boxes();
      window.jQuery(document).on("change", "select, input", nameSelect2Boxes);
      // The record page's filter box filters its summary list's rows (Flask-Admin's own
      // script filters table rows only).
      var filter = document.getElementById("fa_filter");
      if (filter) {
        filter.addEventListener("keyup", function () {
          var wanted = filter.value.toLowerCase();
          document.querySelectorAll("#record-summary > .summary-list__row").forEach(function (row) {
            row.hidden = wanted !== "" && row.textContent.toLowerCase().indexOf(wanted) === -1;
          });
        });
      }
      var summary = document.querySelector(".error-summary");
      if (summary) { summary.focus(); }
    });
  }
})();
