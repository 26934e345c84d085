/**
 * A project's cloud storage page in a real browser: add a local folder storage, sync it, see
 * the progress bar while it runs and the counts when it ends, sync again (nothing new), and see
 * a refused storage's reason next to the form.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchBrowser } from "./browser";
import { ADMIN } from "./server";

const baseURL = inject("baseURL");
const localFilesRoot = inject("localFilesRoot");
const FILES = 2000;

let browser: Browser;
let close: () => Promise<void>;
let page: Page;
const consoleErrors: string[] = [];

beforeAll(async () => {
  ({ browser, close } = await launchBrowser());
  page = await (await browser.newContext({ baseURL })).newPage();
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(`${page.url()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
});
afterAll(async () => {
  await close?.();
});

describe("cloud storage page", () => {
  it("adds a local folder, syncs it with a progress bar, and a second sync creates nothing", async () => {
    const folder = join(localFilesRoot, "reviews");
    mkdirSync(folder, { recursive: true });
    for (let i = 0; i < FILES; i++) {
      writeFileSync(
        join(folder, `r-${String(i).padStart(5, "0")}.json`),
        JSON.stringify({ text: `review ${i}` }),
      );
    }
    // The server's admin (its organization is the tenant here): one login, no new account.
    await page.goto("/login");
    await page.getByLabel("Email").fill(ADMIN.email);
    await page.getByLabel("Password").fill(ADMIN.password);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForURL("**/projects", { timeout: 60_000 });
    await page.goto("/projects/new");
    await page.getByLabel("Title").fill("Synced reviews");
    await page.getByLabel(/Label config/).fill('<View><Text name="text" value="$text"/></View>');
    await page.getByRole("button", { name: /Create project/ }).click();
    await page.waitForURL(/\/projects\/\d+$/);
    await page.getByRole("link", { name: "Cloud storage" }).click();
    await page.waitForURL(/\/projects\/\d+\/storages$/);

    await page.getByLabel("Kind").selectOption("localfiles");
    await page.getByLabel(/Absolute path/).fill("/etc");
    await page.getByRole("button", { name: "Add storage" }).click();
    await page.getByRole("alert").filter({ hasText: "TASKPORT_LOCAL_FILES_ROOT" }).waitFor();

    await page.getByLabel(/Absolute path/).fill(folder);
    await page.getByRole("button", { name: "Add storage" }).click();
    const storage = page.locator("[data-testid^='storage-']").filter({ hasText: folder }).first();
    await storage.getByText("Never synced").waitFor();
    await storage.getByRole("button", { name: "Sync" }).click();
    // While the sync is queued or running, a progress bar and a Cancel button.
    await storage.getByRole("progressbar").waitFor();
    await storage.getByRole("button", { name: "Cancel sync" }).waitFor();
    await storage.getByText("Synced", { exact: true }).waitFor({ timeout: 60_000 });
    expect(await storage.getByRole("progressbar").count()).toBe(0);
    const summary = await storage
      .locator(".hint")
      .filter({ hasText: "objects listed" })
      .textContent();
    expect(summary).toContain(`${FILES.toLocaleString("en-US")} objects listed`);
    expect(summary).toContain(`${FILES.toLocaleString("en-US")} tasks created`);

    await storage.getByRole("button", { name: "Sync" }).click();
    await storage
      .getByText(`${FILES.toLocaleString("en-US")} unchanged`)
      .waitFor({ timeout: 60_000 });
    const again = await storage
      .locator(".hint")
      .filter({ hasText: "objects listed" })
      .textContent();
    expect(again).toContain("0 tasks created");
    // The refused storage's 400 is there; nothing failed on the page itself or on the server.
    expect(consoleErrors).toContainEqual(
      expect.stringContaining("the server responded with a status of 400"),
    );
    for (const error of consoleErrors)
      expect(error).toMatch(/Failed to load resource: the server responded with a status of 4\d\d/);
  });
});
