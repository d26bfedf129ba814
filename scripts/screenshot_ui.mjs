// Dev-only: looks at what `scripts/develop` shows a person, in Debian's Chromium driven by
// playwright-core (never a downloaded browser). Logs in as dev/dev, opens the PORTOS device page
// and the "Add integration" form, and saves PNGs under the given folder.
//
//   node scripts/screenshot_ui.mjs [http://127.0.0.1:8123] [out-dir]
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const base = process.argv[2] ?? "http://127.0.0.1:8123";
const out = process.argv[3] ?? "screenshots";
mkdirSync(out, { recursive: true });

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
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(base);
  await page.locator("input[name=username]").fill("dev");
  await page.locator("input[name=password]").fill("dev");
  await page.keyboard.press("Enter");
  await page.waitForURL(/lovelace|home|config/, { timeout: 60000 });

  await page.goto(`${base}/config/integrations/integration/portos`);
  await page.getByText("PORTOS 12345").first().waitFor({ timeout: 60000 });
  await page.screenshot({ path: `${out}/integration.png` });

  await page.getByText("1 device").first().click();
  await page.waitForURL(/config\/devices/, { timeout: 30000 });
  await page.getByText("PORTOS 12345").first().click();
  await page.getByText("Open tickets").first().waitFor({ timeout: 30000 });
  await page.waitForTimeout(1500);
  await page.screenshot({ path: `${out}/device.png`, fullPage: true });

  await page.goto(`${base}/config/integrations/dashboard/add?domain=portos`);
  // HA first asks "Do you want to set up PORTOS?".
  await page.getByRole("button", { name: "OK" }).click({ timeout: 60000 });
  await page.getByText("BackOffice").first().waitFor({ timeout: 60000 });
  await page.waitForTimeout(1000);
  await page.screenshot({ path: `${out}/config_flow.png` });
  console.log(`screenshots written to ${out}/`);
} finally {
  await browser.close();
}
