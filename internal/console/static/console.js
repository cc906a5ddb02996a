// Shows every <time datetime> in the viewer's own zone; the UTC value
// stays in the title, shown on hover. No inline script: the CSP forbids it.
(function () {
  "use strict";
  var fmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  function localize(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (!isNaN(d.getTime())) { el.textContent = fmt.format(d); }
    });
  }
  document.addEventListener("DOMContentLoaded", function () { localize(document); });
  document.addEventListener("htmx:afterSettle", function (e) { localize(e.target); });
})();

// A "copy" button (data-copy="<id>") copies the value of the field with
// that id, such as an invitation's accept link, and says so in the
// element marked data-copy-status="<id>".
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var btn = e.target.closest ? e.target.closest("button[data-copy]") : null;
    if (!btn) { return; }
    var id = btn.getAttribute("data-copy");
    var field = document.getElementById(id);
    var status = document.querySelector('[data-copy-status="' + id + '"]');
    if (!field) { return; }
    function done(msg) { if (status) { status.textContent = msg; } }
    field.select();
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(field.value).then(function () { done("Copied."); },
        function () { done("Select the link and copy it by hand."); });
    } else {
      done("Select the link and copy it by hand.");
    }
  });
})();
