/* django-storages: upload a file straight from the browser to the storage.
 *
 * For each [data-storages-direct] widget: when a file is picked, ask the
 * ticket view (POST, with the CSRF token) for an upload ticket, send the file
 * to the storage with the ticket's method, URL, form fields and headers while
 * showing progress, then put the signed reference into the hidden input. The
 * form cannot be submitted while an upload runs. An upload that makes no
 * progress for data-stall-timeout seconds is given up, and the Cancel button
 * stops one; either way the form is usable again. No framework, no build step.
 */
(function () {
  "use strict";

  function csrfToken(form) {
    var input = form && form.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) { return input.value; }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // Mirrors storages.direct.human_size (Python): the same text on both sides.
  var UNITS = ["KB", "MB", "GB", "TB", "PB", "EB"];
  function humanSize(bytes) {
    if (Math.abs(bytes) < 1024) { return bytes === 1 ? "1 byte" : bytes + " bytes"; }
    var value = bytes, i = -1;
    do { value /= 1024; i += 1; } while (Math.abs(value) >= 1024 && i < UNITS.length - 1);
    return value.toFixed(1) + " " + UNITS[i];
  }

  function seconds(value) { return (Math.round(value * 10) / 10) + " s"; }

  // One upload: the ticket request, then the transfer; abort(reason) stops either.
  function Upload(widget, file) {
    this.widget = widget;
    this.file = file;
    this.reason = "";
    this.xhr = null;
    this.controller = window.AbortController ? new AbortController() : null;
  }

  Upload.prototype.abort = function (reason) {
    if (this.reason) { return; }
    this.reason = reason;
    if (this.controller) { this.controller.abort(); }
    if (this.xhr) { this.xhr.abort(); }
  };

  Upload.prototype.askTicket = function () {
    var widget = this.widget, file = this.file, body = new FormData();
    body.append("field", widget.dataset.spec);
    body.append("name", file.name);
    body.append("size", String(file.size));
    body.append("type", file.type || "");
    return fetch(widget.dataset.ticketUrl, {
      method: "POST", body: body, credentials: "same-origin",
      signal: this.controller ? this.controller.signal : undefined,
      headers: { "X-CSRFToken": csrfToken(widget.closest("form")), "X-Requested-With": "XMLHttpRequest" }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { throw new Error(data.error || "The upload was refused (" + response.status + ")."); }
        return data;
      });
    });
  };

  Upload.prototype.send = function (ticket, onProgress) {
    var self = this, file = this.file;
    return new Promise(function (resolve, reject) {
      if (self.reason) { reject(new Error("aborted")); return; }
      var xhr = new XMLHttpRequest();
      self.xhr = xhr;
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
      xhr.onabort = function () { reject(new Error("aborted")); };
      var body = file;
      if (ticket.file_field) {
        body = new FormData();
        Object.keys(ticket.fields || {}).forEach(function (name) { body.append(name, ticket.fields[name]); });
        body.append(ticket.file_field, file);
      }
      xhr.send(body);
    });
  };

  function setup(widget) {
    if (widget.dataset.storagesDirectReady) { return; }
    widget.dataset.storagesDirectReady = "1";
    var picker = widget.querySelector(".storages-direct-file");
    var hidden = widget.querySelector(".storages-direct-reference");
    var bar = widget.querySelector(".storages-direct-bar");
    var progress = widget.querySelector(".storages-direct-progress");
    var percent = widget.querySelector(".storages-direct-percent");
    var cancel = widget.querySelector(".storages-direct-cancel");
    var status = widget.querySelector(".storages-direct-status");
    var stallTimeout = parseFloat(widget.dataset.stallTimeout) || 30;
    var current = null;

    function show(state, text) {
      widget.classList.remove("is-uploading", "is-done", "is-error");
      if (state) { widget.classList.add(state); }
      status.textContent = text;
    }

    function finish(upload) {
      if (current !== upload) { return false; }  // a newer pick replaced it
      current = null;
      clearInterval(upload.watch);
      delete widget.dataset.busy;
      return true;
    }

    if (cancel) {
      cancel.addEventListener("click", function () { if (current) { current.abort("cancel"); } });
    }

    picker.addEventListener("change", function () {
      var file = picker.files && picker.files[0];
      if (current) { var previous = current; finish(previous); previous.abort("replaced"); }
      hidden.value = "";
      if (!file) { bar.hidden = true; show("", ""); return; }
      var upload = new Upload(widget, file);
      current = upload;
      widget.dataset.busy = "1";
      progress.value = 0; percent.textContent = "0 %"; bar.hidden = false;
      var label = file.name + " (" + humanSize(file.size) + ")";
      show("is-uploading", "Uploading " + label + "…");
      // No progress (ticket, bytes sent, answer) for stallTimeout seconds: give up.
      var last = Date.now();
      upload.watch = setInterval(function () {
        if (Date.now() - last > stallTimeout * 1000) { upload.abort("stall"); }
      }, Math.min(1000, stallTimeout * 250));
      upload.askTicket().then(function (ticket) {
        last = Date.now();
        return upload.send(ticket, function (loaded, total) {
          last = Date.now();
          var value = Math.floor(loaded * 100 / total);
          progress.value = value; percent.textContent = value + " %";
        }).then(function () { return ticket; });
      }).then(function (ticket) {
        if (!finish(upload)) { return; }
        hidden.value = ticket.reference;
        progress.value = 100; percent.textContent = "100 %";
        bar.hidden = false;
        show("is-done", "Uploaded: " + label);
      }).catch(function (error) {
        if (!finish(upload)) { return; }
        bar.hidden = true;
        hidden.value = "";
        if (upload.reason) { picker.value = ""; }  // the same file can be picked again
        if (upload.reason === "stall") {
          show("is-error", "The upload stalled: no progress for " + seconds(stallTimeout) +
            ". Check the connection and choose the file again.");
        } else if (upload.reason === "cancel") {
          show("is-error", "Upload cancelled. Choose a file to upload.");
        } else {
          show("is-error", error.message);
        }
      });
    });

    var form = widget.closest("form");
    if (form && !form.dataset.storagesDirectGuard) {
      form.dataset.storagesDirectGuard = "1";
      form.addEventListener("submit", function (event) {
        if (form.querySelector("[data-storages-direct][data-busy]")) {
          event.preventDefault();
          alert("Please wait until the upload has finished, or cancel it.");
        }
      });
    }
  }

  function setupAll() { document.querySelectorAll("[data-storages-direct]").forEach(setup); }
  window.storagesDirect = { humanSize: humanSize, setupAll: setupAll };
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", setupAll); } else { setupAll(); }
  // Admin inlines add rows later.
  document.addEventListener("formset:added", setupAll);
})();
