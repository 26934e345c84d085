/**
 * A project's webhooks page in a real browser: add a webhook (its secret shown once), watch a
 * receiver's failures turn it off with the reason shown, turn it back on so the pending event
 * is delivered, and redeliver it (the same webhook-id reaches the receiver again).
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchBrowser } from "./browser";
import { ADMIN } from "./server";

const baseURL = inject("baseURL");
const token = inject("adminToken");

let browser: Browser;
let close: () => Promise<void>;
let page: Page;
let receiver: Server;
let receiverUrl = "";
let answer = 500;
const received: IncomingHttpHeaders[] = [];

beforeAll(async () => {
  ({ browser, close } = await launchBrowser());
  page = await (await browser.newContext({ baseURL })).newPage();
  receiver = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      received.push(req.headers);
      res.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  await close?.();
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
});

async function api(method: string, path: string, json?: unknown) {
  const response = await fetch(`${baseURL}${path}`, {
    method,
    headers: { authorization: `Token ${token}`, "content-type": "application/json" },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  return response.json();
}

describe("webhooks page", () => {
  it("shows a webhook turned off with its reason, turns it on, and redelivers", async () => {
    const project = await api("POST", "/api/projects/", {
      title: "Hooked",
      label_config: '<View><Text name="text" value="$text"/></View>',
    });
    await page.goto("/login");
    await page.getByLabel("Email").fill(ADMIN.email);
    await page.getByLabel("Password").fill(ADMIN.password);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForURL("**/projects", { timeout: 60_000 });
    await page.goto(`/projects/${project.id}`);
    await page.getByRole("link", { name: "Webhooks" }).click();
    await page.waitForURL(/\/projects\/\d+\/webhooks$/);

    await page.getByLabel("URL").fill("http://10.0.0.1/hook");
    await page.getByRole("button", { name: "Add webhook" }).click();
    await page.getByRole("alert").filter({ hasText: "private address" }).waitFor();

    await page.getByLabel("URL").fill(receiverUrl);
    await page.getByRole("button", { name: "Add webhook" }).click();
    const secret = await page.getByTestId("webhook-secret").locator("pre").textContent();
    expect(secret).toMatch(/^whsec_/);
    const webhook = page.locator("[data-testid^='webhook-']").filter({ hasText: receiverUrl });
    await webhook.getByRole("status").filter({ hasText: "On" }).waitFor();

    // The receiver fails: after two failed attempts in a row Taskport turns the webhook off.
    await api("POST", "/api/tasks/", { project: project.id, data: { text: "hello" } });
    await webhook.getByRole("status").filter({ hasText: "Off" }).waitFor({ timeout: 30_000 });
    await webhook.getByText(/Turned off after 2 failed deliveries in a row/).waitFor();
    expect(received).toHaveLength(2);

    answer = 204;
    await webhook.getByRole("button", { name: "Turn on" }).click();
    await webhook.getByRole("cell", { name: "Delivered" }).waitFor({ timeout: 30_000 });
    expect(received).toHaveLength(3);
    expect(received[2]?.["webhook-id"]).toBe(received[0]?.["webhook-id"]);

    await webhook.getByRole("button", { name: "Redeliver" }).click();
    await expect.poll(() => received.length, { timeout: 30_000 }).toBe(4);
    expect(received[3]?.["webhook-id"]).toBe(received[0]?.["webhook-id"]);
    await webhook.getByRole("cell", { name: "Delivered" }).waitFor({ timeout: 30_000 });
  });
});
