// Recipient picker for the mailing form: search-as-you-type against the
// workspace's clients (a paginated JSON endpoint), and a list of the chosen
// ones, posted as one hidden `clients` field ("12,57,301"). Never loads every
// client, and the POST stays one field however many are chosen.
(function () {
  "use strict";
  const picker = document.getElementById("recipient-picker");
  if (!picker) return;
  const labels = picker.dataset;
  const search = document.getElementById("client-search");
  const results = document.getElementById("client-results");
  const more = document.getElementById("client-more");
  const addShown = document.getElementById("client-add-shown");
  const chosen = document.getElementById("chosen-clients");
  const count = document.getElementById("chosen-count");
  const field = document.getElementById("id_clients");
  let page = 1;
  let timer = null;
  let request = 0;

  function chosenIds() {
    return new Set(Array.from(chosen.querySelectorAll("li[data-client-id]"), (item) => item.dataset.clientId));
  }

  function describe(client) {
    const text = client.name ? `${client.name} <${client.email}>` : client.email;
    const span = document.createElement("span");
    span.textContent = text;
    if (!client.subscribed) {
      const badge = document.createElement("span");
      badge.className = "badge text-bg-warning ms-1";
      badge.textContent = labels.labelUnsubscribed;
      span.append(badge);
    }
    return span;
  }

  function updateChosen() {
    const ids = chosenIds();
    count.textContent = ids.size;
    field.value = Array.from(ids).join(",");
  }

  function choose(client) {
    if (chosenIds().has(String(client.id))) return;
    const item = document.createElement("li");
    item.className = "list-group-item d-flex justify-content-between align-items-center";
    item.dataset.clientId = client.id;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "btn btn-sm btn-link text-danger";
    remove.dataset.remove = "";
    remove.textContent = labels.labelRemove;
    item.append(describe(client), remove);
    chosen.append(item);
    updateChosen();
  }

  function showResults(data, append) {
    if (!append) results.replaceChildren();
    const already = chosenIds();
    for (const client of data.results) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "list-group-item list-group-item-action d-flex justify-content-between align-items-center";
      button.dataset.clientId = client.id;
      const badge = document.createElement("span");
      button.append(describe(client), badge);
      const markChosen = (isChosen) => {
        button.disabled = isChosen;
        badge.className = isChosen ? "badge text-bg-secondary" : "badge text-bg-primary";
        badge.textContent = isChosen ? labels.labelChosen : labels.labelAdd;
      };
      markChosen(already.has(String(client.id)));
      button.addEventListener("click", () => {
        choose(client);
        markChosen(true);
      });
      results.append(button);
    }
    if (!append && data.results.length === 0) {
      const empty = document.createElement("div");
      empty.className = "list-group-item text-muted";
      empty.textContent = labels.labelNothing;
      results.append(empty);
    }
    more.hidden = !data.has_more;
    addShown.hidden = results.querySelectorAll("button:not(:disabled)").length === 0;
  }

  async function load(append) {
    const mine = ++request;
    const url = new URL(labels.searchUrl, window.location.href);
    url.searchParams.set("q", search.value);
    url.searchParams.set("page", page);
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error(response.status);
      const data = await response.json();
      if (mine === request) showResults(data, append);
    } catch (error) {
      if (mine !== request) return;
      results.replaceChildren();
      const failed = document.createElement("div");
      failed.className = "list-group-item text-danger";
      failed.textContent = labels.labelError;
      results.append(failed);
    }
  }

  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      page = 1;
      load(false);
    }, 250);
  });
  // Enter in the search box must not submit the mailing form.
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") event.preventDefault();
  });
  more.addEventListener("click", () => {
    page += 1;
    load(true);
  });
  addShown.addEventListener("click", () => {
    results.querySelectorAll("button:not(:disabled)").forEach((button) => button.click());
    addShown.hidden = true;
  });
  document.getElementById("chosen-clear").addEventListener("click", () => {
    chosen.replaceChildren();
    updateChosen();
    results.querySelectorAll("button[data-client-id]").forEach((button) => {
      button.disabled = false;
      button.lastElementChild.className = "badge text-bg-primary";
      button.lastElementChild.textContent = labels.labelAdd;
    });
    addShown.hidden = results.querySelectorAll("button[data-client-id]").length === 0;
  });
  chosen.addEventListener("click", (event) => {
    const remove = event.target.closest("[data-remove]");
    if (!remove) return;
    const id = remove.closest("li").dataset.clientId;
    remove.closest("li").remove();
    updateChosen();
    // The client can be added again from the results.
    const button = results.querySelector(`button[data-client-id="${id}"]`);
    if (button) {
      button.disabled = false;
      button.lastElementChild.className = "badge text-bg-primary";
      button.lastElementChild.textContent = labels.labelAdd;
      addShown.hidden = false;
    }
  });
  document.querySelectorAll("input[name=audience]").forEach((radio) => {
    radio.addEventListener("change", () => {
      picker.hidden = document.querySelector("input[name=audience]:checked").value !== "selected";
      if (!picker.hidden && !results.childElementCount) load(false);
    });
  });
  // Ids the page could not show (a client deleted meanwhile) are dropped here.
  updateChosen();
  if (!picker.hidden) load(false);
})();
