// Drives the PORTOS simulator with the official @microsoft/signalr client, exactly as the PORTOS
// docs' JavaScript example does, and prints one JSON verdict line: {"ok", "checks": {...}}.
// Usage: node tests/js/conformance.mjs http://127.0.0.1:PORT
import * as signalR from "@microsoft/signalr";

const base = process.argv[2];
const RESOURCES = "portos.resources.changed";
const LICENSE = "portos.licence.activated";
const checks = {};

function check(name, ok, detail) {
  checks[name] = { ok: Boolean(ok), detail: detail === undefined ? null : detail };
}

async function login(device) {
  const reply = await fetch(`${base}/api/auth`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ UserName: "admin", Password: "portos", DeviceName: device }),
  });
  if (reply.status !== 200) throw new Error(`login on ${device}: HTTP ${reply.status}`);
  return (await reply.json()).tokenId;
}

async function api(token, method, path, body) {
  const reply = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (reply.status >= 400) throw new Error(`${method} ${path}: HTTP ${reply.status}`);
  return reply.status === 204 ? null : reply.json();
}

async function waitFor(predicate, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (predicate()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return predicate();
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

// One connection built as the docs show: accessTokenFactory, on("OnEvent"), start().
async function connect(token) {
  const received = [];
  const connection = new signalR.HubConnectionBuilder()
    .withUrl(base + "/signalr/v1/mainHub", { accessTokenFactory: () => token })
    .configureLogging(signalR.LogLevel.Warning)
    .build();
  connection.on("OnEvent", function (message) {
    received.push(message);
  });
  await connection.start();
  return { connection, received };
}

const ofTicket = (received, id, action) =>
  received.filter((m) => m.e === RESOURCES && m.p && m.p.i && m.p.i.i === id && m.p.a === action);

async function main() {
  const token = await login("HomeAssistant");
  const till = await login("P01");

  // A: tickets created/deleted only, plus the license event. B: another resource only. C: everything.
  const ticketsSubscription = { e: RESOURCES, r: [{ n: "tickets", a: ["created", "deleted"] }] };
  const licenseSubscription = { e: LICENSE };
  const a = await connect(token);
  const b = await connect(token);
  const c = await connect(token);
  check("started", a.connection.state === signalR.HubConnectionState.Connected, a.connection.state);
  check("connection_id", typeof a.connection.connectionId === "string", a.connection.connectionId);
  await a.connection.invoke("Subscribe", ticketsSubscription);
  await a.connection.invoke("Subscribe", licenseSubscription);
  await b.connection.invoke("Subscribe", { e: RESOURCES, r: [{ n: "devices", a: ["created", "updated", "deleted"] }] });
  await c.connection.invoke("Subscribe", { e: RESOURCES });
  check("subscribe_completed", true);

  // Create: A and C get it, B does not.
  const ticket = await api(till, "POST", "/tickets", { name: "Table 7" });
  await waitFor(() => ofTicket(a.received, ticket.id, 1).length && ofTicket(c.received, ticket.id, 1).length);
  const created = ofTicket(a.received, ticket.id, 1)[0];
  check("delivery", created !== undefined, a.received.length);
  if (created) {
    check("envelope_e", created.e === RESOURCES, created.e);
    check(
      "envelope_s",
      created.s && created.s.c === a.connection.connectionId &&
        created.s.u && created.s.u.u === "SYSTEM" && created.s.u.d === "SYSTEM" && created.s.u.f === null,
      created.s,
    );
    check("envelope_r", created.r === null, created.r);
    const ca = Date.parse(created.ca);
    check("envelope_ca", typeof created.ca === "string" && Math.abs(Date.now() - ca) < 60000, created.ca);
    check("envelope_ea", created.ea === null, created.ea);
    const p = created.p || {};
    check("payload_u", p.u && p.u.u === "admin" && p.u.d === "P01" && p.u.f === null, p.u);
    check("payload_n", p.n === "tickets", p.n);
    check("payload_a", p.a === 1, p.a);
    check("payload_i", p.i && p.i.i === ticket.id && p.i.n === "tickets" && p.i.v === 1, p.i);
    check(
      "payload_r",
      Array.isArray(p.r) && p.r.length === 1 && p.r[0].id === ticket.id && p.r[0].name === "Table 7",
      Array.isArray(p.r) ? p.r.length : p.r,
    );
  }

  // Update: C (all actions) gets it; A (created/deleted only) must not.
  await api(till, "PUT", `/tickets/${ticket.id}`, { items: [{ name: "Espresso", unitPrice: 1.6, quantity: { amount: 1 } }] });
  await waitFor(() => ofTicket(c.received, ticket.id, 2).length);
  await settle();
  check("update_reaches_all_actions", ofTicket(c.received, ticket.id, 2).length === 1, c.received.length);
  check("filter_action", ofTicket(a.received, ticket.id, 2).length === 0, a.received.map((m) => m.p && m.p.a));

  // Delete: A gets action 3 with the bumped version.
  await api(till, "DELETE", `/tickets/${ticket.id}`);
  await waitFor(() => ofTicket(a.received, ticket.id, 3).length);
  const deleted = ofTicket(a.received, ticket.id, 3)[0];
  check("delete_delivered", deleted !== undefined && deleted.p.i.v === 3, deleted && deleted.p.i);
  check("filter_resource", b.received.length === 0, b.received.length);

  // License activation: A gets the new license as p; C (resources only) does not.
  const license = await api(till, "POST", "/license/activate");
  await waitFor(() => a.received.some((m) => m.e === LICENSE));
  const activated = a.received.find((m) => m.e === LICENSE);
  check(
    "license_event",
    activated !== undefined && activated.p.remainingDays === 365 &&
      activated.p.expirationTime === license.expirationTime && activated.p.shopId === license.shopId,
    activated && activated.p,
  );
  check("license_filter", !c.received.some((m) => m.e === LICENSE), c.received.length);

  // Unsubscribe with the same payload: A gets no more ticket events (C still does).
  await a.connection.invoke("Unsubscribe", ticketsSubscription);
  const after = await api(till, "POST", "/tickets", { name: "Table 8" });
  await waitFor(() => ofTicket(c.received, after.id, 1).length);
  await settle();
  check("unsubscribe_reference_delivered", ofTicket(c.received, after.id, 1).length === 1, c.received.length);
  check("unsubscribe", ofTicket(a.received, after.id, 1).length === 0, a.received.length);

  // A long order makes a notification of ~16 KB, which the simulator (as Kestrel) sends as a text
  // frame and continuation frames, cut inside two-byte characters: it must arrive whole.
  const items = Array.from({ length: 200 }, (_, n) => ({
    name: `Kapustnica s klobásou ${n}`,
    unitPrice: 4.2,
    quantity: { amount: 1 },
  }));
  const large = await api(till, "PUT", `/tickets/${after.id}`, { items });
  await waitFor(() => ofTicket(c.received, after.id, 2).length);
  const largeEvent = ofTicket(c.received, after.id, 2)[0];
  check(
    "large_event_whole",
    largeEvent !== undefined && JSON.stringify(largeEvent.p.r) === JSON.stringify([large]) &&
      Buffer.byteLength(JSON.stringify(largeEvent)) > 3 * 4096,
    largeEvent && Buffer.byteLength(JSON.stringify(largeEvent)),
  );

  // An invalid subscription is refused with a hub error, and the connection survives it.
  let refused = null;
  try {
    await a.connection.invoke("Subscribe", { r: [] });
  } catch (err) {
    refused = String(err && err.message);
  }
  check("invalid_subscribe_rejected", refused !== null, refused);
  check("connection_survives_error", a.connection.state === signalR.HubConnectionState.Connected, a.connection.state);

  await Promise.all([a.connection.stop(), b.connection.stop(), c.connection.stop()]);
  check("stopped", a.connection.state === signalR.HubConnectionState.Disconnected, a.connection.state);
}

try {
  await main();
} catch (err) {
  check("no_exception", false, String(err && err.stack ? err.stack : err));
}
const ok = Object.values(checks).every((c) => c.ok);
process.stdout.write(JSON.stringify({ ok, checks }) + "\n");
process.exit(ok ? 0 : 1);
