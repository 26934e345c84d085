/**
 * A task's page in a real browser: its data, its annotations (who completed each, when,
 * cancelled or not, ground truth, the result regions) and its predictions (model version,
 * score, result), each with an empty state, all written through the REST API first.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchBrowser } from "./browser";
import { ADMIN } from "./server";

const baseURL = inject("baseURL");
const token = inject("adminToken");
const CONFIG = `<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text">
    <Choice value="Positive"/><Choice value="Negative"/>
  </Choices>
</View>`;

let browser: Browser;
let close: () => Promise<void>;
let page: Page;
const consoleErrors: string[] = [];

async function rest(path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${baseURL}${path}`, {
    method: "POST",
    headers: { authorization: `Token ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  expect(res.status, `${path}: ${JSON.stringify(json)}`).toBe(201);
  return json;
}

const choice = (value: string) => ({
  from_name: "sentiment",
  to_name: "text",
  type: "choices",
  value: { choices: [value] },
});

beforeAll(async () => {
  ({ browser, close } = await launchBrowser());
  page = await (await browser.newContext({ baseURL })).newPage();
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(`${page.url()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
  await page.goto("/login");
  await page.getByLabel("Email").fill(ADMIN.email);
  await page.getByLabel("Password").fill(ADMIN.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL("**/projects", { timeout: 60_000 });
});
afterAll(async () => {
  await close?.();
});

describe("task page", () => {
  it("shows the empty states of a task with neither annotations nor predictions", async () => {
    const project = await rest("/api/projects/", { title: "Bare task", label_config: CONFIG });
    const task = await rest("/api/tasks/", { project: project.id, data: { text: "nothing yet" } });
    await page.goto(`/projects/${project.id}/tasks/${task.id}`);
    const annotations = page.getByRole("region", { name: "Annotations" });
    const predictions = page.getByRole("region", { name: "Predictions" });
    await annotations.getByText("No annotations yet").waitFor();
    await predictions.getByText("No predictions yet").waitFor();
    expect(await page.getByLabel("Task fields").textContent()).toContain("nothing yet");
    expect(consoleErrors).toEqual([]);
  });

  it("lists the task's annotations and predictions with their results", async () => {
    const project = await rest("/api/projects/", { title: "Reviews", label_config: CONFIG });
    const task = await rest("/api/tasks/", { project: project.id, data: { text: "Great film" } });
    const annotation = await rest(`/api/tasks/${task.id}/annotations/`, {
      result: [choice("Positive")],
      ground_truth: true,
    });
    const cancelled = await rest(`/api/tasks/${task.id}/annotations/?was_cancelled=true`, {
      result: [],
    });
    const prediction = await rest("/api/predictions/", {
      task: task.id,
      result: [choice("Negative")],
      score: 0.87,
      model_version: "sentiment-v2",
    });

    await page.goto(`/projects/${project.id}/tasks/${task.id}`);
    const annotations = page.getByRole("region", { name: "Annotations" });
    const first = annotations.getByTestId(`annotation-${annotation.id}`);
    await first.waitFor();
    const firstText = await first.textContent();
    expect(firstText).toContain(`Annotation ${annotation.id}`);
    expect(firstText).toContain(ADMIN.email);
    expect(firstText).toContain("Ground truth");
    expect(firstText).not.toContain("Cancelled");
    expect(firstText).toMatch(/\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
    expect(await first.getByRole("listitem").allTextContents()).toEqual([
      "sentiment → text: choices Positive",
    ]);
    const second = annotations.getByTestId(`annotation-${cancelled.id}`);
    const secondText = await second.textContent();
    expect(secondText).toContain("Cancelled");
    expect(secondText).not.toContain("Ground truth");
    expect(secondText).toContain("No result");
    expect(await annotations.getByText("No annotations yet").count()).toBe(0);

    const predictions = page.getByRole("region", { name: "Predictions" });
    const predicted = predictions.getByTestId(`prediction-${prediction.id}`);
    const predictedText = await predicted.textContent();
    expect(predictedText).toContain("sentiment-v2");
    expect(predictedText).toContain("score 0.87");
    expect(await predicted.getByRole("listitem").allTextContents()).toEqual([
      "sentiment → text: choices Negative",
    ]);
    expect(await predictions.getByText("No predictions yet").count()).toBe(0);

    const fields = await page.getByLabel("Task fields").textContent();
    expect(fields).toContain("Great film");
    expect(consoleErrors).toEqual([]);
  });
});
