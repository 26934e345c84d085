/**
 * The web app end to end, in one browser session that builds on itself: sign up, a project,
 * tasks (refused, then created), an API token used from outside the browser, log out. Every
 * page is watched for console errors (CSP violations and hydration errors land there too).
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { launchBrowser } from "./browser";

const baseURL = inject("baseURL");
const LABEL_CONFIG = '<View><Text name="text" value="$text"/></View>';

let browser: Browser;
let close: () => Promise<void>;
let context: BrowserContext;
let page: Page;
let consoleErrors: string[] = [];

function watch(p: Page): Page {
  p.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(`${p.url()}: ${m.text()}`);
  });
  p.on("pageerror", (e) => consoleErrors.push(`${p.url()}: ${e.message}`));
  return p;
}

async function trpcGet(path: string, input: unknown, headers: Record<string, string>) {
  const url = `${baseURL}/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`;
  const res = await fetch(url, { headers });
  return {
    status: res.status,
    body: (await res.json()) as { result?: { data: { json: Record<string, unknown> } } },
  };
}

async function trpcPost(path: string, input: unknown, token: string) {
  const res = await fetch(`${baseURL}/api/trpc/${path}`, {
    method: "POST",
    headers: { authorization: `Token ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ json: input }),
  });
  return {
    status: res.status,
    body: (await res.json()) as { result: { data: { json: Record<string, unknown> } } },
  };
}

const state = { projectId: 0, taskId: 0, token: "", sessionCookie: "" };

beforeAll(async () => {
  ({ browser, close } = await launchBrowser());
  context = await browser.newContext({ baseURL });
  page = watch(await context.newPage());
});
afterEach(() => {
  const errors = consoleErrors;
  consoleErrors = [];
  expect(errors).toEqual([]);
});
afterAll(async () => {
  await close?.();
});

describe("web app", () => {
  it("sends a visitor without a session to the login page", async () => {
    const visitor = watch(await browser.newPage({ baseURL }));
    await visitor.goto("/projects");
    expect(new URL(visitor.url()).pathname).toBe("/login");
    expect(new URL(visitor.url()).searchParams.get("next")).toBe("/projects");
    await visitor.close();
  });

  it("signs up, creating an organization, and lands on the empty projects list", async () => {
    const response = await page.goto("/signup");
    const csp = response?.headers()["content-security-policy"] ?? "";
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/https?:/);
    expect(response?.headers()["x-content-type-options"]).toBe("nosniff");
    await page.getByLabel("Email").fill("ada@example.com");
    await page.getByLabel("Password").fill("correct-horse-battery");
    await page.getByLabel(/Organization/).fill("Analytical Engines");
    await page.getByRole("button", { name: "Sign up" }).click();
    await page.waitForURL("**/projects");
    await page.getByText("No projects yet.").waitFor();

    const cookie = (await context.cookies()).find((c) => c.name === "taskport_session");
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe("Lax");
    state.sessionCookie = `taskport_session=${cookie?.value}`;
  });

  it("refuses a second sign-up with the same email, next to the email field", async () => {
    const other = watch(await browser.newPage({ baseURL }));
    await other.goto("/signup");
    await other.getByLabel("Email").fill("ada@example.com");
    await other.getByLabel("Password").fill("another-password");
    await other.getByRole("button", { name: "Sign up" }).click();
    await other.locator("#email-error").waitFor();
    expect(await other.locator("#email-error").textContent()).toMatch(/already exists/);
    expect(await other.getByLabel("Email").getAttribute("aria-invalid")).toBe("true");
    await other.close();
  });

  it("signs up, logs out and logs in without JavaScript (plain form posts)", async () => {
    const noJs = await browser.newContext({ baseURL, javaScriptEnabled: false });
    const p = await noJs.newPage();
    await p.goto("/signup");
    await p.getByLabel("Email").fill("nojs@example.com");
    await p.getByLabel("Password").fill("short");
    await p.getByLabel("Password").evaluate((el) => el.removeAttribute("minlength"));
    await p.getByRole("button", { name: "Sign up" }).click();
    await p.locator("#password-error").waitFor();
    expect(await p.locator("#password-error").textContent()).toMatch(/at least 8 characters/);
    expect(await p.getByLabel("Email").inputValue()).toBe("nojs@example.com");
    await p.getByLabel("Password").fill("long-enough-password");
    await p.getByRole("button", { name: "Sign up" }).click();
    await p.waitForURL("**/projects");
    await p.getByRole("button", { name: "Log out" }).click();
    await p.waitForURL("**/login");
    await p.getByLabel("Email").fill("nojs@example.com");
    await p.getByLabel("Password").fill("long-enough-password");
    await p.getByRole("button", { name: "Log in" }).click();
    await p.waitForURL("**/projects");
    await noJs.close();
  });

  it("creates a project while the editor tells whether the config is valid and what it needs", async () => {
    await page.getByRole("link", { name: "New project" }).click();
    await page.waitForURL("**/projects/new");
    await page.getByLabel("Title").fill("Reviews");
    const editor = page.getByLabel("Label config");
    const feedback = page.getByTestId("label-config-feedback");
    await editor.fill('<View><Text name="text" value="$text"/>');
    await page.waitForFunction(() =>
      document
        .querySelector("[data-testid=label-config-feedback]")
        ?.textContent?.includes("Invalid"),
    );
    expect(await editor.getAttribute("aria-invalid")).toBe("true");
    await editor.fill(LABEL_CONFIG);
    await page.waitForFunction(() =>
      document
        .querySelector("[data-testid=label-config-feedback]")
        ?.textContent?.startsWith("Valid"),
    );
    expect(await feedback.textContent()).toContain('Every task needs the data key "text".');
    await page.getByRole("button", { name: "Create project" }).click();
    await page.waitForURL(/\/projects\/\d+$/);
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Reviews");
    state.projectId = Number(new URL(page.url()).pathname.split("/").at(-1));
    await page.getByText("No tasks yet").waitFor();
    expect(await page.getByRole("link", { name: "Import" }).getAttribute("href")).toBe(
      `/projects/${state.projectId}/import`,
    );
  });

  it("refuses a task without text and says so next to the text field", async () => {
    await page.getByRole("button", { name: "Create task" }).click();
    const error = page.locator("#task-field-text-error");
    await error.waitFor();
    expect(await error.textContent()).toContain('"text" key is expected in task data');
    const input = page.getByLabel("text", { exact: true });
    expect(await input.getAttribute("aria-invalid")).toBe("true");
    expect(await input.getAttribute("aria-describedby")).toContain("task-field-text-error");
    expect(await page.getByText("No tasks yet").count()).toBe(1);
  });

  it("creates a task and shows it with inner_id 1 in the table, without a reload", async () => {
    await page.evaluate(() => {
      (window as unknown as { stayed: boolean }).stayed = true;
    });
    await page.getByLabel("text", { exact: true }).fill("Great product");
    await page.getByRole("button", { name: "Create task" }).click();
    const created = page.getByTestId("task-created");
    await created.waitFor();
    expect(await created.textContent()).toContain("inner_id 1");
    await page.locator("table tbody tr").first().waitFor();
    const firstRow = page.locator("table tbody tr").first();
    expect(await firstRow.locator("td").first().textContent()).toBe("1");
    expect(await firstRow.textContent()).toContain("Great product");
    expect(await page.locator("#task-field-text-error").count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(
      true,
    );
    const href = await created.getByRole("link").getAttribute("href");
    state.taskId = Number(href?.split("/").at(-1));
    expect(state.taskId).toBeGreaterThan(0);
  });

  it("creates a task from raw JSON with extra keys and meta, listed first (newest first)", async () => {
    await page.getByLabel("Raw JSON").check();
    await page
      .getByLabel("Task JSON")
      .fill(JSON.stringify({ data: { text: "Second", source: "e2e" }, meta: { batch: 7 } }));
    await page.getByRole("button", { name: "Create task" }).click();
    await page.waitForFunction(() =>
      document.querySelector("[data-testid=task-created]")?.textContent?.includes("inner_id 2"),
    );
    await page.waitForFunction(
      () => document.querySelector("table tbody tr td")?.textContent === "2",
    );
    const rows = page.locator("table tbody tr");
    expect(await rows.count()).toBe(2);
    expect(await rows.nth(1).locator("td").first().textContent()).toBe("1");
    expect(await page.getByTestId("task-total").textContent()).toContain("2 tasks");
  });

  it("shows every field of a task on its page", async () => {
    await page.goto(`/projects/${state.projectId}/tasks/${state.taskId}`);
    const rows = page.locator("dl.fields .field-row");
    expect(await rows.count()).toBe(18);
    expect(await page.locator("dl.fields").textContent()).toContain("Great product");
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toContain("Task 1");
  });

  it("lists projects with their task counts", async () => {
    await page.goto("/projects");
    expect(await page.getByTestId("task-count").first().textContent()).toBe("2 tasks");
  });

  it("creates an API token, shown once with a curl example, that reads the task back", async () => {
    await page.goto("/tokens");
    await page.getByText("No tokens yet").waitFor();
    await page.getByLabel("Name").fill("e2e script");
    await page.getByRole("button", { name: "Create token" }).click();
    const secret = page.getByTestId("new-token");
    await secret.waitFor();
    state.token = (await secret.textContent()) ?? "";
    expect(state.token.length).toBeGreaterThanOrEqual(20);
    expect(await page.getByTestId("curl-example").textContent()).toContain(
      `Authorization: Token ${state.token}`,
    );
    await page.getByRole("cell", { name: "e2e script", exact: true }).waitFor();

    const read = await trpcGet(
      "task.byId",
      { id: state.taskId },
      { authorization: `Token ${state.token}` },
    );
    expect(read.status).toBe(200);
    expect(read.body.result?.data.json.data).toEqual({ text: "Great product" });
    expect(read.body.result?.data.json.inner_id).toBe(1);

    // Shown once: after a reload the list has the token, the page no secret.
    await page.reload();
    await page.getByRole("cell", { name: "e2e script", exact: true }).waitFor();
    expect(await page.getByTestId("new-token").count()).toBe(0);
  });

  it("shows the server's refusal when the project was deleted meanwhile", async () => {
    const project = await trpcPost(
      "project.create",
      { title: "Doomed", label_config: LABEL_CONFIG },
      state.token,
    );
    const id = project.body.result.data.json.id as number;
    await page.goto(`/projects/${id}`);
    await page.getByLabel("text", { exact: true }).fill("too late");
    expect((await trpcPost("project.delete", { id }, state.token)).status).toBe(200);
    await page.getByRole("button", { name: "Create task" }).click();
    const alert = page.getByTestId("task-form-error");
    await alert.waitFor();
    expect(await alert.textContent()).toContain("deleted meanwhile");
    // The browser logs the 404 of the refused request itself; nothing else may appear.
    expect(consoleErrors.every((e) => /status of 404/.test(e))).toBe(true);
    consoleErrors = [];
  });

  it("revokes the token, which then stops working", async () => {
    await page.goto("/tokens");
    await page.getByRole("button", { name: "Revoke e2e script" }).click();
    await page.getByText(/^revoked/).waitFor();
    const read = await trpcGet(
      "task.byId",
      { id: state.taskId },
      { authorization: `Token ${state.token}` },
    );
    expect(read.status).toBe(401);
  });

  it("stays usable on a narrow screen", async () => {
    const phone = watch(await context.newPage());
    await phone.setViewportSize({ width: 360, height: 740 });
    for (const path of ["/projects", `/projects/${state.projectId}`, "/tokens"]) {
      await phone.goto(path);
      const overflow = await phone.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      );
      expect(overflow, path).toBeLessThanOrEqual(0);
    }
    await phone.close();
  });

  it("logs out to the login page, ending the session on the server", async () => {
    await page.goto("/projects");
    await page.getByRole("button", { name: "Log out" }).click();
    await page.waitForURL("**/login");
    const read = await trpcGet("task.byId", { id: state.taskId }, { cookie: state.sessionCookie });
    expect(read.status).toBe(401);
    await page.goto("/projects");
    expect(new URL(page.url()).pathname).toBe("/login");
  });

  it("logs back in and returns to the page asked for", async () => {
    await page.goto(`/projects/${state.projectId}`);
    await page.getByLabel("Email").fill("ada@example.com");
    await page.getByLabel("Password").fill("wrong-password");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.locator("#auth-error").waitFor();
    expect(await page.locator("#auth-error").textContent()).toContain("wrong");
    await page.getByLabel("Password").fill("correct-horse-battery");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForURL(`**/projects/${state.projectId}`);
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Reviews");
  });
});
