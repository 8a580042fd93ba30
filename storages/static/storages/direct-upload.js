/* django-storages: upload a file straight from the browser to the storage.
 *
 * For each [data-storages-direct] widget: when a file is picked, ask the
 * ticket view (POST, with the CSRF token) for an upload ticket, send the file
 * to the storage with the ticket's method, URL, form fields and headers while
 * showing progress, then put the signed reference into the hidden input. The
 * form cannot be submitted while an upload runs. No framework, no build step.
 */
(function () {
  "use strict";

  function csrfToken(form) {
    var input = form && form.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) { return input.value; }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function humanSize(bytes) {
    var units = ["bytes", "KB", "MB", "GB", "TB"], i = 0;
    while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i += 1; }
    return (i ? bytes.toFixed(1) : String(bytes)) + " " + units[i];
  }

  function askTicket(widget, file) {
    var body = new FormData();
    body.append("field", widget.dataset.spec);
    body.append("name", file.name);
    body.append("size", String(file.size));
    body.append("type", file.type || "");
    return fetch(widget.dataset.ticketUrl, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(widget.closest("form")), "X-Requested-With": "XMLHttpRequest" }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { throw new Error(data.error || "The upload was refused (" + response.status + ")."); }
        return data;
      });
    });
  }

  function send(ticket, file, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(ticket.method, ticket.url);
      Object.keys(ticket.headers || {}).forEach(function (name) { xhr.setRequestHeader(name, ticket.headers[name]); });
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) { onProgress(event.loaded, event.total); }
      });
      xhr.onload = function () {
        if (xhr.status >= 200 && xhr.status < 300) { resolve(); }
        else if (xhr.status === 412 || xhr.status === 409) { reject(new Error("The storage refused to replace an existing file.")); }
        else { reject(new Error("The storage refused the upload (" + xhr.status + ").")); }
      };
      xhr.onerror = function () { reject(new Error("The upload failed (network error, or the storage's CORS rule does not allow this site).")); };
      var body = file;
      if (ticket.file_field) {
        body = new FormData();
        Object.keys(ticket.fields || {}).forEach(function (name) { body.append(name, ticket.fields[name]); });
        body.append(ticket.file_field, file);
      }
      xhr.send(body);
    });
  }

  function setup(widget) {
    if (widget.dataset.storagesDirectReady) { return; }
    widget.dataset.storagesDirectReady = "1";
    var picker = widget.querySelector(".storages-direct-file");
    var hidden = widget.querySelector(".storages-direct-reference");
    var bar = widget.querySelector(".storages-direct-bar");
    var progress = widget.querySelector(".storages-direct-progress");
    var percent = widget.querySelector(".storages-direct-percent");
    var status = widget.querySelector(".storages-direct-status");

    function show(state, text) {
      widget.classList.remove("is-uploading", "is-done", "is-error");
      if (state) { widget.classList.add(state); }
      status.textContent = text;
    }

    picker.addEventListener("change", function () {
      var file = picker.files && picker.files[0];
      hidden.value = "";
      if (!file) { show("", ""); return; }
      widget.dataset.busy = "1";
      progress.value = 0; percent.textContent = "0 %"; bar.hidden = false;
      var label = file.name + " (" + humanSize(file.size) + ")";
      show("is-uploading", "Uploading " + label + "…");
      askTicket(widget, file).then(function (ticket) {
        return send(ticket, file, function (loaded, total) {
          var value = Math.floor(loaded * 100 / total);
          progress.value = value; percent.textContent = value + " %";
        }).then(function () { return ticket; });
      }).then(function (ticket) {
        hidden.value = ticket.reference;
        progress.value = 100; percent.textContent = "100 %";
        show("is-done", "Uploaded: " + label);
      }).catch(function (error) {
        bar.hidden = true;
        show("is-error", error.message);
      }).then(function () { delete widget.dataset.busy; });
    });

    var form = widget.closest("form");
    if (form && !form.dataset.storagesDirectGuard) {
      form.dataset.storagesDirectGuard = "1";
      form.addEventListener("submit", function (event) {
        if (form.querySelector("[data-storages-direct][data-busy]")) {
          event.preventDefault();
          alert("Please wait until the upload has finished.");
        }
      });
    }
  }

  function setupAll() { document.querySelectorAll("[data-storages-direct]").forEach(setup); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", setupAll); } else { setupAll(); }
  // Admin inlines add rows later.
  document.addEventListener("formset:added", setupAll);
})();
