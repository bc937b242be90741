// @ts-check
/**
 * The customer page: pairs a wallet, lists connections, imports and requests.
 *
 * Types come from the gateway's OpenAPI document (examples/portal/typecheck generates
 * them), so a renamed field fails the type check instead of the page.
 * Everything goes through this portal's backend (/api/...), which holds the portal token,
 * except the pairing's QR code and live state: those the browser reads from the gateway
 * itself with the pairing's status token.
 */
"use strict";

/** @typedef {import("../typecheck/generated/gateway").components["schemas"]} Schemas */
/** @typedef {Schemas["PairingView"]} PairingView */
/** @typedef {Schemas["PairingState"]} PairingState */
/** @typedef {Schemas["ConnectionList"]} ConnectionList */
/** @typedef {Schemas["ConnectionView"]} ConnectionView */
/** @typedef {Schemas["ImportEntry"]} ImportEntry */
/** @typedef {Schemas["RequestList"]} RequestList */
/** @typedef {Schemas["RequestView"]} RequestView */
/**
 * A problem+json body: the gateway's, passed through by the backend, or the backend's own
 * (`not_signed_in`, `gateway_unavailable`, `gateway_without_status_token`, and the gateway's
 * own `invalid_parameter` and `pairing_not_found`).
 * @typedef {Omit<Schemas["Problem"], "error_code">
 *   & { error_code: Schemas["Problem"]["error_code"] | "not_signed_in" | "gateway_unavailable"
 *     | "gateway_without_status_token" }} Problem
 */
/**
 * What the backend hands the browser when a pairing starts: the gateway's view minus
 * `connect_uri` and `subject_ref`, with the status token (present in the answer to
 * `POST /v1/pairings`) and the URL of the pairing's state.
 * @typedef {Pick<PairingView, "pairing_id" | "state" | "qr_svg_url" | "events_url" | "expires_at" | "attempts_left">
 *   & { status_token: NonNullable<PairingView["status_token"]>, status_url: string }} StartedPairing
 */
/** @typedef {{ name: string, subject_ref: string }} Me */

/** @type {PairingState[]} */
const STATES = ["pending", "scanned", "connected", "expired", "cancelled"];
/** @type {PairingState[]} */
const FINAL = ["connected", "expired", "cancelled"];
/** @type {Record<PairingState, string>} */
const MESSAGES = {
  pending: "Waiting for your wallet app to scan the code.",
  scanned: "Scanned. Type the 6-digit code your wallet app shows.",
  connected: "Connected. Your wallet is linked to your account.",
  expired: "The code expired. Start again to connect a wallet.",
  cancelled: "Connecting was cancelled. Start again to connect a wallet.",
};
const POLL_MS = 2000;

/** A gateway or backend error, with its problem+json body. */
class ProblemError extends Error {
  /** @param {Partial<Problem> & { status: number }} problem */
  constructor(problem) {
    super(problem.detail || problem.title || `HTTP ${problem.status}`);
    this.problem = problem;
  }
}

/**
 * @template T
 * @param {string} path
 * @param {RequestInit} [init]
 * @returns {Promise<T>}
 */
async function api(path, init = {}) {
  const response = await fetch(path, {
    ...init,
    credentials: "same-origin",
    headers: { Accept: "application/json", ...(init.body ? { "Content-Type": "application/json" } : {}) },
  });
  if (!response.ok) {
    /** @type {Partial<Problem> & { status: number }} */
    let problem = { status: response.status, title: response.statusText };
    try {
      problem = { ...problem, ...(await response.json()) };
    } catch {
      // Not JSON: a proxy's page, say. The status is all we have.
    }
    if (problem.error_code === "not_signed_in") {
      window.location.assign("/");
    }
    throw new ProblemError(problem);
  }
  return response.status === 204 ? /** @type {T} */ (/** @type {unknown} */ (null)) : response.json();
}

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
function el(id) {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page lacks #${id}`);
  return found;
}

/** @param {unknown} error */
function describe(error) {
  if (error instanceof ProblemError) {
    const code = error.problem.error_code ? ` (${error.problem.error_code})` : "";
    return `${error.message}${code}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** @param {string} text */
function announce(text) {
  el("announce").textContent = text;
}

/** @param {unknown} error */
function showError(error) {
  el("page-error").textContent = describe(error);
}

/**
 * The gateway URL with the status token: what a browser may read of one pairing.
 * @param {string} url
 * @param {string} token
 */
function withToken(url, token) {
  const parsed = new URL(url);
  parsed.searchParams.set("status_token", token);
  return parsed.toString();
}

/** @type {{ pairing: StartedPairing, source: EventSource | null, poll: number | null } | null} */
let current = null;

/** @param {string} iso */
function localTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/**
 * Shows a pairing state, from the event stream, the fallback poll or a confirm answer.
 * @param {Pick<PairingView, "state" | "attempts_left">} view
 */
function showState(view) {
  const status = el("pairing-status");
  if (status.dataset.state === view.state) return;
  status.dataset.state = view.state;
  status.textContent = MESSAGES[view.state];
  el("qr-figure").hidden = view.state !== "pending";
  el("code-form").hidden = view.state !== "scanned";
  el("cancel").hidden = FINAL.includes(view.state);
  el("connect").hidden = !FINAL.includes(view.state);
  if (view.state === "scanned") {
    el("code").focus();
  }
  if (FINAL.includes(view.state)) {
    stopFollowing();
    el("connect").textContent = "Connect another wallet";
    void loadConnections();
  }
}

function stopFollowing() {
  if (!current) return;
  current.source?.close();
  if (current.poll !== null) window.clearInterval(current.poll);
  current.source = null;
  current.poll = null;
}

/**
 * Follows the pairing live through the gateway's events. A browser the gateway's CORS set-up
 * does not admit gets a closed stream at once: then ask our backend every two seconds.
 * @param {StartedPairing} pairing
 */
function follow(pairing) {
  const status = el("pairing-status");
  const source = new EventSource(withToken(pairing.events_url, pairing.status_token));
  status.dataset.live = "events";
  for (const state of STATES) {
    source.addEventListener(state, (event) => {
      /** @type {PairingView} */
      const view = JSON.parse(/** @type {MessageEvent<string>} */ (event).data);
      showState(view);
    });
  }
  source.onerror = () => {
    if (source.readyState !== EventSource.CLOSED || !current || current.source !== source) return;
    current.source = null;
    status.dataset.live = "polling";
    current.poll = window.setInterval(async () => {
      try {
        showState(await api(`/api/pairings/${encodeURIComponent(pairing.pairing_id)}`));
      } catch (error) {
        showError(error);
      }
    }, POLL_MS);
  };
  return source;
}

async function startPairing() {
  el("page-error").textContent = "";
  const button = /** @type {HTMLButtonElement} */ (el("connect"));
  button.disabled = true;
  try {
    stopFollowing();
    /** @type {StartedPairing} */
    const pairing = await api("/api/pairings", { method: "POST", body: "{}" });
    current = { pairing, source: null, poll: null };
    const qr = /** @type {HTMLImageElement} */ (el("qr"));
    qr.src = withToken(pairing.qr_svg_url, pairing.status_token);
    el("expires").textContent = localTime(pairing.expires_at);
    el("expires").setAttribute("datetime", pairing.expires_at);
    (/** @type {HTMLInputElement} */ (el("code"))).value = "";
    el("code-error").textContent = "";
    el("pairing").hidden = false;
    el("pairing-status").dataset.state = "";
    showState(pairing);
    current.source = follow(pairing);
  } catch (error) {
    showError(error);
    button.hidden = false;
  } finally {
    button.disabled = false;
  }
}

/** @param {SubmitEvent} event */
async function confirmCode(event) {
  event.preventDefault();
  if (!current) return;
  const input = /** @type {HTMLInputElement} */ (el("code"));
  const error = el("code-error");
  const code = input.value.trim();
  if (!/^[0-9]{6}$/.test(code)) {
    error.textContent = "The code is 6 digits.";
    input.setAttribute("aria-invalid", "true");
    input.focus();
    return;
  }
  const id = encodeURIComponent(current.pairing.pairing_id);
  const button = /** @type {HTMLButtonElement} */ (el("confirm"));
  button.disabled = true;
  try {
    /** @type {PairingView} */
    const view = await api(`/api/pairings/${id}/confirm`, { method: "POST", body: JSON.stringify({ code }) });
    error.textContent = "";
    input.removeAttribute("aria-invalid");
    showState(view);
  } catch (failure) {
    input.setAttribute("aria-invalid", "true");
    if (failure instanceof ProblemError && failure.problem.error_code === "wrong_code") {
      const left = await attemptsLeft(id);
      error.textContent = left === null ? describe(failure) : `That code is not right. ${left} attempt${left === 1 ? "" : "s"} left.`;
      input.select();
    } else {
      error.textContent = describe(failure);
    }
  } finally {
    button.disabled = false;
  }
}

/**
 * @param {string} id
 * @returns {Promise<number | null>}
 */
async function attemptsLeft(id) {
  try {
    /** @type {PairingView} */
    const view = await api(`/api/pairings/${id}`);
    if (FINAL.includes(view.state)) showState(view);
    return view.attempts_left;
  } catch {
    return null;
  }
}

async function cancelPairing() {
  if (!current) return;
  try {
    /** @type {PairingView} */
    const view = await api(`/api/pairings/${encodeURIComponent(current.pairing.pairing_id)}`, { method: "DELETE" });
    showState(view);
  } catch (error) {
    showError(error);
  }
}

/**
 * @param {string} tag
 * @param {string} text
 * @param {string} [className]
 */
function make(tag, text, className) {
  const node = document.createElement(tag);
  node.textContent = text;
  if (className) node.className = className;
  return node;
}

async function loadConnections() {
  try {
    /** @type {ConnectionList} */
    const list = await api("/api/connections");
    const items = list.connections.map((connection) => connectionItem(connection));
    el("connections").replaceChildren(...items);
    el("connections-empty").hidden = items.length > 0;
  } catch (error) {
    showError(error);
  }
}

/** @param {ConnectionView} connection */
function connectionItem(connection) {
  const item = document.createElement("li");
  item.dataset.connectionId = connection.connection_id;
  item.dataset.state = connection.state;
  const name = `Wallet ${connection.wallet_kid.slice(0, 8)}`;
  const since = connection.state === "revoked" && connection.revoked_at
    ? `revoked ${localTime(connection.revoked_at)}`
    : `connected ${localTime(connection.created_at)}`;
  item.append(make("span", `${name}: ${since}`));
  if (connection.state === "active") {
    const revoke = make("button", "Revoke", "secondary");
    revoke.setAttribute("aria-label", `Revoke ${name}`);
    revoke.addEventListener("click", () => void revokeConnection(connection, name));
    item.append(revoke);
  }
  return item;
}

/**
 * @param {ConnectionView} connection
 * @param {string} name
 */
async function revokeConnection(connection, name) {
  try {
    await api(`/api/connections/${encodeURIComponent(connection.connection_id)}`, { method: "DELETE" });
    announce(`${name} is revoked: it can no longer reach your data.`);
    await loadConnections();
    el("connections-heading").focus();
  } catch (error) {
    showError(error);
  }
}

async function loadImports() {
  try {
    /** @type {{ imports: ImportEntry[] }} */
    const list = await api("/api/imports");
    const items = list.imports.map((entry) => {
      const item = make("li", `${entry.issuer}: ${entry.categories.join(", ")} (received ${localTime(entry.received_at)})`);
      item.dataset.importId = entry.import_id;
      return item;
    });
    el("imports").replaceChildren(...items);
    el("imports-empty").hidden = items.length > 0;
  } catch (error) {
    showError(error);
  }
}

async function loadRequests() {
  try {
    /** @type {RequestList} */
    const list = await api("/api/requests");
    const rows = list.requests.map((request) => requestRow(request));
    el("requests-rows").replaceChildren(...rows);
    el("requests").hidden = rows.length === 0;
    el("requests-empty").hidden = rows.length > 0;
  } catch (error) {
    showError(error);
  }
}

/** @param {RequestView} request */
function requestRow(request) {
  const row = document.createElement("tr");
  const state = request.state === "open" ? `open (${request.phase})` : request.state;
  row.append(make("td", request.number), make("td", request.type), make("td", state), make("td", request.due_on));
  const receipt = document.createElement("td");
  if (request.state !== "open") {
    const link = make("a", "Signed receipt");
    link.setAttribute("href", `/api/requests/${encodeURIComponent(request.id)}/receipt`);
    link.setAttribute("download", "");
    link.setAttribute("aria-label", `Signed receipt of request ${request.number}`);
    receipt.append(link);
  } else {
    receipt.textContent = "when answered";
  }
  row.append(receipt);
  return row;
}

async function start() {
  el("connections-heading").tabIndex = -1;
  el("connect").addEventListener("click", () => void startPairing());
  el("cancel").addEventListener("click", () => void cancelPairing());
  el("code-form").addEventListener("submit", (event) => void confirmCode(/** @type {SubmitEvent} */ (event)));
  try {
    /** @type {Me} */
    const me = await api("/api/me");
    el("who").textContent = `Signed in as ${me.name}`;
  } catch (error) {
    showError(error);
    return;
  }
  await Promise.all([loadConnections(), loadImports(), loadRequests()]);
}

document.addEventListener("DOMContentLoaded", () => void start());
