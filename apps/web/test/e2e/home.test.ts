import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchBrowser } from "./browser";

let browser: Browser;
let close: () => Promise<void>;
const baseURL = inject("baseURL");

beforeAll(async () => {
  ({ browser, close } = await launchBrowser());
});
afterAll(async () => {
  await close?.();
});

describe("home page", () => {
  it("is served by Next beside the API and reports the database ready", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    page.on("pageerror", (e) => errors.push(e.message));
    const response = await page.goto(baseURL);
    expect(response?.status()).toBe(200);
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe("Taskport");
    await expect(page.getByTestId("health").textContent()).resolves.toMatch(/pglite.*ready/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("creates a task through the same server's tRPC endpoint with the bootstrap token", async () => {
    const token = inject("adminToken");
    const call = async (path: string, json: unknown) => {
      const res = await fetch(`${baseURL}/api/trpc/${path}`, {
        method: "POST",
        headers: { authorization: `Token ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ json }),
      });
      return {
        status: res.status,
        body: (await res.json()) as { result: { data: { json: Record<string, unknown> } } },
      };
    };
    const project = await call("project.create", {
      title: "E2E",
      label_config: '<View><Text name="text" value="$text"/></View>',
    });
    expect(project.status).toBe(200);
    const task = await call("task.create", {
      data: { text: "hi" },
      project: project.body.result.data.json.id,
    });
    expect(task.status).toBe(200);
    expect(Object.keys(task.body.result.data.json)).toHaveLength(18);
    expect(task.body.result.data.json.inner_id).toBe(1);
  });

  it("renders the API reference from the document the server serves, import included", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    page.on("pageerror", (e) => errors.push(e.message));
    const response = await page.goto(`${baseURL}/api-reference`);
    expect(response?.status()).toBe(200);
    const served = (await (await fetch(`${baseURL}/api/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { operationId: string }>>;
    };
    const operations = Object.entries(served.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, operation]) => ({ path, method, operation })),
    );
    expect(operations.length).toBeGreaterThan(15);
    for (const { path, method, operation } of operations) {
      const heading = page.locator(`#${operation.operationId} h3`);
      await expect(heading.textContent()).resolves.toBe(`${method.toUpperCase()} ${path}`);
    }
    await expect(page.locator("#postApiProjectsIdImport h3").textContent()).resolves.toBe(
      "POST /api/projects/{id}/import",
    );
    expect(errors).toEqual([]);
    await page.close();
  });
});
