// The official @microsoft/signalr client under Node as a benchmark receiver (see bench/README.md).
// Usage: node bench/official_client.mjs http://127.0.0.1:PORT
// The package comes from the repository's node_modules, or from the directory PORTOS_SIGNALR
// names (an installed @microsoft/signalr package) when set.
// It logs in on its own device, connects as the PORTOS docs show, subscribes to tickets, prints
// {"ready": true} and then obeys JSON commands on stdin, one per line:
//   {"cmd": "round", "id": ID}            start counting; answers {"armed": ID}
//   {"cmd": "finish", "id": ID, "count": N, "grace": S}
//       wait until N distinct ticket changes arrived or S seconds passed; answers the round's
//       figures (latency = receipt time - the notification's `ca`, in ms)
//   {"cmd": "quit"}
import { createRequire } from "node:module";
import readline from "node:readline";

const signalR = process.env.PORTOS_SIGNALR
  ? createRequire(import.meta.url)(process.env.PORTOS_SIGNALR)
  : await import("@microsoft/signalr");

const base = process.argv[2];
const RESOURCES = "portos.resources.changed";

function say(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
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

let round = null;

function record(message) {
  const now = Date.now();
  if (round === null || message.e !== RESOURCES || !message.p || !message.p.i) return;
  round.latencies.push(now - Date.parse(message.ca));
  const key = `${message.p.i.i}/${message.p.i.v}`;
  round.seen.set(key, (round.seen.get(key) || 0) + 1);
}

function percentile(sorted, fraction) {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.round(fraction * sorted.length) - 1));
  return sorted[rank];
}

function summary(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted.length ? sorted[sorted.length - 1] : 0,
  };
}

async function finish(command) {
  const deadline = Date.now() + command.grace * 1000;
  while (round.seen.size < command.count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const cpu = process.cpuUsage(round.cpu);
  const tenth = Math.max(1, Math.floor(round.latencies.length / 10));
  const result = {
    id: command.id,
    received: round.latencies.length,
    unique: round.seen.size,
    latency_ms: summary(round.latencies),
    first_tenth_p50: summary(round.latencies.slice(0, tenth)).p50,
    last_tenth_p50: summary(round.latencies.slice(-tenth)).p50,
    cpu_s: (cpu.user + cpu.system) / 1e6,
    rss_kib: Math.round(process.memoryUsage().rss / 1024),
    hwm_kib: process.resourceUsage().maxRSS,
  };
  round = null;
  say(result);
}

async function main() {
  const token = await login("BackOffice");
  const connection = new signalR.HubConnectionBuilder()
    .withUrl(base + "/signalr/v1/mainHub", { accessTokenFactory: () => token })
    .configureLogging(signalR.LogLevel.Warning)
    .build();
  connection.on("OnEvent", record);
  await connection.start();
  await connection.invoke("Subscribe", { e: RESOURCES, r: [{ n: "tickets" }] });
  say({ ready: true });
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    const command = JSON.parse(line);
    if (command.cmd === "round") {
      round = { latencies: [], seen: new Map(), cpu: process.cpuUsage() };
      say({ armed: command.id });
    } else if (command.cmd === "finish") {
      await finish(command);
    } else if (command.cmd === "quit") {
      break;
    }
  }
  await connection.stop();
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
  process.exit(1);
});
