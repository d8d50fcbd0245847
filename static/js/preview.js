// Live preview and category search. An enhancement only: without JavaScript the forms' "Preview
// matches" button posts the form and the page shows the same preview.
(function () {
  "use strict";

  function debounce(fn, ms) {
    var timer;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  // Everything a form says to follow; the fragment endpoint reads the same names as the form.
  var TEXT_FIELDS = ["query", "interest", "examples"];

  document.querySelectorAll("form[data-preview-form]").forEach(function (form) {
    var target = document.querySelector("[data-preview-target]");
    if (!target || !form.querySelector("[data-query-input]")) return;
    var url = form.getAttribute("data-preview-url");
    var latest = 0;

    function refresh() {
      var params = new URLSearchParams();
      TEXT_FIELDS.forEach(function (name) {
        var field = form.elements.namedItem(name);
        if (field && field.value !== undefined) params.set(name, field.value);
      });
      form.querySelectorAll("input[name=categories]:checked").forEach(function (box) {
        params.append("categories", box.value);
      });
      var strict = form.querySelector("input[name=strictness]:checked");
      if (strict) params.set("strictness", strict.value);
      var ticket = ++latest;
      target.setAttribute("aria-busy", "true");
      fetch(url + "?" + params.toString(), {
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" },
      })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (ticket !== latest || html === null) return; // an older answer, or an error
          target.innerHTML = html;
        })
        .catch(function () { /* offline: the Preview button still works */ })
        .finally(function () { if (ticket === latest) target.removeAttribute("aria-busy"); });
    }

    // The chosen categories, listed above the long list of checkboxes.
    var chosen = form.querySelector("[data-categories-chosen]");
    function showChosen() {
      if (!chosen) return;
      var codes = [];
      form.querySelectorAll("input[name=categories]:checked").forEach(function (box) {
        codes.push(box.value);
      });
      chosen.hidden = codes.length === 0;
      chosen.querySelector("[data-categories-chosen-list]").textContent = codes.join(", ");
    }

    var later = debounce(refresh, 300);
    form.addEventListener("input", function (event) {
      if (TEXT_FIELDS.indexOf(event.target.name) !== -1) later();
    });
    form.addEventListener("change", function (event) {
      if (event.target.name === "categories") { showChosen(); later(); }
      if (event.target.name === "strictness") refresh(); // a click: no typing to wait for
    });
  });

  // Category search: filter the list as the person types (the search box is hidden without JS).
  document.querySelectorAll("[data-category-filter]").forEach(function (box) {
    var input = box.querySelector("input");
    var list = document.querySelector("[data-category-list]");
    if (!input || !list) return;
    box.hidden = false;
    input.addEventListener("input", function () {
      var needle = input.value.trim().toLowerCase();
      var group = null, groupHasMatch = false;
      Array.prototype.forEach.call(list.children, function (node) {
        if (node.hasAttribute("data-category-group")) {
          if (group) group.hidden = !groupHasMatch;
          group = node; groupHasMatch = false;
          return;
        }
        var text = node.textContent.toLowerCase();
        var match = !needle || text.indexOf(needle) !== -1 || (node.querySelector("input:checked") !== null);
        node.hidden = !match;
        if (match) groupHasMatch = true;
      });
      if (group) group.hidden = !groupHasMatch;
    });
  });
})();
