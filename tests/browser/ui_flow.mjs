// What a person does with PORTOS in Home Assistant's UI, in Debian's Chromium driven by
// playwright-core (never a downloaded browser). Run by tests/browser/test_ui.py against a Home
// Assistant and a simulator that scripts/develop started (onboarded, PORTOS not added yet):
//
//   node tests/browser/ui_flow.mjs <home-assistant-url> <simulator-url> <artifacts-dir>
//
// Every step waits for what the UI shows (no fixed sleeps), saves a screenshot into the artifacts
// folder and prints one line; the first failing step saves failure.png, prints why and exits 1.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const [base, simulator, artifacts] = process.argv.slice(2);
if (!base || !simulator || !artifacts) {
  console.error("usage: node ui_flow.mjs <home-assistant-url> <simulator-url> <artifacts-dir>");
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
// The texts the integration shows come from its own English translation, so the test follows
// their wording; what it checks is that they are shown where and when they should be.
const EN = JSON.parse(
  readFileSync(join(root, "custom_components", "portos", "translations", "en.json"), "utf8"),
);
const SHOP = "PORTOS 12345"; // the simulator's default shopId
const EXAMPLE_URL = "http://192.168.1.20:3000";
const TIMEOUT = 30_000;
const started = Date.now();

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
  ],
});
const context = await browser.newContext({
  viewport: { width: 1280, height: 900 },
  acceptDownloads: true,
  locale: "en-US",
});
const page = await context.newPage();
page.setDefaultTimeout(TIMEOUT);
const consoleErrors = [];
page.on("pageerror", (err) => consoleErrors.push(String(err)));

async function shot(name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`) });
}

async function step(name, body) {
  const t0 = Date.now();
  try {
    await body();
  } catch (err) {
    await page.screenshot({ path: join(artifacts, "failure.png") }).catch(() => {});
    console.log(`FAIL ${name}: ${err.message ?? err}`);
    await browser.close();
    process.exit(1);
  }
  console.log(`ok   ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

async function until(what, predicate, timeout = TIMEOUT) {
  // Polls a UI reading until it holds: the state comes over Home Assistant's websocket.
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await predicate();
    if (last === true) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last})`);
    await page.waitForTimeout(200);
  }
}

// The state a person sees in an entity row on the device page, by the row's exact name (rows
// and their parts live in shadow roots; the generic row titles its name).
async function rowText(name) {
  return page.evaluate((wanted) => {
    const text = (node) => {
      let out = "";
      if (node.shadowRoot) out += text(node.shadowRoot);
      for (const child of node.childNodes) {
        if (child.nodeType === Node.TEXT_NODE) out += child.textContent;
        else if (child.nodeType === Node.ELEMENT_NODE) out += ` ${text(child)} `;
      }
      return out;
    };
    const rows = [];
    const find = (node) => {
      if (node.tagName?.endsWith("-ENTITY-ROW") && node.tagName !== "HUI-GENERIC-ENTITY-ROW") {
        rows.push(node);
      }
      if (node.shadowRoot) find(node.shadowRoot);
      for (const child of node.children ?? []) find(child);
    };
    find(document.body);
    for (const row of rows) {
      const generic = row.shadowRoot?.querySelector("hui-generic-entity-row");
      const info = generic?.shadowRoot?.querySelector(".info");
      if (info?.getAttribute("title") !== wanted) continue;
      const seen = text(row).replace(/\s+/g, " ").trim();
      return seen.startsWith(wanted) ? seen.slice(wanted.length).trim() : seen;
    }
    return null;
  }, name);
}

// All the text a person sees in the first element matching a CSS selector (through shadow roots).
async function deepText(selector) {
  return page.evaluate((wanted) => {
    const text = (node) => {
      let out = "";
      if (node.shadowRoot) out += text(node.shadowRoot);
      for (const child of node.childNodes) {
        if (child.nodeType === Node.TEXT_NODE) out += child.textContent;
        else if (child.nodeType === Node.ELEMENT_NODE) out += ` ${text(child)} `;
      }
      return out;
    };
    const find = (node) => {
      if (node.matches?.(wanted)) return node;
      for (const child of [...(node.shadowRoot?.children ?? []), ...(node.children ?? [])]) {
        const found = find(child);
        if (found) return found;
      }
      return null;
    };
    const element = find(document.body);
    return element === null ? "" : text(element).replace(/\s+/g, " ");
  }, selector);
}

async function number(name) {
  const seen = await rowText(name);
  return seen === null ? NaN : Number(seen);
}

// A till (P01, a CashRegister) working through the simulator's REST API, as tests/till.py does.
const till = {
  token: null,
  async call(method, path, body) {
    if (!this.token) {
      const login = await fetch(`${simulator}/api/auth`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ UserName: "admin", Password: "portos", DeviceName: "P01" }),
      });
      if (!login.ok) throw new Error(`till login: HTTP ${login.status}`);
      this.token = (await login.json()).tokenId;
    }
    const reply = await fetch(`${simulator}/api/v1${path}`, {
      method,
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${this.token}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!reply.ok) throw new Error(`till ${method} ${path}: HTTP ${reply.status}`);
    return reply.json();
  },
  open(name) {
    return this.call("POST", "/tickets", { name });
  },
  close(id) {
    return this.call("POST", `/tickets/${id}/close`);
  },
};

const flow = page.locator("dialog-data-entry-flow");
let automationId;

await step("log in as dev", async () => {
  await page.goto(base);
  await page.locator("input[name=username]").fill("dev");
  await page.locator("input[name=password]").fill("dev");
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/(home|lovelace)/);
  await page.locator("ha-sidebar").getByText("Settings", { exact: true }).waitFor();
});

await step("Settings → Devices & services → Add integration → PORTOS", async () => {
  await page.locator("ha-sidebar").getByText("Settings", { exact: true }).click();
  await page.getByText("Devices & services", { exact: true }).click();
  await page.waitForURL(/\/config\/integrations/);
  await page.getByRole("button", { name: "Add integration" }).click();
  // Typed as a person types: the brand list re-renders on each key.
  await page
    .getByRole("textbox", { name: "Search for a brand name" })
    .pressSequentially("PORTOS", { delay: 60 });
  await page.locator("ha-integration-list-item").getByText("PORTOS", { exact: true }).click();
  await flow.getByTitle(EN.config.step.user.title).waitFor();
  await flow.getByRole("textbox", { name: "Server URL" }).waitFor();
  // The example address is shown as text, not as a link to a stranger's LAN.
  await flow.getByText(EXAMPLE_URL).first().waitFor();
  const links = await flow.getByRole("link", { name: EXAMPLE_URL }).count();
  if (links !== 0) throw new Error(`the example URL is a link (${links})`);
  await shot("setup-form");
});

const passwordBox = flow.getByRole("textbox", { name: "Password" });

await step("a wrong password shows the error and keeps what was typed", async () => {
  await flow.getByRole("textbox", { name: "Server URL" }).fill(simulator);
  await flow.getByRole("textbox", { name: "Username" }).fill("admin");
  await passwordBox.fill("not-the-password");
  await flow.getByRole("button", { name: "Submit" }).click();
  await flow.getByText(EN.config.error.invalid_auth).waitFor();
  const kept = await passwordBox.inputValue();
  if (kept !== "not-the-password") throw new Error(`password field holds ${JSON.stringify(kept)}`);
  await shot("wrong-password");
});

await step("a till device (P01, a cash register) is refused", async () => {
  await passwordBox.fill("portos");
  await flow.getByRole("textbox", { name: "Device name" }).fill("P01");
  await flow.getByRole("button", { name: "Submit" }).click();
  await flow.getByText(EN.config.error.wrong_device_type).waitFor();
  if ((await passwordBox.inputValue()) !== "portos") throw new Error("password field was cleared");
  await shot("till-refused");
});

await step("the right data creates the entry and its device", async () => {
  await flow.getByRole("textbox", { name: "Device name" }).fill("HomeAssistant");
  await flow.getByRole("button", { name: "Submit" }).click();
  // Home Assistant's success step: the new device, its name and area, and a finish button.
  await flow.getByRole("button", { name: /finish/i }).waitFor();
  const name = await flow.getByRole("textbox", { name: "Device name" }).inputValue();
  if (name !== SHOP) throw new Error(`the new device is called ${JSON.stringify(name)}`);
  await shot("device-created");
  await flow.getByRole("button", { name: /finish/i }).click();
  await flow.getByRole("button", { name: /finish/i }).waitFor({ state: "detached" });
  await page.getByRole("link", { name: "PORTOS", exact: true }).click();
  await page.waitForURL(/\/config\/integrations\/integration\/portos/);
  await page.getByText(SHOP).first().waitFor();
  await page.getByRole("link", { name: "1 device" }).first().click();
  await page.waitForURL(/\/config\/devices\/device\//);
  await until("Open tickets to show a number", async () => !Number.isNaN(await number("Open tickets")));
  await until("Live updates to be connected", async () => (await rowText("Live updates")) === "Connected");
});

await step("the device page follows a till opening and closing a ticket", async () => {
  const open = await number("Open tickets");
  const closed = await number("Tickets closed today");
  const ticket = await till.open("Table 4");
  await until(`Open tickets ${open + 1}`, async () => (await number("Open tickets")) === open + 1);
  await until("the Tickets event to read Created", async () =>
    (await rowText("Tickets"))?.endsWith("Created") ?? false,
  );
  await shot("device-ticket-open");
  await till.close(ticket.id);
  await until(`Open tickets ${open}`, async () => (await number("Open tickets")) === open);
  await until(
    `Tickets closed today ${closed + 1}`,
    async () => (await number("Tickets closed today")) === closed + 1,
  );
  await until("the Tickets event to read Closed", async () =>
    (await rowText("Tickets"))?.endsWith("Closed") ?? false,
  );
  // The device's Activity: one line per ticket change (the Tickets event entity's), not two.
  await until("two Tickets lines in the Activity", async () => {
    const activity = await deepText("ha-logbook");
    const lines = activity.split("Tickets detected an event").length - 1;
    return lines === 2 || `${lines} lines: ${activity.slice(0, 300)}`;
  });
  if ((await deepText("ha-logbook")).includes("Table 4")) {
    throw new Error("the Activity describes the change a second time");
  }
  await shot("device");
});

await step("an automation built from the device trigger Ticket closed", async () => {
  await page.goto(`${base}/config/automation/edit/new`);
  await page.getByRole("button", { name: "Add trigger" }).click();
  const picker = page.locator("add-automation-element-dialog");
  await picker.getByText("Device", { exact: true }).first().click();
  await picker.getByText("When something happens to a device").click();
  await page.getByText("Select a device").click();
  await page.getByRole("dialog", { name: "Device" }).getByText(SHOP).first().click();
  await page.getByText(EN.device_automation.trigger_type.ticket_created).last().click();
  await page
    .getByRole("dialog", { name: "Trigger" })
    .getByText(EN.device_automation.trigger_type.ticket_closed, { exact: true })
    .click();
  await page.getByRole("button", { name: "Add action" }).click();
  await picker.getByText("Persistent Notification", { exact: true }).click();
  await picker.getByText("Shows a notification on the notifications panel.").click();
  await page
    .locator("ha-automation-sidebar")
    .getByRole("textbox")
    .first()
    .fill("{{ trigger.event.data.resources[0].name }} is paid");
  await shot("automation-editor");
  await page.getByRole("button", { name: "Save" }).click();
  const save = page.locator("ha-dialog-automation-save");
  await save.getByRole("textbox", { name: "Name" }).fill("Table paid");
  await save.getByRole("button", { name: "Save" }).click();
  await page.waitForURL(/\/config\/automation\/edit\/\d+/);
  automationId = page.url().split("/").pop();
});

await step("closing a ticket runs the automation (its notification and trace)", async () => {
  const ticket = await till.open("Table 7");
  await till.close(ticket.id);
  await page.locator("ha-sidebar").getByText("Notifications", { exact: true }).click();
  await page.getByText("Table 7 is paid").waitFor();
  // A trial click waits until the drawer has stopped sliding in, without clicking.
  await page.getByRole("button", { name: "Dismiss" }).first().click({ trial: true });
  await shot("notification");
  await page.keyboard.press("Escape");
  await page.goto(`${base}/config/automation/trace/${automationId}`);
  await page.getByRole("button", { name: "Trace timeline" }).click();
  await page.getByText("Triggered by the event 'portos_event'").waitFor();
  await page.getByText(/Finished at .* \(runtime: /).first().waitFor();
  await shot("automation-trace");
});

await step("the options name the followed records in words", async () => {
  await page.goto(`${base}/config/integrations/integration/portos`);
  await page.getByRole("button", { name: "Configure" }).first().click();
  const labels = EN.selector.resources.options;
  await flow.getByRole("button", { name: labels.tickets, exact: true }).waitFor();
  await flow.getByRole("button", { name: EN.options.step.init.data.resources }).click();
  for (const name of ["orderendpoints", "stocktransfers", "dailysalesreports"]) {
    await page.getByText(labels[name], { exact: true }).waitFor();
    if ((await page.getByText(name, { exact: true }).count()) !== 0) {
      throw new Error(`the raw name ${name} is shown`);
    }
  }
  await shot("options");
  await page.keyboard.press("Escape");
  await flow.getByRole("button", { name: "Close" }).click();
  await flow.getByRole("button", { name: "Submit" }).waitFor({ state: "detached" });
});

await step("diagnostics download, with the secrets redacted", async () => {
  await page.locator("ha-config-entry-row").getByRole("button", { name: "Menu" }).first().click();
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("menuitem", { name: "Download diagnostics" }).click(),
  ]);
  const path = join(artifacts, "diagnostics.json");
  await download.saveAs(path);
  const text = readFileSync(path, "utf8");
  const entry = JSON.parse(text).data?.entry;
  if (entry?.title !== SHOP) throw new Error(`the diagnostics describe ${entry?.title}`);
  for (const key of ["url", "username", "password"]) {
    if (entry.data[key] !== "**REDACTED**") throw new Error(`the diagnostics show the ${key}`);
  }
  for (const secret of [simulator, "not-the-password"]) {
    if (text.includes(secret)) throw new Error(`the diagnostics show ${secret}`);
  }
});

await browser.close();
writeFileSync(join(artifacts, "browser-errors.json"), JSON.stringify(consoleErrors, null, 2));
console.log(`UI flow passed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
