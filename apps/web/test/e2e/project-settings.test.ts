/**
 * A project's settings page in a real browser: Label Studio's settings shown with their
 * values, changed and saved, refused next to the field when out of range, the instructions
 * sanitized by the server, and the facts computed from the project's data.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchBrowser } from "./browser";

const baseURL = inject("baseURL");
const LABEL_CONFIG = `<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices>
</View>`;

let browser: Browser;
let close: () => Promise<void>;
let page: Page;
const errors: string[] = [];
let projectId = 0;

beforeAll(async () => {
  ({ browser, close } = await launchBrowser());
  page = await (await browser.newContext({ baseURL })).newPage();
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`${page.url()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`));
  await page.goto("/signup");
  await page.getByLabel("Email").fill("grace@example.com");
  await page.getByLabel("Password").fill("correct-horse-battery");
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.waitForURL("**/projects");
});
afterAll(async () => {
  await close?.();
});

describe("project settings", () => {
  it("shows the settings and the facts of a new project", async () => {
    await page.goto("/projects/new");
    await page.getByLabel("Title").fill("Sentiment");
    await page.getByLabel("Label config").fill(LABEL_CONFIG);
    await page.getByRole("button", { name: "Create project" }).click();
    await page.waitForURL(/\/projects\/\d+$/);
    projectId = Number(new URL(page.url()).pathname.split("/").at(-1));
    await page.getByRole("link", { name: "Edit" }).click();
    await page.waitForURL(`**/projects/${projectId}/edit`);

    const facts = page.locator('dl[aria-label="Project facts"]');
    expect(await facts.textContent()).toContain("sentiment (Choices: pos, neg)");
    expect(await facts.textContent()).toContain("grace@example.com");
    expect(await page.getByLabel("Allow skipping tasks").isChecked()).toBe(true);
    expect(await page.getByLabel("Show the instructions before labeling").isChecked()).toBe(false);
    expect(await page.getByLabel("Pinned (listed first)").isChecked()).toBe(false);
    expect(await page.getByLabel("Task sampling").inputValue()).toBe("Sequential sampling");
    expect(await page.getByLabel("Skipped tasks").inputValue()).toBe("REQUEUE_FOR_OTHERS");
    expect(await page.getByLabel("Tasks with full overlap (%)").inputValue()).toBe("100");
    expect(await page.getByLabel("Color").inputValue()).toBe("#ffffff");
  });

  it("refuses an out-of-range setting next to its field, and saves nothing", async () => {
    const cohort = page.getByLabel("Tasks with full overlap (%)");
    await cohort.fill("150");
    await page.getByRole("button", { name: "Save changes" }).click();
    const error = page.locator("#overlap_cohort_percentage-error");
    await error.waitFor();
    expect(await error.textContent()).toContain("less than or equal to 100");
    expect(await cohort.getAttribute("aria-invalid")).toBe("true");
    expect(new URL(page.url()).pathname).toBe(`/projects/${projectId}/edit`);
  });

  it("saves the settings, and shows them back with the instructions sanitized", async () => {
    await page.getByLabel("Tasks with full overlap (%)").fill("50");
    await page
      .getByLabel(/Instructions for annotators/)
      .fill('<p>Be <b>kind</b></p><script>alert(1)</script><a href="javascript:x()">x</a>');
    await page.getByLabel("Pinned (listed first)").check();
    await page.getByLabel("Show the instructions before labeling").check();
    await page.getByLabel("Allow skipping tasks").uncheck();
    await page.getByLabel("Task sampling").selectOption("Uniform sampling");
    await page.getByLabel("Skipped tasks").selectOption("IGNORE_SKIPPED");
    await page.getByLabel("Model version").fill("");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.waitForURL(`**/projects/${projectId}`);

    await page.goto(`/projects/${projectId}/edit`);
    expect(await page.getByLabel(/Instructions for annotators/).inputValue()).toBe(
      "<p>Be <b>kind</b></p>&lt;script&gt;alert(1)&lt;/script&gt;<a>x</a>",
    );
    expect(await page.getByLabel("Pinned (listed first)").isChecked()).toBe(true);
    expect(await page.getByLabel("Show the instructions before labeling").isChecked()).toBe(true);
    expect(await page.getByLabel("Allow skipping tasks").isChecked()).toBe(false);
    expect(await page.getByLabel("Task sampling").inputValue()).toBe("Uniform sampling");
    expect(await page.getByLabel("Skipped tasks").inputValue()).toBe("IGNORE_SKIPPED");
    expect(await page.getByLabel("Tasks with full overlap (%)").inputValue()).toBe("50");
    expect(errors).toEqual([]);
  });
});
