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

  document.querySelectorAll("form[data-preview-form]").forEach(function (form) {
    var target = document.querySelector("[data-preview-target]");
    var query = form.querySelector("[data-query-input]");
    if (!target || !query) return;
    var url = form.getAttribute("data-preview-url");
    var latest = 0;

    function refresh() {
      var params = new URLSearchParams();
      params.set("query", query.value);
      form.querySelectorAll("input[name=categories]:checked").forEach(function (box) {
        params.append("categories", box.value);
      });
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

    var later = debounce(refresh, 300);
    query.addEventListener("input", later);
    form.addEventListener("change", function (event) {
      if (event.target.name === "categories") later();
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
