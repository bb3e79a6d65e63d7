// The "Nuevo cliente" page: sends the fields to the server as the admin types and shows what
// it answers. No rule lives here: every message, which fields show and the file come from the
// server (provisioner/form/checks.py). Secret fields are sent only as "given or not".
"use strict";

(function () {
  const form = document.getElementById("tenant-form");
  if (!form) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const touched = new Set();
  let submitted = false;
  let sequence = 0;
  let timer = null;

  function collect() {
    const payload = {};
    for (const el of form.elements) {
      if (!el.name) continue;
      if (el.hasAttribute("data-secret")) {
        payload[el.name] = el.type === "file" ? el.files.length > 0 : el.value !== "";
      } else if (el.hasAttribute("data-list")) {
        payload[el.name] = payload[el.name] || [];
        if (el.checked) payload[el.name].push(el.value);
      } else if (el.type === "checkbox") {
        payload[el.name] = el.checked;
      } else if (el.type === "radio") {
        if (el.checked) payload[el.name] = el.value;
      } else {
        payload[el.name] = el.value;
      }
    }
    return payload;
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok && !("fields" in data)) {
      throw new Error(data.error || ("HTTP " + response.status));
    }
    return data;
  }

  function showGeneral(messages) {
    const box = document.getElementById("general");
    box.replaceChildren();
    for (const m of messages) {
      const p = document.createElement("p");
      p.className = "msg " + m.severity;
      p.textContent = m.text;
      box.appendChild(p);
    }
  }

  function render(result) {
    for (const box of form.querySelectorAll("[data-field]")) {
      const name = box.dataset.field;
      if (name in result.visible) box.hidden = !result.visible[name];
    }
    for (const el of form.querySelectorAll("[data-messages-for]")) {
      const name = el.dataset.messagesFor;
      const shown = submitted || touched.has(name) ? (result.fields[name] || []) : [];
      el.textContent = shown.map((m) => m.text).join(" · ");
      const error = shown.some((m) => m.severity === "error");
      el.className = "msg" + (error ? " error" : shown.length ? " warning" : "");
      const input = document.getElementById("f-" + name);
      if (input) {
        if (error) input.setAttribute("aria-invalid", "true");
        else input.removeAttribute("aria-invalid");
      }
    }
    showGeneral(result.general || []);
    if (result.yaml) document.getElementById("yaml").textContent = result.yaml;
    if (result.path) document.getElementById("yaml-path").textContent = result.path;
  }

  async function check() {
    const mine = ++sequence;
    try {
      const result = await post("/api/check", collect());
      if (mine === sequence) render(result);
    } catch (err) {
      showGeneral([{text: "No se pudo validar: " + err.message, severity: "error"}]);
    }
  }

  function later(delay) {
    clearTimeout(timer);
    timer = setTimeout(check, delay);
  }

  function fieldOf(el) {
    return el.hasAttribute("data-list") ? "modules" : el.name;
  }

  function setPreset(radio) {
    if (!radio.value) return;
    const modules = new Set(radio.dataset.modules.split(" "));
    for (const box of form.querySelectorAll("[data-module]")) {
      box.checked = modules.has(box.value);
    }
    for (const box of form.querySelectorAll("[data-parent]")) {
      box.checked = modules.has(box.dataset.parent);
    }
  }

  // the dialog's tree: a module takes its levels along; a level ticks its module
  function treeClick(el) {
    if (el.dataset.module) {
      for (const box of form.querySelectorAll(`[data-parent="${el.value}"]`)) {
        box.checked = el.checked;
      }
    } else if (el.dataset.parent && el.checked) {
      document.getElementById("m-" + el.dataset.parent).checked = true;
    }
  }

  form.addEventListener("input", (event) => {
    const el = event.target;
    if (!el.name || el.type === "checkbox" || el.type === "radio") return;
    touched.add(fieldOf(el));
    later(300);
  });
  form.addEventListener("change", (event) => {
    const el = event.target;
    if (!el.name) return;
    touched.add(fieldOf(el));
    if (el.name === "preset") setPreset(el);
    if (el.hasAttribute("data-list")) treeClick(el);
    later(0);
  });
  form.addEventListener("focusout", (event) => {
    const el = event.target;
    if (el.name && !touched.has(fieldOf(el)) && el.value !== "" && el.type !== "checkbox") {
      touched.add(fieldOf(el));
      later(0);
    }
  });

  document.getElementById("ruc-lookup").addEventListener("click", async () => {
    const note = document.getElementById("ruc-note");
    note.textContent = "Consultando…";
    try {
      const found = await post("/api/ruc", {ruc: form.elements.ruc.value});
      note.textContent = found.notes.join(" ");
      if (found.found) {
        form.elements.company_name.value = found.name;
        touched.add("company_name");
      }
    } catch (err) {
      note.textContent = "No se pudo consultar: " + err.message;
    }
    touched.add("ruc");
    later(0);
  });

  check();  // what concerns the whole form (the account cap) shows from the start

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submitted = true;
    clearTimeout(timer);
    const button = document.getElementById("save");
    button.disabled = true;
    button.textContent = "Guardando…";
    const mine = ++sequence;
    try {
      const result = await post("/api/save", collect());
      if (result.ok && result.result_url) {
        window.location.assign(result.result_url);
        return;
      }
      if (mine === sequence) render(result);
      const invalid = form.querySelector('[aria-invalid="true"]');
      if (invalid) invalid.focus();
    } catch (err) {
      showGeneral([{text: "No se pudo guardar: " + err.message, severity: "error"}]);
    }
    button.disabled = false;
    button.textContent = "Guardar";
  });
})();
