/**
 * Annotations and predictions over real HTTP, field by field: Label Studio's shapes, key
 * orders and status codes; results checked against the label config (400 naming `result`);
 * the task's counters and the project's computed counters after every write; the task detail
 * with its annotations and predictions; and another organization's objects answering 404.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  ANNOTATION_KEYS,
  PREDICTION_KEYS,
  type RestServer,
  send,
  startRestServer,
  TASK_DETAIL_KEYS,
  TASK_LIST_KEYS,
  VALIDATION_KEYS,
} from "./rest/server";
import { createTenant } from "./support/fixtures";

const CONFIG = `<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices>
</View>`;
const REGION = {
  id: "r1",
  from_name: "sentiment",
  to_name: "text",
  type: "choices",
  value: { choices: ["pos"] },
};
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

let rest: RestServer;
let tenant: Awaited<ReturnType<typeof createTenant>>;
let project: number;
let taskId: number;

beforeAll(async () => {
  rest = await startRestServer();
});
afterAll(async () => {
  await rest?.close();
});
beforeEach(async () => {
  await rest.tdb.truncate();
  tenant = await createTenant(rest.tdb.db);
  const created = await call("POST", "/api/projects/", {
    title: "Annotations",
    label_config: CONFIG,
    maximum_annotations: 2,
  });
  project = created.body.id;
  const task = await call("POST", "/api/tasks/", { data: { text: "great" }, project });
  taskId = task.body.id;
});

function call(method: string, path: string, json?: unknown, headers = tenant.headers) {
  return send(rest.base, method, path, { headers, json });
}

async function counters(id = taskId) {
  const task = await call("GET", `/api/tasks/${id}/`);
  const { total_annotations, cancelled_annotations, total_predictions, is_labeled } = task.body;
  return { total_annotations, cancelled_annotations, total_predictions, is_labeled };
}

async function projectCounts() {
  const answer = await call("GET", `/api/projects/${project}/`);
  const {
    finished_task_number,
    total_annotations_number,
    skipped_annotations_number,
    num_tasks_with_annotations,
    ground_truth_number,
    total_predictions_number,
  } = answer.body;
  return {
    finished_task_number,
    total_annotations_number,
    skipped_annotations_number,
    num_tasks_with_annotations,
    ground_truth_number,
    total_predictions_number,
  };
}

describe("annotations", () => {
  it("creates, lists, reads, updates and deletes with Label Studio's shapes and codes", async () => {
    const created = await call("POST", `/api/tasks/${taskId}/annotations/`, {
      result: [REGION],
      lead_time: 3.5,
      task: 999,
      id: 5,
    });
    expect(created.status, created.text).toBe(201);
    expect(Object.keys(created.body)).toEqual(ANNOTATION_KEYS);
    expect(created.body).toMatchObject({
      result: [REGION],
      created_username: ` ${tenant.user.email}, ${tenant.user.id}`,
      created_ago: "0\u00a0minutes",
      completed_by: tenant.user.id,
      was_cancelled: false,
      ground_truth: false,
      draft_created_at: null,
      lead_time: 3.5,
      import_id: null,
      last_action: null,
      bulk_created: false,
      task: taskId,
      project,
      updated_by: tenant.user.id,
      parent_prediction: null,
      parent_annotation: null,
      last_created_by: null,
    });
    expect(created.body.id).not.toBe(5);
    expect(created.body.created_at).toMatch(ISO);
    const id = created.body.id;

    // Without the trailing slash too; the list leaves cancelled annotations out.
    const skipped = await call("POST", `/api/tasks/${taskId}/annotations?was_cancelled=1`, {
      result: [],
    });
    expect(skipped.status).toBe(201);
    expect(skipped.body.was_cancelled).toBe(true);
    // Without the query parameter, the body's was_cancelled holds; a query that names it wins.
    const bodySkipped = await call("POST", `/api/tasks/${taskId}/annotations/`, {
      result: [],
      was_cancelled: true,
    });
    expect(bodySkipped.body.was_cancelled).toBe(true);
    const queryWins = await call("POST", `/api/tasks/${taskId}/annotations/?was_cancelled=false`, {
      result: [],
      was_cancelled: true,
    });
    expect(queryWins.body.was_cancelled).toBe(false);
    await call("DELETE", `/api/annotations/${bodySkipped.body.id}/`);
    await call("DELETE", `/api/annotations/${queryWins.body.id}/`);
    const list = await call("GET", `/api/tasks/${taskId}/annotations/`);
    expect(list.status).toBe(200);
    expect(list.body.map((a: { id: number }) => a.id)).toEqual([id]);
    expect(Object.keys(list.body[0])).toEqual(ANNOTATION_KEYS);

    const read = await call("GET", `/api/annotations/${id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);

    const patched = await call("PATCH", `/api/annotations/${id}/`, {
      ground_truth: true,
      lead_time: 7,
    });
    expect(patched.status, patched.text).toBe(200);
    expect(Object.keys(patched.body)).toEqual(ANNOTATION_KEYS);
    expect(patched.body).toMatchObject({ id, ground_truth: true, lead_time: 7, result: [REGION] });

    const deleted = await call("DELETE", `/api/annotations/${id}/`);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe("");
    const gone = await call("GET", `/api/annotations/${id}/`);
    expect(gone.status).toBe(404);
    expect(gone.body.detail).toBe("No Annotation matches the given query.");
    expect((await call("GET", "/api/annotations/abc/")).body.detail).toBe("Not found.");
    expect((await call("GET", `/api/tasks/${taskId + 1000}/annotations/`)).status).toBe(404);
    expect((await call("PUT", `/api/annotations/${id}/`, {})).status).toBe(405);
  });

  it("refuses results that do not fit the label config with 400 naming result", async () => {
    const cases: [unknown, string][] = [
      [{ a: 1 }, 'annotation "result" field in annotation must be list'],
      [
        [{ ...REGION, from_name: "nope" }],
        "Region 0: 'from_name' 'nope' not found in configuration",
      ],
      [[{ ...REGION, to_name: "image" }], "Region 0: 'to_name' 'image' not found in configuration"],
      [
        [{ ...REGION, type: "labels" }],
        "Region 0: Type 'labels' does not match expected type 'choices' for control 'sentiment'",
      ],
      [[{ from_name: "sentiment" }], "Region 0: Missing required field 'to_name'"],
      [["text"], 'Region must be a dictionary. Got: "text"'],
      [
        [REGION, { type: "relation", from_id: "r1", to_id: "r9", direction: "right" }],
        "Relation 1: 'to_id' 'r9' not found in regions",
      ],
    ];
    for (const [result, message] of cases) {
      const refused = await call("POST", `/api/tasks/${taskId}/annotations/`, { result });
      expect(refused.status, JSON.stringify(result)).toBe(400);
      expect(Object.keys(refused.body)).toEqual(VALIDATION_KEYS);
      expect(refused.body.validation_errors.result[0]).toBe(message);
    }
    const someone = await call("POST", `/api/tasks/${taskId}/annotations/`, {
      result: [],
      completed_by: 2_000_000,
    });
    expect(someone.status).toBe(400);
    expect(someone.body.validation_errors).toEqual({
      completed_by: ['Invalid pk "2000000" - object does not exist.'],
    });
    const bad = await call("POST", `/api/tasks/${taskId}/annotations/`, { was_cancelled: "x" });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.validation_errors)).toEqual(["was_cancelled"]);
    // Nothing was written.
    expect(await counters()).toEqual({
      total_annotations: 0,
      cancelled_annotations: 0,
      total_predictions: 0,
      is_labeled: false,
    });
    const fixed = await call("PATCH", `/api/tasks/${taskId}/annotations/`, {});
    expect(fixed.status).toBe(405);
  });

  it("keeps the task's counters and is_labeled, and the project's counters, after each write", async () => {
    const first = await call("POST", `/api/tasks/${taskId}/annotations/`, { result: [REGION] });
    expect(await counters()).toEqual({
      total_annotations: 1,
      cancelled_annotations: 0,
      total_predictions: 0,
      is_labeled: false,
    });
    const second = await call("POST", `/api/tasks/${taskId}/annotations/`, { result: [REGION] });
    // maximum_annotations is 2: the task is labeled now.
    expect(await counters()).toMatchObject({ total_annotations: 2, is_labeled: true });
    expect(await projectCounts()).toEqual({
      finished_task_number: 1,
      total_annotations_number: 2,
      skipped_annotations_number: 0,
      num_tasks_with_annotations: 1,
      ground_truth_number: 0,
      total_predictions_number: 0,
    });
    // Cancelling one moves it to the cancelled count and the task is open again.
    await call("PATCH", `/api/annotations/${second.body.id}/`, { was_cancelled: true });
    expect(await counters()).toEqual({
      total_annotations: 1,
      cancelled_annotations: 1,
      total_predictions: 0,
      is_labeled: false,
    });
    await call("PATCH", `/api/annotations/${first.body.id}/`, { ground_truth: true });
    await call("PATCH", `/api/annotations/${second.body.id}/`, { ground_truth: true });
    expect(await projectCounts()).toMatchObject({
      skipped_annotations_number: 1,
      // One ground truth per task, as Label Studio keeps it.
      ground_truth_number: 1,
      finished_task_number: 0,
    });
    await call("DELETE", `/api/annotations/${first.body.id}/`);
    expect(await counters()).toEqual({
      total_annotations: 0,
      cancelled_annotations: 1,
      total_predictions: 0,
      is_labeled: false,
    });
  });

  it("creates annotations in bulk, on tasks or on selected items, all or nothing", async () => {
    const other = (await call("POST", "/api/tasks/", { data: { text: "two" }, project })).body.id;
    const bulk = await call("POST", "/api/annotations/bulk/", {
      tasks: [taskId, other],
      result: [REGION],
    });
    expect(bulk.status, bulk.text).toBe(201);
    expect(bulk.body).toEqual([{ id: expect.any(Number) }, { id: expect.any(Number) }]);
    expect((await call("GET", `/api/annotations/${bulk.body[0].id}/`)).body.bulk_created).toBe(
      true,
    );
    const selected = await call("POST", "/api/annotations/bulk/", {
      selected_items: { all: true, excluded: [other] },
      project,
      result: [],
    });
    expect(selected.body).toHaveLength(1);
    expect(await counters()).toMatchObject({ total_annotations: 2, is_labeled: true });
    expect(await counters(other)).toMatchObject({ total_annotations: 1, is_labeled: false });
    const missing = await call("POST", "/api/annotations/bulk/", {
      tasks: [taskId, 2_000_000],
      result: [],
    });
    expect(missing.status).toBe(400);
    expect(missing.body.validation_errors.tasks).toEqual([
      'Invalid pk "2000000" - object does not exist.',
    ]);
    expect(await counters()).toMatchObject({ total_annotations: 2 });
  });
});

describe("predictions", () => {
  it("creates, lists, reads, updates and deletes with Label Studio's shapes and codes", async () => {
    const created = await call("POST", "/api/predictions/", {
      task: taskId,
      result: [REGION],
      score: 0.9,
      model_version: "m1",
    });
    expect(created.status, created.text).toBe(201);
    expect(Object.keys(created.body)).toEqual(PREDICTION_KEYS);
    expect(created.body).toMatchObject({
      result: [REGION],
      model_version: "m1",
      created_ago: "0\u00a0minutes",
      score: expect.closeTo(0.9, 5),
      cluster: null,
      neighbors: null,
      mislabeling: 0,
      model: null,
      model_run: null,
      task: taskId,
      project,
    });
    expect(created.body.updated_at).toMatch(ISO);
    expect(await counters()).toMatchObject({ total_predictions: 1 });
    const id = created.body.id;
    const other = (await call("POST", "/api/tasks/", { data: { text: "two" }, project })).body.id;
    const imported = await call("POST", `/api/projects/${project}/import/predictions`, [
      { task: other, result: [REGION], score: 0.5 },
      { task: other, result: [] },
    ]);
    expect(imported.status, imported.text).toBe(201);
    expect(imported.body).toEqual({ created: 2 });
    expect(await counters(other)).toMatchObject({ total_predictions: 2 });

    const byTask = await call("GET", `/api/predictions/?task=${other}`);
    expect(byTask.status).toBe(200);
    expect(byTask.body.map((p: { task: number }) => p.task)).toEqual([other, other]);
    const byProject = await call("GET", `/api/predictions?project=${project}`);
    expect(byProject.body.map((p: { id: number }) => p.id)[0]).toBe(id);
    expect(byProject.body).toHaveLength(3);
    expect((await call("GET", "/api/predictions/?task=abc")).status).toBe(400);

    const patched = await call("PATCH", `/api/predictions/${id}/`, { model_version: "m2" });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id, model_version: "m2", result: [REGION] });
    expect((await call("GET", `/api/predictions/${id}`)).body.model_version).toBe("m2");
    expect((await call("DELETE", `/api/predictions/${id}/`)).status).toBe(204);
    expect((await call("GET", `/api/predictions/${id}/`)).body.detail).toBe(
      "No Prediction matches the given query.",
    );
    expect(await counters()).toMatchObject({ total_predictions: 0 });
    expect(await projectCounts()).toMatchObject({ total_predictions_number: 2 });
  });

  it("refuses a missing task, a bad result or score with 400 naming the field", async () => {
    const noTask = await call("POST", "/api/predictions/", { result: [] });
    expect(noTask.body.validation_errors).toEqual({ task: ["This field is required."] });
    const noResult = await call("POST", "/api/predictions/", { task: taskId });
    expect(noResult.body.validation_errors).toEqual({ result: ["This field is required."] });
    const badResult = await call("POST", "/api/predictions/", {
      task: taskId,
      result: [{ ...REGION, from_name: "x" }],
      score: 2,
    });
    expect(badResult.status).toBe(400);
    expect(badResult.body.validation_errors).toEqual({
      result: ["Region 0: 'from_name' 'x' not found in configuration"],
      score: ["Score must be between 0.00 and 1.00 inclusive, got 2"],
    });
    const badImport = await call("POST", `/api/projects/${project}/import/predictions`, [
      { task: taskId, result: [] },
      { task: 2_000_000, result: [{ ...REGION, type: "x" }] },
    ]);
    expect(badImport.status).toBe(400);
    expect(badImport.body.validation_errors).toEqual({
      "1.task": ['Invalid pk "2000000" - object does not exist.'],
      "1.result": [
        "Region 0: Type 'x' does not match expected type 'choices' for control 'sentiment'",
      ],
    });
    expect(await counters()).toMatchObject({ total_predictions: 0 });
  });
});

describe("the task detail and the Data Manager list", () => {
  it("answers the detail with annotations, predictions and computed fields, in order", async () => {
    const a = await call("POST", `/api/tasks/${taskId}/annotations/`, {
      result: [REGION],
      lead_time: 2,
    });
    const b = await call("POST", `/api/tasks/${taskId}/annotations/`, {
      result: [REGION],
      lead_time: 4,
    });
    await call("POST", "/api/predictions/", {
      task: taskId,
      result: [REGION],
      score: 0.5,
      model_version: "m1",
    });
    const detail = await call("GET", `/api/tasks/${taskId}/`);
    expect(detail.status).toBe(200);
    expect(Object.keys(detail.body)).toEqual(TASK_DETAIL_KEYS);
    expect(Object.keys(detail.body.annotations[0])).toEqual(ANNOTATION_KEYS);
    expect(Object.keys(detail.body.predictions[0])).toEqual(PREDICTION_KEYS);
    expect(detail.body).toMatchObject({
      drafts: [],
      annotators: [tenant.user.id],
      total_annotations: 2,
      is_labeled: true,
      completed_at: b.body.created_at,
      // Label Studio's text of the distinct results (jsonb's key order, as on its PostgreSQL).
      annotations_results:
        "[{id: r1, type: choices, value: {choices: [pos]}, to_name: text, from_name: sentiment}]",
      annotations_ids: `${a.body.id}, ${b.body.id}`,
      predictions_model_versions: "m1",
      predictions_score: 0.5,
      avg_lead_time: 3,
      draft_exists: false,
      updated_by: [{ user_id: tenant.user.id }],
    });
    // The detail expands the annotator, as Label Studio's does.
    expect(detail.body.annotations[0].completed_by).toEqual({
      id: tenant.user.id,
      first_name: "",
      last_name: "",
      avatar: null,
      email: tenant.user.email,
      initials: tenant.user.email.slice(0, 2),
    });

    const list = await call("GET", `/api/tasks/?project=${project}`);
    expect(Object.keys(list.body.tasks[0])).toEqual(TASK_LIST_KEYS);
    const all = await call("GET", `/api/tasks/?project=${project}&fields=all`);
    expect(Object.keys(all.body.tasks[0])).toEqual(TASK_DETAIL_KEYS);
    expect(all.body.tasks[0].annotations[0].completed_by).toBe(tenant.user.id);
    expect(all.body.tasks[0].annotations_ids).toBe(detail.body.annotations_ids);
  });
});

describe("another organization", () => {
  it("gets 404 for annotations, predictions and tasks it does not own, and changes nothing", async () => {
    const annotation = await call("POST", `/api/tasks/${taskId}/annotations/`, {
      result: [REGION],
    });
    const prediction = await call("POST", "/api/predictions/", { task: taskId, result: [] });
    const stranger = await createTenant(rest.tdb.db);
    const as = (method: string, path: string, json?: unknown) =>
      call(method, path, json, stranger.headers);
    const notFound: [string, string, unknown?][] = [
      ["GET", `/api/tasks/${taskId}/`],
      ["GET", `/api/tasks/${taskId}/annotations/`],
      ["POST", `/api/tasks/${taskId}/annotations/`, { result: [] }],
      ["GET", `/api/annotations/${annotation.body.id}/`],
      ["PATCH", `/api/annotations/${annotation.body.id}/`, { result: [] }],
      ["DELETE", `/api/annotations/${annotation.body.id}/`],
      ["GET", `/api/predictions/${prediction.body.id}/`],
      ["PATCH", `/api/predictions/${prediction.body.id}/`, { result: [] }],
      ["DELETE", `/api/predictions/${prediction.body.id}/`],
      ["POST", `/api/projects/${project}/import/predictions`, [{ task: taskId, result: [] }]],
    ];
    for (const [method, path, json] of notFound) {
      const answer = await as(method, path, json);
      expect(answer.status, `${method} ${path}`).toBe(404);
    }
    const theirs = await as("POST", "/api/predictions/", { task: taskId, result: [] });
    expect(theirs.status).toBe(400);
    expect(theirs.body.validation_errors.task).toEqual([
      `Invalid pk "${taskId}" - object does not exist.`,
    ]);
    const bulk = await as("POST", "/api/annotations/bulk/", { tasks: [taskId], result: [] });
    expect(bulk.status).toBe(400);
    expect((await as("GET", `/api/predictions/?task=${taskId}`)).body).toEqual([]);
    expect(await counters()).toEqual({
      total_annotations: 1,
      cancelled_annotations: 0,
      total_predictions: 1,
      is_labeled: false,
    });
    expect((await call("GET", `/api/annotations/${annotation.body.id}/`)).body.result).toEqual([
      REGION,
    ]);
  });
});
