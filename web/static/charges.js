// Works out the charges while the inspector types: posts the form to the same server code
// the "Work out the charges" button uses and shows the answer. Without it the button does it.
(function () {
  "use strict";
  var form = document.getElementById("start-form");
  var target = document.getElementById("charges");
  if (!form || !target || !window.fetch) { return; }
  var timer = null;
  var seq = 0;
  function refresh() {
    var mine = ++seq;
    fetch("/dashboard/audits/new/preview", { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (reply) { return reply.ok ? reply.text() : null; })
      .then(function (html) { if (html !== null && mine === seq) { target.innerHTML = html; } })
      .catch(function () { /* the button still works */ });
  }
  form.addEventListener("input", function (event) {
    if (!event.target.name || event.target.name.indexOf("lines-") !== 0) { return; }
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
})();
