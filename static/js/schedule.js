// The weekday of a weekly digest: without JavaScript the field is always shown (its hint says
// it is only for weekly digests); with it, the field shows only while "Once a week" is chosen.
(function () {
  "use strict";
  document.querySelectorAll("select[data-weekday]").forEach(function (weekday) {
    var form = weekday.form;
    var field = weekday.closest(".field") || weekday;
    if (!form || !form.elements.frequency) return;
    function update() {
      field.hidden = form.elements.frequency.value !== "weekly";
    }
    form.addEventListener("change", function (event) {
      if (event.target.name === "frequency") update();
    });
    update();
  });
})();
