/**
 * Projects as Label Studio 1.22 answers them, over real HTTP: every field of its serializer in
 * its order and types, settable fields validated with its words, stored and returned, counters
 * and config facts computed from the data, the list's filters and orders, the label config
 * checks against a project's tasks and annotations, and the summary.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createUserInOrganization } from "../src/services/user";
import { PROJECT_KEYS, type RestServer, send, startRestServer } from "./rest/server";
import { createTenant } from "./support/fixtures";

const TEXT_CONFIG = '<View><Text name="text" value="$text"/></View>';
const CHOICES_CONFIG = `<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text">
    <Choice value="pos"/>
    <Choice value="neg" alias="negative"/>
  </Choices>
</View>`;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let rest: RestServer;
let tenant: Awaited<ReturnType<typeof createTenant>>;
let auth: Record<string, string>;

beforeAll(async () => {
  rest = await startRestServer();
});
afterAll(async () => {
  await rest?.close();
});
beforeEach(async () => {
  await rest.tdb.truncate();
  tenant = await createTenant(rest.tdb.db);
  auth = { authorization: `Token ${tenant.token}` };
});

const call = (method: string, path: string, options: Parameters<typeof send>[3] = {}) =>
  send(rest.base, method, path, { ...options, headers: { ...auth, ...options.headers } });

async function create(fields: Record<string, unknown> = {}) {
  const answer = await call("POST", "/api/projects/", {
    json: { title: "Reviews", label_config: TEXT_CONFIG, ...fields },
  });
  expect(answer.status, answer.text).toBe(201);
  return answer.body;
}

async function importItems(project: number, items: unknown[]) {
  const answer = await call("POST", `/api/projects/${project}/import`, { json: items });
  expect(answer.status, answer.text).toBe(201);
  return answer.body;
}

function validation(answer: Awaited<ReturnType<typeof call>>) {
  expect(answer.status, answer.text).toBe(400);
  expect(answer.body.detail).toBe("Validation error");
  return answer.body.validation_errors as Record<string, string[]>;
}

describe("the project shape", () => {
  it("has Label Studio's 46 fields in its serializer's order, with its defaults and types", async () => {
    const project = await create({ title: "  Reviews  " });
    expect(Object.keys(project)).toEqual([
      "id",
      "title",
      "description",
      "label_config",
      "expert_instruction",
      "show_instruction",
      "show_skip_button",
      "enable_empty_annotation",
      "show_annotation_history",
      "organization",
      "color",
      "maximum_annotations",
      "is_published",
      "model_version",
      "is_draft",
      "created_by",
      "created_at",
      "min_annotations_to_start_training",
      "start_training_on_annotation_update",
      "show_collab_predictions",
      "num_tasks_with_annotations",
      "task_number",
      "useful_annotation_number",
      "ground_truth_number",
      "skipped_annotations_number",
      "total_annotations_number",
      "total_predictions_number",
      "sampling",
      "show_ground_truth_first",
      "annotator_evaluation_enabled",
      "show_overlap_first",
      "overlap_cohort_percentage",
      "task_data_login",
      "task_data_password",
      "control_weights",
      "parsed_label_config",
      "evaluate_predictions_automatically",
      "config_has_control_tags",
      "skip_queue",
      "reveal_preannotations_interactively",
      "pinned_at",
      "finished_task_number",
      "queue_total",
      "queue_done",
      "config_suitable_for_bulk_annotation",
      "state",
    ]);
    expect(Object.keys(project)).toEqual(PROJECT_KEYS);
    expect(project).toEqual({
      id: expect.any(Number),
      title: "Reviews",
      description: "",
      label_config: TEXT_CONFIG,
      expert_instruction: "",
      show_instruction: false,
      show_skip_button: true,
      enable_empty_annotation: true,
      show_annotation_history: false,
      organization: tenant.user.organizationId,
      color: "#FFFFFF",
      maximum_annotations: 1,
      is_published: false,
      model_version: "",
      is_draft: false,
      created_by: {
        id: tenant.user.id,
        first_name: "",
        last_name: "",
        username: tenant.user.email.split("@")[0],
        email: tenant.user.email,
        avatar: null,
      },
      created_at: expect.stringMatching(ISO_UTC),
      min_annotations_to_start_training: 0,
      start_training_on_annotation_update: false,
      show_collab_predictions: true,
      num_tasks_with_annotations: 0,
      task_number: 0,
      useful_annotation_number: 0,
      ground_truth_number: 0,
      skipped_annotations_number: 0,
      total_annotations_number: 0,
      total_predictions_number: 0,
      sampling: "Sequential sampling",
      show_ground_truth_first: false,
      annotator_evaluation_enabled: true,
      show_overlap_first: false,
      overlap_cohort_percentage: 100,
      task_data_login: null,
      task_data_password: null,
      control_weights: {},
      parsed_label_config: {},
      evaluate_predictions_automatically: false,
      config_has_control_tags: false,
      skip_queue: "REQUEUE_FOR_OTHERS",
      reveal_preannotations_interactively: false,
      pinned_at: null,
      finished_task_number: 0,
      queue_total: 0,
      queue_done: 0,
      config_suitable_for_bulk_annotation: true,
      state: null,
    });
    // The same object from every door.
    expect((await call("GET", `/api/projects/${project.id}/`)).body).toEqual(project);
    const listed = await call("GET", "/api/projects/");
    expect(listed.body.results).toEqual([project]);
  });

  it("parses the label config as Label Studio does, with control weights for each control", async () => {
    const project = await create({
      label_config: `<View>
        <Image name="img" value="$image" valueType="url"/>
        <RectangleLabels name="box" toName="img"><Label value="Car" background="red"/></RectangleLabels>
        <Choices name="kind" toName="img" perRegion="true" whenLabelValue="Car"><Choice value="big"/></Choices>
        <Filter name="f" toName="box"/>
      </View>`,
      control_weights: { box: { overall: 0.5, labels: { Car: 2 } }, gone: { overall: 3 } },
    });
    expect(project.parsed_label_config).toEqual({
      box: {
        type: "RectangleLabels",
        to_name: ["img"],
        inputs: [{ type: "Image", valueType: "url", value: "image" }],
        labels: ["Car"],
        labels_attrs: { Car: { value: "Car", background: "red" } },
      },
      kind: {
        type: "Choices",
        to_name: ["img"],
        conditionals: { type: "label", name: "Car" },
        inputs: [{ type: "Image", valueType: "url", value: "image" }],
        labels: ["big"],
        labels_attrs: { big: { value: "big" } },
      },
    });
    expect(project.config_has_control_tags).toBe(true);
    // A rectangle is a region: not something to apply to many tasks at once.
    expect(project.config_suitable_for_bulk_annotation).toBe(false);
    expect(project.control_weights).toEqual({
      box: { overall: 0.5, type: "RectangleLabels", labels: { Car: 2 } },
      kind: { overall: 1, type: "Choices", labels: { big: 1 } },
    });
    const choices = await create({ title: "Choices", label_config: CHOICES_CONFIG });
    expect(choices.config_suitable_for_bulk_annotation).toBe(true);
    expect(choices.parsed_label_config.sentiment.labels).toEqual(["pos", "negative"]);
    const perItem = await create({
      title: "Per item",
      label_config: CHOICES_CONFIG.replace('toName="text"', 'toName="text" perItem="true"'),
    });
    expect(perItem.config_suitable_for_bulk_annotation).toBe(false);
  });
});

describe("settable fields", () => {
  const SETTINGS = {
    title: "All settings",
    description: "What to label",
    expert_instruction: "<p>Label <b>all</b> cats</p>",
    show_instruction: true,
    show_skip_button: false,
    enable_empty_annotation: false,
    show_annotation_history: true,
    color: "#FF4C25",
    maximum_annotations: 3,
    is_published: true,
    is_draft: true,
    min_annotations_to_start_training: 5,
    show_collab_predictions: false,
    sampling: "Uniform sampling",
    show_ground_truth_first: true,
    annotator_evaluation_enabled: false,
    show_overlap_first: true,
    overlap_cohort_percentage: 40,
    task_data_login: "reader",
    task_data_password: "s3cret",
    evaluate_predictions_automatically: true,
    skip_queue: "IGNORE_SKIPPED",
    reveal_preannotations_interactively: true,
    pinned_at: "2026-01-02T03:04:05Z",
  };

  it("are accepted on create, stored and returned, and read back", async () => {
    const project = await create(SETTINGS);
    const { pinned_at, ...rest } = SETTINGS;
    expect(project).toMatchObject({ ...rest, start_training_on_annotation_update: true });
    expect(project.pinned_at).toBe("2026-01-02T03:04:05.000Z");
    expect((await call("GET", `/api/projects/${project.id}/`)).body).toEqual(project);
  });

  it("are updated one by one with PATCH, unknown and read-only fields ignored", async () => {
    const project = await create();
    for (const [field, value] of Object.entries(SETTINGS)) {
      const answer = await call("PATCH", `/api/projects/${project.id}/`, {
        json: { [field]: value, task_number: 99, organization: 12345, workspace: 7 },
      });
      expect(answer.status, `${field}: ${answer.text}`).toBe(200);
      const expected = field === "pinned_at" ? "2026-01-02T03:04:05.000Z" : value;
      expect(answer.body[field], field).toEqual(expected);
      expect(answer.body.organization).toBe(tenant.user.organizationId);
      expect(answer.body.task_number).toBe(0);
    }
    const unpinned = await call("PATCH", `/api/projects/${project.id}/`, {
      json: { pinned_at: null, start_training_on_annotation_update: false },
    });
    expect(unpinned.body).toMatchObject({
      pinned_at: null,
      min_annotations_to_start_training: 0,
      start_training_on_annotation_update: false,
    });
  });

  it("are refused with DRF's words, field by field, and nothing is written", async () => {
    const project = await create();
    const cases: [Record<string, unknown>, string, string][] = [
      [{ show_instruction: "maybe" }, "show_instruction", "Must be a valid boolean."],
      [{ show_skip_button: null }, "show_skip_button", "This field may not be null."],
      [{ maximum_annotations: 1.5 }, "maximum_annotations", "A valid integer is required."],
      [
        { maximum_annotations: 0 },
        "maximum_annotations",
        "Ensure this value is greater than or equal to 1.",
      ],
      [
        { overlap_cohort_percentage: 101 },
        "overlap_cohort_percentage",
        "Ensure this value is less than or equal to 100.",
      ],
      [{ sampling: "Random" }, "sampling", '"Random" is not a valid choice.'],
      [{ skip_queue: "NEVER" }, "skip_queue", '"NEVER" is not a valid choice.'],
      [{ color: "red" }, "color", 'Color must be in "#RRGGBB" format'],
      [{ color: "#GG0000" }, "color", 'Color must be in "#RRGGBB" format'],
      [{ title: "ab" }, "title", "Ensure this field has at least 3 characters."],
      [{ title: "x".repeat(51) }, "title", "Ensure this field has no more than 50 characters."],
      [{ title: ["a list"] }, "title", "Not a valid string."],
      [
        { pinned_at: "yesterday" },
        "pinned_at",
        "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
      ],
      [
        { task_data_login: "x".repeat(257) },
        "task_data_login",
        "Ensure this field has no more than 256 characters.",
      ],
      [
        { model_version: "v404" },
        "model_version",
        "Model version doesn't exist either as live model or as static predictions.",
      ],
    ];
    for (const [json, field, message] of cases) {
      const answer = await call("PATCH", `/api/projects/${project.id}/`, { json });
      expect(validation(answer), JSON.stringify(json)).toEqual({ [field]: [message] });
    }
    expect(
      validation(await call("POST", "/api/projects/", { json: { title: "no", color: 5 } })),
    ).toEqual({
      title: ["Ensure this field has at least 3 characters."],
      color: ['Color must be in "#RRGGBB" format'],
    });
    expect((await call("GET", `/api/projects/${project.id}/`)).body).toEqual(project);
  });

  it("reads booleans and integers from form bodies as DRF does", async () => {
    const answer = await call("POST", "/api/projects/", {
      body: new URLSearchParams({
        title: "Form",
        show_instruction: "true",
        show_skip_button: "0",
        is_published: "yes",
        maximum_annotations: "2",
      }),
    });
    expect(answer.status, answer.text).toBe(201);
    expect(answer.body).toMatchObject({
      show_instruction: true,
      show_skip_button: false,
      is_published: true,
      maximum_annotations: 2,
    });
  });

  it("sanitizes instructions: known HTML kept, scripts and handlers never run", async () => {
    const project = await create({
      expert_instruction:
        '<h1 onclick="steal()">Rules</h1><a href="javascript:alert(1)">x</a><a href="https://example.com/g" title="Guide">guide</a><script>alert(1)</script><iframe src="https://evil.example"></iframe><img src="/cat.png" onerror="alert(2)">',
    });
    expect(project.expert_instruction).toBe(
      '<h1>Rules</h1><a>x</a><a href="https://example.com/g" title="Guide">guide</a>&lt;script&gt;alert(1)&lt;/script&gt;&lt;iframe src="https://evil.example"&gt;&lt;/iframe&gt;<img src="/cat.png" />',
    );
    const patched = await call("PATCH", `/api/projects/${project.id}/`, {
      json: { expert_instruction: "<svg onload=alert(1)></svg><em>ok</em>" },
    });
    expect(patched.body.expert_instruction).toBe("&lt;svg&gt;&lt;/svg&gt;<em>ok</em>");
  });

  it("clears the model version when predictions are hidden, and accepts a version the predictions have", async () => {
    const project = await create();
    await importItems(project.id, [
      { data: { text: "a" }, predictions: [{ result: [], model_version: "v2" }] },
    ]);
    const set = await call("PATCH", `/api/projects/${project.id}/`, {
      json: { model_version: "v2" },
    });
    expect(set.status, set.text).toBe(200);
    expect(set.body.model_version).toBe("v2");
    const hidden = await call("PATCH", `/api/projects/${project.id}/`, {
      json: { show_collab_predictions: false },
    });
    expect(hidden.body.model_version).toBe("");
  });
});

describe("computed counters", () => {
  it("count tasks, annotations, skips, predictions and the caller's queue from the data", async () => {
    const project = await create({ label_config: CHOICES_CONFIG, maximum_annotations: 2 });
    const result = [
      { from_name: "sentiment", to_name: "text", type: "choices", value: { choices: ["pos"] } },
    ];
    const me = tenant.user.id;
    const colleague = (
      await createUserInOrganization(rest.tdb.db, tenant.actor, {
        email: "colleague@example.com",
        password: "correct horse battery",
      })
    ).id;
    await importItems(project.id, [
      // Two annotations reach the overlap of 2: finished.
      {
        data: { text: "a" },
        annotations: [
          { result, completed_by: me, ground_truth: false },
          { result, completed_by: colleague, ground_truth: false },
        ],
      },
      // One annotation by a colleague and one skip by the caller; imported annotations are
      // ground truth unless they say otherwise, as in Label Studio.
      {
        data: { text: "b" },
        annotations: [
          { result, completed_by: colleague },
          { result: [], was_cancelled: true, completed_by: me, ground_truth: false },
        ],
      },
      { data: { text: "c" }, predictions: [{ result }, { result }] },
      { data: { text: "d" } },
    ]);
    const answer = await call("GET", `/api/projects/${project.id}/`);
    expect(answer.body).toMatchObject({
      task_number: 4,
      finished_task_number: 1,
      total_annotations_number: 3,
      useful_annotation_number: 3,
      skipped_annotations_number: 1,
      num_tasks_with_annotations: 2,
      ground_truth_number: 1,
      total_predictions_number: 2,
      // Open tasks b, c, d, and a, which the caller annotated.
      queue_total: 4,
      queue_done: 2,
    });
    const requeue = await call("PATCH", `/api/projects/${project.id}/`, {
      json: { skip_queue: "REQUEUE_FOR_ME" },
    });
    // A skip is not done when skipped tasks come back to the annotator.
    expect(requeue.body.queue_done).toBe(1);
    const stranger = await createTenant(rest.tdb.db);
    const theirs = await send(rest.base, "GET", `/api/projects/${project.id}/`, {
      headers: stranger.headers,
    });
    expect(theirs.status).toBe(404);
  });

  it("moves task overlaps and is_labeled when maximum_annotations or the cohort changes", async () => {
    const project = await create({ label_config: CHOICES_CONFIG, maximum_annotations: 1 });
    const result = [
      { from_name: "sentiment", to_name: "text", type: "choices", value: { choices: ["pos"] } },
    ];
    await importItems(project.id, [
      { data: { text: "a" }, annotations: [{ result }] },
      { data: { text: "b" }, annotations: [{ result }, { result }] },
      { data: { text: "c" } },
      { data: { text: "d" } },
    ]);
    const tasks = async () =>
      (await call("GET", `/api/tasks/?project=${project.id}`)).body.tasks.map(
        (t: { overlap: number; is_labeled: boolean }) => [t.overlap, t.is_labeled],
      );
    expect(await tasks()).toEqual([
      [1, true],
      [1, true],
      [1, false],
      [1, false],
    ]);
    await call("PATCH", `/api/projects/${project.id}/`, { json: { maximum_annotations: 2 } });
    expect(await tasks()).toEqual([
      [2, false],
      [2, true],
      [2, false],
      [2, false],
    ]);
    // Half the tasks at full overlap: the fully annotated one first, then the most annotated.
    await call("PATCH", `/api/projects/${project.id}/`, {
      json: { overlap_cohort_percentage: 50 },
    });
    expect(await tasks()).toEqual([
      [2, false],
      [2, true],
      [1, false],
      [1, false],
    ]);
    expect((await call("GET", `/api/projects/${project.id}/`)).body.finished_task_number).toBe(1);
  });

  it("applies a cohort below 100% when maximum_annotations rises from 1", async () => {
    const project = await create({ overlap_cohort_percentage: 50 });
    await importItems(project.id, [{ text: "a" }, { text: "b" }, { text: "c" }, { text: "d" }]);
    await call("PATCH", `/api/projects/${project.id}/`, { json: { maximum_annotations: 3 } });
    const overlaps = (await call("GET", `/api/tasks/?project=${project.id}`)).body.tasks.map(
      (t: { overlap: number }) => t.overlap,
    );
    expect(overlaps).toEqual([3, 3, 1, 1]);
  });
});

describe("GET /api/projects/ filters", () => {
  it("puts pinned projects first, then the newest, and filters by ids, title, search and pinning", async () => {
    const a = await create({ title: "Alpha cats" });
    const b = await create({ title: "Beta dogs", description: "about CATS" });
    const c = await create({ title: "Gamma 100%_off" });
    await call("PATCH", `/api/projects/${a.id}/`, { json: { pinned_at: "2026-01-01T00:00:00Z" } });
    const ids = async (query = "") =>
      (await call("GET", `/api/projects/${query}`)).body.results.map((p: { id: number }) => p.id);
    expect(await ids()).toEqual([a.id, c.id, b.id]);
    expect(await ids(`?ids=${c.id},${a.id}`)).toEqual([a.id, c.id]);
    expect(await ids("?ids=999999,abc")).toEqual([]);
    expect(await ids("?title=CATS")).toEqual([a.id]);
    expect(await ids("?title=100%25_")).toEqual([c.id]);
    expect(await ids("?title=1000")).toEqual([]);
    expect(await ids("?search=cats")).toEqual([a.id, b.id]);
    expect(await ids("?filter=pinned_only")).toEqual([a.id]);
    expect(await ids("?filter=exclude_pinned")).toEqual([c.id, b.id]);
    // An ordering replaces the default one, pinned first included (DRF's OrderingFilter).
    expect(await ids("?ordering=title")).toEqual([a.id, b.id, c.id]);
    expect(await ids("?ordering=-title")).toEqual([c.id, b.id, a.id]);
    expect(await ids("?ordering=no_such_field,-id")).toEqual([c.id, b.id, a.id]);
    const counted = await call("GET", `/api/projects/?ids=${a.id}&include=task_number`);
    expect(counted.body.results[0]).toMatchObject({
      task_number: 0,
      finished_task_number: null,
      total_annotations_number: null,
    });
    expect(counted.body.count).toBe(1);
  });

  it("answers only the counters at /api/projects/counts/", async () => {
    const project = await create();
    await importItems(project.id, [{ text: "a" }]);
    const answer = await call("GET", "/api/projects/counts/");
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toEqual({
      count: 1,
      next: null,
      previous: null,
      results: [
        {
          id: project.id,
          task_number: 1,
          finished_task_number: 0,
          total_predictions_number: 0,
          total_annotations_number: 0,
          num_tasks_with_annotations: 0,
          useful_annotation_number: 0,
          ground_truth_number: 0,
          skipped_annotations_number: 0,
        },
      ],
    });
  });

  it("orders by a counter", async () => {
    const few = await create({ title: "Few" });
    const many = await create({ title: "Many" });
    await importItems(many.id, [{ text: "a" }, { text: "b" }]);
    await importItems(few.id, [{ text: "a" }]);
    const answer = await call("GET", "/api/projects/?ordering=-task_number");
    expect(answer.body.results.map((p: { id: number }) => p.id)).toEqual([many.id, few.id]);
  });

  it("pages with page and page_size, 404 past the end", async () => {
    for (let i = 0; i < 3; i++) await create({ title: `Project ${i}` });
    const first = await call("GET", "/api/projects/?page_size=2");
    expect(first.body.count).toBe(3);
    expect(first.body.results).toHaveLength(2);
    expect(first.body.next).toMatch(/page=2/);
    const second = await call("GET", "/api/projects/?page_size=2&page=2");
    expect(second.body.results).toHaveLength(1);
    expect(second.body.next).toBeNull();
    const past = await call("GET", "/api/projects/?page_size=2&page=3");
    expect(past.status).toBe(404);
    expect(past.body.detail).toBe("Invalid page.");
  });
});

describe("label config checks", () => {
  it("POST /api/projects/validate/ answers 204 for a valid config, 400 naming the field otherwise", async () => {
    const ok = await send(rest.base, "POST", "/api/projects/validate/", {
      json: { label_config: CHOICES_CONFIG },
    });
    expect(ok.status, ok.text).toBe(204);
    expect(ok.text).toBe("");
    const bad = await send(rest.base, "POST", "/api/projects/validate", {
      json: { label_config: "<View><Text" },
    });
    expect(validation(bad)).toEqual({
      label_config: [expect.stringMatching(/not well-formed XML/)],
    });
    expect(
      validation(await send(rest.base, "POST", "/api/projects/validate/", { json: {} })),
    ).toEqual({
      label_config: ["This field is required."],
    });
  });

  it("POST /api/projects/{id}/validate/ checks a config against the project's tasks and annotations", async () => {
    const project = await create({ label_config: CHOICES_CONFIG });
    const result = [
      { from_name: "sentiment", to_name: "text", type: "choices", value: { choices: ["pos"] } },
    ];
    await importItems(project.id, [{ data: { text: "a" }, annotations: [{ result }] }]);
    const path = `/api/projects/${project.id}/validate/`;
    const same = await call("POST", path, { json: { label_config: CHOICES_CONFIG } });
    expect(same.status, same.text).toBe(200);
    expect(same.body).toEqual({
      config_essential_data_has_changed: false,
      label_config: CHOICES_CONFIG,
    });
    const more = CHOICES_CONFIG.replace(
      '<Choice value="pos"/>',
      '<Choice value="pos"/><Choice value="meh"/>',
    );
    expect((await call("POST", path, { json: { label_config: more } })).body).toEqual({
      config_essential_data_has_changed: false,
      label_config: more,
    });
    const added = CHOICES_CONFIG.replace("</View>", '<Rating name="stars" toName="text"/></View>');
    expect(
      (await call("POST", path, { json: { label_config: added } })).body
        .config_essential_data_has_changed,
    ).toBe(true);
    // The label "pos" is used by an annotation.
    const withoutPos = CHOICES_CONFIG.replace('<Choice value="pos"/>', "");
    expect(validation(await call("POST", path, { json: { label_config: withoutPos } }))).toEqual({
      non_field_errors: [
        'These labels still exist in annotations or drafts:\npos (1 annotation)\nPlease add labels to tag with name="sentiment".',
      ],
    });
    // The tasks have no "image".
    const image = '<View><Image name="img" value="$image"/></View>';
    expect(validation(await call("POST", path, { json: { label_config: image } }))).toEqual({
      non_field_errors: ["These fields are not present in the data: image"],
    });
    // The annotations' control tag is gone.
    const other =
      '<View><Text name="text" value="$text"/><Choices name="topic" toName="text"><Choice value="x"/></Choices></View>';
    expect(validation(await call("POST", path, { json: { label_config: other } }))).toEqual({
      non_field_errors: [
        "Created annotations are incompatible with provided labeling schema, we found:\n1 with from_name=sentiment, to_name=text, type=choices",
      ],
    });
    expect(validation(await call("POST", path, { json: {} }))).toEqual({
      non_field_errors: ["Label config is not set or is empty"],
    });
    expect((await call("POST", "/api/projects/999999/validate/", { json: {} })).status).toBe(404);
  });

  it("PATCH label_config refuses a config the annotations no longer fit, but lets labels go", async () => {
    const project = await create({ label_config: CHOICES_CONFIG });
    const result = [
      { from_name: "sentiment", to_name: "text", type: "choices", value: { choices: ["pos"] } },
    ];
    await importItems(project.id, [{ data: { text: "a" }, annotations: [{ result }] }]);
    const other =
      '<View><Text name="text" value="$text"/><Choices name="topic" toName="text"><Choice value="x"/></Choices></View>';
    expect(
      validation(
        await call("PATCH", `/api/projects/${project.id}/`, { json: { label_config: other } }),
      ),
    ).toEqual({
      label_config: [
        "Created annotations are incompatible with provided labeling schema, we found:\n1 with from_name=sentiment, to_name=text, type=choices",
      ],
    });
    expect((await call("GET", `/api/projects/${project.id}/`)).body.label_config).toBe(
      CHOICES_CONFIG,
    );
    const withoutPos = CHOICES_CONFIG.replace('<Choice value="pos"/>', "");
    const patched = await call("PATCH", `/api/projects/${project.id}/`, {
      json: { label_config: withoutPos },
    });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.parsed_label_config.sentiment.labels).toEqual(["negative"]);
    expect(patched.body.control_weights).toEqual({
      sentiment: { overall: 1, type: "Choices", labels: { negative: 1 } },
    });
    // A config without control tags is not checked against annotations (Label Studio's rule).
    const plain = await call("PATCH", `/api/projects/${project.id}/`, {
      json: { label_config: TEXT_CONFIG },
    });
    expect(plain.status, plain.text).toBe(200);
    expect(plain.body.config_has_control_tags).toBe(false);
  });
});

describe("GET /api/projects/{id}/summary/", () => {
  it("sums up the data keys and the annotations' control tags and labels", async () => {
    const project = await create({ label_config: CHOICES_CONFIG });
    const result = [
      { from_name: "sentiment", to_name: "text", type: "choices", value: { choices: ["pos"] } },
    ];
    await importItems(project.id, [
      { data: { text: "a", extra: 1 }, annotations: [{ result }, { result }] },
      { data: { text: "b" } },
    ]);
    const answer = await call("GET", `/api/projects/${project.id}/summary/`);
    expect(answer.status, answer.text).toBe(200);
    expect(Object.keys(answer.body)).toEqual([
      "project",
      "created_at",
      "all_data_columns",
      "common_data_columns",
      "created_annotations",
      "created_labels",
      "created_labels_drafts",
    ]);
    expect(answer.body).toEqual({
      project: project.id,
      created_at: project.created_at,
      all_data_columns: { text: 2, extra: 1 },
      common_data_columns: ["text"],
      created_annotations: { "sentiment|text|choices": 2 },
      created_labels: { sentiment: { pos: 2 } },
      created_labels_drafts: {},
    });
    expect((await call("GET", "/api/projects/999999/summary/")).status).toBe(404);
  });
});
