// webhookd console: a little progressive enhancement. Every page works without it (menus are
// <details>, confirmations have pages of their own, a job page refreshes itself); with it,
// confirmations open as dialogs, rows can be checked at once, and progress moves in place.
// No inline script is allowed by the Content-Security-Policy; everything is wired here.
(function () {
  "use strict";

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  // Menus: Escape or a click elsewhere closes an open ACTIONS menu.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    $all("details.menu[open]").forEach(function (d) {
      d.open = false;
      var s = $("summary", d);
      if (s) s.focus();
    });
  });
  document.addEventListener("click", function (e) {
    $all("details.menu[open]").forEach(function (d) {
      if (!d.contains(e.target)) d.open = false;
    });
  });

  // Row checkboxes: "check all", and a count of the checked rows.
  var checkAll = $("#check-all");
  var counter = $("#selected-count");
  function checked() { return $all("input.row-check:checked"); }
  function updateCount() {
    var n = checked().length;
    if (counter) counter.textContent = n ? n + " checked" : "";
    if (checkAll) {
      var all = $all("input.row-check");
      checkAll.checked = all.length > 0 && n === all.length;
      checkAll.indeterminate = n > 0 && n < all.length;
    }
  }
  if (checkAll) {
    checkAll.addEventListener("change", function () {
      $all("input.row-check").forEach(function (c) { c.checked = checkAll.checked; });
      updateCount();
    });
  }
  $all("input.row-check").forEach(function (c) { c.addEventListener("change", updateCount); });
  updateCount();

  // Confirmation dialogs: a control with data-dialog opens that <dialog> instead of going to
  // the confirmation page. A bulk dialog gets the checked rows' numbers.
  $all("[data-dialog]").forEach(function (el) {
    var dialog = document.getElementById(el.getAttribute("data-dialog"));
    if (!dialog || typeof dialog.showModal !== "function") return;
    el.addEventListener("click", function (e) {
      e.preventDefault();
      var menu = el.closest("details.menu");
      if (menu) menu.open = false;
      var holder = $("[data-numbers]", dialog);
      if (holder) {
        holder.textContent = "";
        var nums = checked().map(function (c) { return c.value; });
        nums.forEach(function (n) {
          var i = document.createElement("input");
          i.type = "hidden"; i.name = "number"; i.value = n;
          holder.appendChild(i);
        });
        var count = $("[data-count]", dialog);
        if (count) count.textContent = String(nums.length);
        var selected = $("input[name=scope][value=selected]", dialog);
        var filter = $("input[name=scope][value=filter]", dialog);
        if (selected) {
          selected.disabled = nums.length === 0;
          if (nums.length) selected.checked = true;
          else if (filter && !filter.disabled) filter.checked = true;
        }
        var save = $("button[type=submit]", dialog);
        if (save) save.disabled = !nums.length && !(filter && !filter.disabled);
      }
      dialog.showModal();
    });
  });
  $all("dialog [data-close]").forEach(function (b) {
    b.addEventListener("click", function () { b.closest("dialog").close(); });
  });
  $all("dialog").forEach(function (d) {
    // A click on the backdrop closes the dialog.
    d.addEventListener("click", function (e) { if (e.target === d) d.close(); });
  });

  // A form that takes a while (a resend waits for the receiver) says so and is not sent twice.
  $all("form[data-busy]").forEach(function (f) {
    f.addEventListener("submit", function () {
      var b = $("button[type=submit]", f);
      if (!b) return;
      setTimeout(function () { b.disabled = true; b.textContent = f.getAttribute("data-busy"); }, 0);
    });
  });
  $all("dialog form").forEach(function (f) {
    f.addEventListener("submit", function () {
      var b = $("button[type=submit]", f);
      if (b) setTimeout(function () { b.disabled = true; }, 0);
    });
  });

  // A job page follows its progress, and shows the result once the job is done.
  var job = $("#job[data-poll]");
  if (job && window.fetch) {
    var url = job.getAttribute("data-poll");
    var bar = $("#job-progress"), done = $("#job-done"), total = $("#job-total");
    var poll = function () {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (p) {
          if (bar) { bar.max = Math.max(1, p.total); bar.value = p.done; bar.textContent = p.done + " of " + p.total; }
          if (done) done.textContent = String(p.done);
          if (total) total.textContent = String(p.total);
          if (p.finished) { window.location.reload(); return; }
          setTimeout(poll, 400);
        })
        .catch(function () { setTimeout(poll, 2000); });
    };
    setTimeout(poll, 200);
  }
})();
