// The segment builder: rows of (subject, operator, value) under "all of"/"any of",
// with one level of groups. It keeps the hidden #id_definition (JSON) in step and
// asks the preview endpoint for the live count and the first matching clients.
(function () {
  "use strict";
  const root = document.getElementById("segment-builder");
  const hidden = document.getElementById("id_definition");
  if (!root || !hidden) return;
  const options = JSON.parse(document.getElementById("segment-builder-options").textContent);
  const text = root.dataset;
  const readonly = text.readonly === "1";
  const noValue = new Set(options.noValue);
  // "within the last N days" / "more than N days ago": the value is a whole number of days.
  const relative = new Set(options.relative);
  const fieldsByKey = Object.fromEntries(options.fields.map((f) => [f.key, f]));

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([key, value]) => {
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    });
    (children || []).forEach((child) => node.appendChild(child));
    if (readonly && ["SELECT", "INPUT", "BUTTON"].includes(node.tagName)) node.disabled = true;
    return node;
  }

  function select(choices, value, label) {
    const box = el("select", { class: "form-select form-select-sm", "aria-label": label || "" });
    choices.forEach(([val, name]) => {
      const option = el("option", { value: String(val), text: name });
      if (String(val) === String(value ?? "")) option.selected = true;
      box.appendChild(option);
    });
    return box;
  }

  function subjects() {
    const list = options.fields.map((f) => ["field:" + f.key, f.label]);
    Object.entries(options.kinds).forEach(([kind, info]) => list.push([kind, info.label]));
    return list;
  }

  function subjectOf(condition) {
    return condition.kind === "field" ? "field:" + condition.field : condition.kind;
  }

  function operatorsOf(subject) {
    if (subject.startsWith("field:")) return (fieldsByKey[subject.slice(6)] || { ops: [] }).ops;
    return (options.kinds[subject] || { ops: [] }).ops;
  }

  // --- the model: a plain object, re-rendered on every change -------------------------

  let state;
  try {
    state = JSON.parse(hidden.value || "null");
  } catch (error) {
    state = null;
  }
  if (!state || !Array.isArray(state.conditions)) state = { match: "all", conditions: [] };
  if (!state.conditions.length && !readonly) state.conditions.push(newCondition());

  function newCondition() {
    const first = subjects()[0][0];
    return conditionFor(first);
  }

  function conditionFor(subject) {
    const op = operatorsOf(subject)[0];
    if (subject.startsWith("field:")) return { kind: "field", field: subject.slice(6), op: op };
    return { kind: subject, op: op };
  }

  function valueInputs(condition, onChange) {
    const inputs = [];
    const set = (key) => (event) => {
      condition[key] = event.target.value;
      onChange();
    };
    const listChoices = [["", text.textChoose]].concat(options.lists.map((l) => [l.id, l.name]));
    const mailingChoices = (first) => [["", first]].concat(options.mailings.map((m) => [m.id, m.name]));
    if (condition.kind === "list" || condition.kind === "subscribed_at") {
      const box = select(listChoices, condition.list, options.kinds.list.label);
      box.addEventListener("change", set("list"));
      inputs.push(box);
    }
    if (condition.kind === "history" && condition.op !== "never_sent") {
      const first = condition.op === "failed" ? text.textAnyMailing : text.textChoose;
      const box = select(mailingChoices(first), condition.mailing, options.kinds.history.label);
      box.addEventListener("change", set("mailing"));
      inputs.push(box);
    }
    if ((condition.kind === "subscribed_at" || condition.kind === "added") && relative.has(condition.op)) {
      inputs.push(...daysInput(condition, onChange));
    } else if (condition.kind === "subscribed_at" || condition.kind === "added") {
      inputs.push(valueInput("date", condition, onChange));
    }
    if (condition.kind === "email") inputs.push(valueInput("text", condition, onChange));
    if (condition.kind === "field" && !noValue.has(condition.op)) {
      const field = fieldsByKey[condition.field];
      if (field && field.type === "choice" && ["equals", "not_equals"].includes(condition.op)) {
        const box = select([["", text.textChoose]].concat(field.choices.map((c) => [c, c])), condition.value, field.label);
        box.addEventListener("change", set("value"));
        inputs.push(box);
      } else if (relative.has(condition.op)) {
        inputs.push(...daysInput(condition, onChange));
      } else {
        const type = field && field.type === "date" ? "date" : field && field.type === "number" ? "number" : "text";
        inputs.push(valueInput(type, condition, onChange));
      }
    }
    return inputs;
  }

  function valueInput(type, condition, onChange) {
    const input = el("input", { type: type, class: "form-control form-control-sm", "aria-label": "value" });
    if (type === "number") input.step = "any";
    input.value = condition.value ?? "";
    input.addEventListener("input", () => {
      condition.value = input.value;
      onChange(true);
    });
    return input;
  }

  // The number of days and what follows it ("days" / "days ago").
  function daysInput(condition, onChange) {
    const input = valueInput("number", condition, onChange);
    input.step = "1";
    input.min = "1";
    input.max = String(options.maxDays);
    input.setAttribute("aria-label", options.units[condition.op]);
    return [input, el("span", { class: "small text-muted", text: options.units[condition.op] })];
  }

  function conditionRow(condition, siblings, onChange) {
    const row = el("div", { class: "d-flex flex-wrap gap-2 align-items-center mb-2", "data-condition": "" });
    const subject = select(subjects(), subjectOf(condition), "subject");
    subject.classList.add("w-auto");
    subject.addEventListener("change", () => {
      siblings[siblings.indexOf(condition)] = conditionFor(subject.value);
      render();
    });
    const ops = operatorsOf(subjectOf(condition)).map((op) => [op, options.ops[op]]);
    const operator = select(ops, condition.op, "operator");
    operator.classList.add("w-auto");
    operator.addEventListener("change", () => {
      // A date does not make a number of days, nor the other way round: start that value afresh.
      if (relative.has(condition.op) !== relative.has(operator.value)) delete condition.value;
      condition.op = operator.value;
      render();
    });
    row.append(subject, operator, ...valueInputs(condition, onChange).map((input) => {
      if (input.tagName !== "SPAN") input.classList.add("w-auto", "flex-grow-1");
      return input;
    }));
    if (!readonly) {
      const remove = el("button", { type: "button", class: "btn btn-sm btn-link text-danger", text: text.textRemove });
      remove.addEventListener("click", () => {
        siblings.splice(siblings.indexOf(condition), 1);
        render();
      });
      row.appendChild(remove);
    }
    return row;
  }

  function matchSelect(group, label) {
    const box = select([["all", text.textAll], ["any", text.textAny]], group.match, label);
    box.classList.add("w-auto", "d-inline-block");
    box.addEventListener("change", () => {
      group.match = box.value;
      changed();
    });
    return box;
  }

  function groupBlock(group, onChange) {
    const block = el("div", { class: "border rounded p-2 mb-2 bg-body-tertiary", "data-group": "" });
    const head = el("div", { class: "d-flex flex-wrap gap-2 align-items-center mb-2" }, [
      el("span", { text: text.textGroup }),
      matchSelect(group, text.textGroup),
    ]);
    if (!readonly) {
      const remove = el("button", { type: "button", class: "btn btn-sm btn-link text-danger", text: text.textRemove });
      remove.addEventListener("click", () => {
        state.conditions.splice(state.conditions.indexOf(group), 1);
        render();
      });
      head.appendChild(remove);
    }
    block.appendChild(head);
    group.conditions.forEach((condition) => block.appendChild(conditionRow(condition, group.conditions, onChange)));
    if (!readonly) {
      const add = el("button", { type: "button", class: "btn btn-sm btn-outline-secondary", text: text.textAdd });
      add.addEventListener("click", () => {
        group.conditions.push(newCondition());
        render();
      });
      block.appendChild(add);
    }
    return block;
  }

  function render() {
    root.replaceChildren();
    root.appendChild(
      el("div", { class: "d-flex flex-wrap gap-2 align-items-center mb-2" }, [
        el("span", { text: text.textMatch }),
        matchSelect(state, text.textMatch),
      ]),
    );
    state.conditions.forEach((item) => {
      root.appendChild(item.match ? groupBlock(item, changed) : conditionRow(item, state.conditions, changed));
    });
    if (!readonly) {
      const add = el("button", { type: "button", class: "btn btn-sm btn-outline-primary me-2", text: text.textAdd });
      add.addEventListener("click", () => {
        state.conditions.push(newCondition());
        render();
      });
      const addGroup = el("button", { type: "button", class: "btn btn-sm btn-outline-secondary", text: text.textAddGroup });
      addGroup.addEventListener("click", () => {
        state.conditions.push({ match: "any", conditions: [newCondition()] });
        render();
      });
      root.append(add, addGroup);
    }
    changed();
  }

  // --- the hidden field and the live count -----------------------------------------------

  let timer = null;
  let asked = 0;

  function changed(typing) {
    hidden.value = JSON.stringify(state);
    clearTimeout(timer);
    timer = setTimeout(refresh, typing ? 400 : 50);
  }

  function refresh() {
    const mine = ++asked;
    const url = text.previewUrl + "?definition=" + encodeURIComponent(hidden.value);
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((response) => response.json())
      .then((data) => {
        if (mine === asked) show(data);
      })
      .catch(() => {});
  }

  function show(data) {
    const count = document.getElementById("segment-count");
    const subscribed = document.getElementById("segment-subscribed");
    const errors = document.getElementById("segment-errors");
    const preview = document.getElementById("segment-preview");
    preview.replaceChildren();
    errors.replaceChildren();
    if (!data.ok) {
      count.textContent = "—";
      subscribed.textContent = "";
      data.errors.forEach((message) => errors.appendChild(el("div", { text: message })));
      return;
    }
    count.textContent = data.matching.toLocaleString();
    subscribed.textContent = subscribed.dataset.text.replace("{n}", data.subscribed.toLocaleString());
    data.preview.forEach((client) => {
      const item = el("li", { class: "list-group-item px-0 text-break" });
      item.appendChild(el("a", { href: client.url, text: client.email }));
      if (client.name) item.appendChild(document.createTextNode(" — " + client.name));
      if (!client.subscribed) {
        item.appendChild(document.createTextNode(" "));
        item.appendChild(el("span", { class: "badge text-bg-warning", text: preview.dataset.textUnsubscribed }));
      }
      preview.appendChild(item);
    });
  }

  render();
})();
