// Fills the hidden time-zone field of the sign-up form from the browser. Without JavaScript the
// field stays "UTC" and onboarding asks for the zone instead.
(function () {
  "use strict";
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone) return;
  document.querySelectorAll("[data-detect-timezone]").forEach(function (input) {
    if (input.tagName === "SELECT") {
      // Preselect the detected zone only when the user has not chosen one.
      if (input.dataset.detectTimezone === "if-utc" && input.value !== "UTC") return;
      if (Array.prototype.some.call(input.options, function (o) { return o.value === zone; })) {
        input.value = zone;
      }
    } else {
      input.value = zone;
    }
  });
})();
