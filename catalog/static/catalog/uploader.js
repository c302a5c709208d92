/* Resumable uploader for the seller's files page (no build step, no dependency).
 *
 * Speaks the protocol described in catalog/uploads/__init__.py: open an upload session,
 * send the file in chunks (to the app) or in parts (straight to S3 through
 * presigned URLs), then ask the server to finish. The session id is kept in
 * localStorage under the file's name, size and date, so choosing the same file
 * again after a dropped connection or a closed tab resumes where it stopped.
 * Without JavaScript the form posts the files in one request instead.
 */
(function () {
  "use strict";

  var form = document.getElementById("upload-form");
  var configNode = document.getElementById("upload-config");
  var queue = document.getElementById("upload-queue");
  if (!form || !configNode || !queue || !window.fetch || !window.XMLHttpRequest) return;
  var config = JSON.parse(configNode.textContent);
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var RETRIES = 5;
  // Django's JavaScript catalogue (/jsi18n/, loaded before this file); English without it.
  var gettext = window.gettext || function (text) { return text; };
  var pgettext = window.pgettext || function (context, text) { return text; };
  var interpolate = window.interpolate || function (format, values) {
    return format.replace(/%\(\w+\)s/g, function (match) { return values[match.slice(2, -2)]; });
  };
  function say(format, values) { return interpolate(format, values, true); }
  var numbers = new Intl.NumberFormat(document.documentElement.lang || "en", { maximumFractionDigits: 1 });

  function human(bytes) {
    var units = [null, pgettext("file size", "KB"), pgettext("file size", "MB"),
                 pgettext("file size", "GB"), pgettext("file size", "TB")];
    var i = 0;
    while (bytes >= 1000 && i < units.length - 1) { bytes /= 1000; i++; }
    if (i === 0) return interpolate(gettext("%(size)s bytes"), { size: numbers.format(bytes) }, true);
    return interpolate(pgettext("file size", "%(number)s %(unit)s"),
                       { number: numbers.format(bytes), unit: units[i] }, true);
  }

  function storageKey(file, role) {
    return ["echoppe-upload", config.product, role, file.name, file.size, file.lastModified].join(":");
  }

  function api(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.text().then(function (text) {
        var data = {};
        try { data = text ? JSON.parse(text) : {}; } catch (e) { data = { error: say(gettext("The server answered %(status)s."), { status: response.status }) }; }
        data._status = response.status;
        return data;
      });
    });
  }

  /* One XHR PUT/PATCH with progress events; resolves with {status, body}. */
  function send(row, method, url, blob, headers) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      row.xhr = xhr;
      xhr.open(method, url);
      Object.keys(headers).forEach(function (name) { xhr.setRequestHeader(name, headers[name]); });
      xhr.upload.onprogress = function (event) { row.show(row.base + event.loaded); };
      xhr.onload = function () { row.xhr = null; resolve({ status: xhr.status, body: xhr.responseText }); };
      xhr.onerror = function () { row.xhr = null; reject(new Error("network")); };
      xhr.onabort = function () { row.xhr = null; reject(new Error("aborted")); };
      xhr.send(blob);
    });
  }

  function wait(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  function Row(file, role) {
    var li = document.createElement("li");
    li.className = "upload-row";
    var name = document.createElement("span");
    name.className = "file-name";
    name.textContent = file.name;
    var bar = document.createElement("progress");
    bar.max = file.size;
    bar.value = 0;
    bar.setAttribute("aria-label", say(gettext("Upload of %(name)s"), { name: file.name }));
    var status = document.createElement("span");
    status.className = "upload-status";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    var buttons = document.createElement("span");
    buttons.className = "actions";
    li.appendChild(name);
    li.appendChild(bar);
    li.appendChild(status);
    li.appendChild(buttons);
    queue.appendChild(li);
    this.li = li; this.bar = bar; this.status = status; this.buttons = buttons;
    this.file = file; this.role = role; this.base = 0; this.stopped = false; this.xhr = null;
    this.lastText = 0;
  }

  Row.prototype.say = function (text, kind) {
    this.status.textContent = text;
    this.li.dataset.state = kind || "busy";
  };

  Row.prototype.show = function (done) {
    this.bar.value = done;
    var now = Date.now();
    // Screen readers hear the status text: refresh it twice a second at most.
    if (now - this.lastText > 500 || done >= this.file.size) {
      this.lastText = now;
      var percent = Math.floor((done / this.file.size) * 100);
      this.say(human(done) + " of " + human(this.file.size) + " (" + percent + "%)");
    }
  };

  Row.prototype.button = function (label, handler, kind) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "button small " + (kind || "secondary");
    b.textContent = label;
    b.setAttribute("aria-label", label + ": " + this.file.name);
    b.addEventListener("click", handler);
    this.buttons.appendChild(b);
    return b;
  };

  Row.prototype.clearButtons = function () { this.buttons.textContent = ""; };

  function openSession(row) {
    var key = storageKey(row.file, row.role);
    var known = localStorage.getItem(key);
    var fresh = function () {
      return api("POST", config.createUrl, {
        product: config.product, role: row.role, filename: row.file.name, size: row.file.size
      }).then(function (data) {
        if (data._status !== 201) throw new Error(data.error || gettext("The upload could not start."));
        localStorage.setItem(key, data.urls.self);
        return data;
      });
    };
    if (!known) return fresh();
    return api("GET", known).then(function (data) {
      if (data._status === 200 && data.status === "receiving" && data.size === row.file.size) {
        row.resumed = data.offset > 0;
        return data;
      }
      localStorage.removeItem(key);
      return fresh();
    });
  }

  function sendLocal(row, session) {
    var offset = session.offset;
    var failures = 0;
    function next() {
      if (row.stopped) throw new Error("paused");
      if (offset >= row.file.size) return Promise.resolve();
      var blob = row.file.slice(offset, Math.min(offset + session.chunk_size, row.file.size));
      row.base = offset;
      return send(row, "PATCH", session.urls.self, blob, {
        "Upload-Offset": String(offset),
        "Content-Type": "application/offset+octet-stream",
        "X-CSRFToken": csrf
      }).then(function (answer) {
        var data = {};
        try { data = JSON.parse(answer.body); } catch (e) { /* not JSON: handled below */ }
        if (answer.status === 200 || (answer.status === 409 && typeof data.offset === "number")) {
          offset = data.offset;  // 409: someone else wrote, or a cut chunk: resume from the truth
          failures = 0;
          row.show(offset);
          return next();
        }
        throw new Error(data.error || say(gettext("The server answered %(status)s."), { status: answer.status }));
      }, function (error) {
        if (row.stopped || error.message === "aborted") throw new Error("paused");
        if (++failures > RETRIES) throw new Error(gettext("The connection dropped."));
        row.say(gettext("Connection lost, retrying…"));
        return wait(Math.min(8000, 500 * Math.pow(2, failures))).then(function () {
          return api("GET", session.urls.self).then(function (data) {
            if (typeof data.offset === "number") offset = data.offset;
            return next();
          }, next);
        });
      });
    }
    return next();
  }

  function sendS3(row, session) {
    var size = row.file.size, partSize = session.part_size;
    var count = Math.max(1, Math.ceil(size / partSize));
    var have = {};
    (session.parts || []).forEach(function (p) {
      var want = p.number < count ? partSize : size - partSize * (count - 1);
      if (p.size === want) have[p.number] = true;
    });
    var missing = [];
    for (var n = 1; n <= count; n++) if (!have[n]) missing.push(n);
    var done = (count - missing.length) * partSize;
    var failures = 0;
    function batch() {
      if (row.stopped) throw new Error("paused");
      if (!missing.length) return Promise.resolve();
      var numbers = missing.slice(0, 20);
      return api("POST", session.urls.parts, { numbers: numbers }).then(function (data) {
        if (data._status !== 200) throw new Error(data.error || gettext("The upload could not continue."));
        return numbers.reduce(function (chain, number) {
          return chain.then(function () { return putPart(number, data.urls[String(number)]); });
        }, Promise.resolve()).then(batch);
      });
    }
    function putPart(number, url) {
      if (row.stopped) throw new Error("paused");
      var start = (number - 1) * partSize;
      row.base = Math.min(done, size);
      return send(row, "PUT", url, row.file.slice(start, Math.min(start + partSize, size)), {})
        .then(function (answer) {
          if (answer.status !== 200) throw new Error(say(gettext("The storage refused part %(number)s."), { number: number }));
          missing.splice(missing.indexOf(number), 1);
          done += Math.min(partSize, size - start);
          failures = 0;
          row.show(Math.min(done, size));
        }, function (error) {
          if (row.stopped || error.message === "aborted") throw new Error("paused");
          if (++failures > RETRIES) throw new Error(gettext("The connection dropped."));
          row.say(gettext("Connection lost, retrying…"));
          return wait(Math.min(8000, 500 * Math.pow(2, failures))).then(function () {
            return putPart(number, url);
          });
        });
    }
    return batch();
  }

  function refreshLists() {
    return fetch(window.location.href, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        ["deliverables", "previews"].forEach(function (id) {
          var fresh = doc.getElementById(id), old = document.getElementById(id);
          if (fresh && old) old.replaceWith(fresh);
        });
      });
  }

  function run(row) {
    row.stopped = false;
    row.clearButtons();
    row.say(row.session ? gettext("Resuming…") : gettext("Starting…"));
    var pause = row.button(gettext("Pause"), function () {
      row.stopped = true;
      if (row.xhr) row.xhr.abort();
    });
    row.button(gettext("Cancel"), function () {
      row.stopped = true;
      if (row.xhr) row.xhr.abort();
      row.cancelled = true;
      localStorage.removeItem(storageKey(row.file, row.role));
      if (row.session) api("DELETE", row.session.urls.self);
      row.clearButtons();
      row.say(gettext("Cancelled."), "stopped");
    });
    return openSession(row).then(function (session) {
      row.session = session;
      row.show(session.offset || 0);
      if (row.resumed) row.say(say(gettext("Resuming from %(size)s…"), { size: human(session.offset) }));
      return session.backend === "s3" ? sendS3(row, session) : sendLocal(row, session);
    }).then(function () {
      pause.disabled = true;
      row.say(gettext("Checking the file…"));
      return api("POST", row.session.urls.finish);
    }).then(function (data) {
      if (data._status !== 200) {
        if (data._status === 409 && /arrived|Part/.test(data.error || "")) throw new Error(data.error);
        localStorage.removeItem(storageKey(row.file, row.role));
        row.clearButtons();
        row.say(say(gettext("Refused: %(reason)s"), { reason: data.error || gettext("the file could not be added.") }), "refused");
        return;
      }
      localStorage.removeItem(storageKey(row.file, row.role));
      row.clearButtons();
      row.bar.value = row.file.size;
      row.say(say(gettext("Added (%(size)s)."), { size: human(row.file.size) }), "done");
      return refreshLists();
    }).catch(function (error) {
      if (row.cancelled) return;
      row.clearButtons();
      var paused = error.message === "paused";
      row.say(paused ? gettext("Paused.") : say(gettext("Interrupted: %(reason)s Resume to continue."), { reason: error.message }), "stopped");
      row.button(gettext("Resume"), function () { run(row); }, "");
      row.button(gettext("Cancel"), function () {
        localStorage.removeItem(storageKey(row.file, row.role));
        if (row.session) api("DELETE", row.session.urls.self);
        row.clearButtons();
        row.say(gettext("Cancelled."), "stopped");
      });
    });
  }

  form.addEventListener("submit", function (event) {
    var input = form.querySelector("input[type=file]");
    var role = form.querySelector("select[name=role]").value;
    if (!input.files.length) return;  // let the server say what is missing
    event.preventDefault();
    var files = Array.prototype.slice.call(input.files);
    var rows = files.map(function (file) {
      var row = new Row(file, role);
      if (file.size > config.maxBytes) {
        row.say(say(gettext("Too large: files up to %(size)s."), { size: human(config.maxBytes) }), "refused");
        return null;
      }
      if (file.size === 0) { row.say(gettext("This file is empty."), "refused"); return null; }
      row.say(gettext("Waiting…"), "waiting");
      return row;
    }).filter(Boolean);
    input.value = "";
    // One at a time, in the order chosen: album tracks keep their order.
    rows.reduce(function (chain, row) {
      return chain.then(function () { return run(row); });
    }, Promise.resolve());
  });
})();
