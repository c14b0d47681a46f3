// mailroom web UI: keyboard shortcuts, the page-box <-> field link of the document view, and the field states
// after the immediate validation (htmx swaps the messages in). No framework, no inline script (CSP).
"use strict";
(function () {
  function onKey(event) {
    var target = event.target;
    var typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT"
                            || target.isContentEditable);
    var shortcuts = document.querySelectorAll("[data-key]");
    for (var i = 0; i < shortcuts.length; i++) {
      var el = shortcuts[i];
      var key = el.getAttribute("data-key");
      var needsCtrl = key.indexOf("Ctrl+") === 0;
      var bare = needsCtrl ? key.slice(5) : key;
      if (needsCtrl !== (event.ctrlKey || event.metaKey)) { continue; }
      if (!needsCtrl && typing) { continue; }
      // a shortcut belongs to its form: Ctrl+Enter while typing a rescan message does not confirm the decision
      var within = target && target.closest ? target.closest("form") : null;
      if (within && el.form && within !== el.form) { continue; }
      if (event.key === bare) {
        event.preventDefault();
        el.click();
        return;
      }
    }
  }

  function select(field, scroll) {
    var i;
    var boxes = document.querySelectorAll("rect.box");
    for (i = 0; i < boxes.length; i++) {
      boxes[i].classList.toggle("selected", boxes[i].getAttribute("data-field") === field);
    }
    var rows = document.querySelectorAll(".field[data-field]");
    for (i = 0; i < rows.length; i++) {
      rows[i].classList.toggle("selected", rows[i].getAttribute("data-field") === field);
    }
    var box = document.querySelector('rect.box[data-field="' + field + '"]');
    if (box && scroll) { box.scrollIntoView({block: "center", behavior: "auto"}); }
  }

  function onBoxClick(event) {
    var box = event.target.closest ? event.target.closest("rect.box") : null;
    if (!box) { return; }
    var field = box.getAttribute("data-field");
    var input = document.getElementById("f-" + field);
    select(field, false);
    if (input) { input.focus(); }
  }

  function onFocus(event) {
    var field = event.target && event.target.getAttribute ? event.target.getAttribute("data-field") : null;
    if (field && event.target.tagName === "INPUT") { select(field, true); }
  }

  // after the immediate validation: each field's message carries its state; mirror it on the field and its box
  function applyStates() {
    var messages = document.querySelectorAll(".msg[data-state]");
    for (var i = 0; i < messages.length; i++) {
      var msg = messages[i];
      var field = msg.id.replace(/^msg-/, "");
      var state = msg.getAttribute("data-state");
      var row = document.querySelector('.field[data-field="' + field + '"]');
      var input = document.getElementById("f-" + field);
      if (row) {
        row.classList.remove("field-ok", "field-warn", "field-bad");
        row.classList.add("field-" + state);
      }
      if (input) {
        if (state === "bad") { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
      }
      var boxes = document.querySelectorAll('rect.box[data-field="' + field + '"]');
      for (var j = 0; j < boxes.length; j++) {
        boxes[j].classList.remove("box-ok", "box-warn", "box-bad");
        boxes[j].classList.add("box-" + state);
      }
    }
  }

  // the station's upload: every file on its own request (the REST API's streamed upload), CSRF token as a header
  function upload(files) {
    var form = document.getElementById("upload-form");
    var status = document.getElementById("upload-status");
    if (!form || !files || !files.length) { return; }
    var url = form.getAttribute("data-upload");
    var token = form.getAttribute("data-csrf");
    var template = status.getAttribute("data-template");
    var done = 0;
    var total = files.length;
    var failures = [];
    function report() {
      status.textContent = template.replace("{done}", done).replace("{total}", total)
        + (failures.length ? " – " + failures.join("; ") : "");
    }
    report();
    var chain = Promise.resolve();
    Array.prototype.forEach.call(files, function (file) {
      chain = chain.then(function () {
        var body = new FormData();
        body.append("file", file, file.name);
        return fetch(url, {method: "POST", body: body, headers: {"X-CSRF-Token": token}, credentials: "same-origin"})
          .then(function (answer) {
            if (answer.ok) { done += 1; return null; }
            return answer.json().then(function (error) { failures.push(file.name + ": " + error.code); },
                                      function () { failures.push(file.name + ": HTTP " + answer.status); });
          }, function () { failures.push(file.name + ": network"); })
          .then(report);
      });
    });
    chain.then(function () {
      if (window.htmx) {
        window.htmx.ajax("GET", url + "s", {target: "#uploads", swap: "outerHTML"});
      }
    });
  }

  function setupUpload() {
    var form = document.getElementById("upload-form");
    var zone = document.getElementById("dropzone");
    if (!form || !zone) { return; }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      upload(document.getElementById("files").files);
    });
    zone.addEventListener("dragover", function (event) { event.preventDefault(); zone.classList.add("dragging"); });
    zone.addEventListener("dragleave", function () { zone.classList.remove("dragging"); });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("dragging");
      upload(event.dataTransfer.files);
    });
  }

  // the rules editor: simulate and activate work on the saved version, so once a text is edited they wait for
  // "Speichern" (they would silently use the version without the edits)
  function onEdit(event) {
    var editor = event.target && event.target.closest ? event.target.closest("form#editor") : null;
    if (!editor) { return; }
    var notice = document.getElementById("unsaved");
    if (notice) { notice.hidden = false; }
    var buttons = document.querySelectorAll("button[data-needs-saved]");
    for (var i = 0; i < buttons.length; i++) { buttons[i].disabled = true; }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setupUpload);
  } else {
    setupUpload();
  }
  document.addEventListener("input", onEdit);
  document.addEventListener("keydown", onKey);
  document.addEventListener("click", onBoxClick);
  document.addEventListener("focusin", onFocus);
  document.addEventListener("htmx:afterSettle", applyStates);
  document.addEventListener("htmx:oobAfterSwap", applyStates);
  document.addEventListener("htmx:afterRequest", function () { window.setTimeout(applyStates, 0); });
})();
