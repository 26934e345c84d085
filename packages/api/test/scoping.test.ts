import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCaller, createTRPCContext } from "../src/index";
import { createTestDatabase, type TestDatabase } from "./support/db";
import { createTenant } from "./support/fixtures";

let tdb: TestDatabase;

beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb?.close();
});

describe("organization scoping", () => {
  it("a second organization sees 404 for every project and task procedure", async () => {
    const owner = await createTenant(tdb.db);
    const stranger = await createTenant(tdb.db);
    const project = await owner.caller.project.create({ title: "Private" });
    const task = await owner.caller.task.create({ data: { secret: 1 }, project: project.id });
    const s = stranger.caller;
    const attempts: [string, () => Promise<unknown>][] = [
      ["project.byId", () => s.project.byId({ id: project.id })],
      ["project.update", () => s.project.update({ id: project.id, title: "Mine" })],
      ["project.delete", () => s.project.delete({ id: project.id })],
      ["task.create", () => s.task.create({ data: {}, project: project.id })],
      ["task.byId", () => s.task.byId({ id: task.id })],
      ["task.list", () => s.task.list({ project: project.id })],
      ["task.update", () => s.task.update({ id: task.id, data: { secret: 2 } })],
      ["task.delete", () => s.task.delete({ id: task.id })],
    ];
    for (const [name, attempt] of attempts) {
      await expect(attempt(), name).rejects.toMatchObject({ code: "NOT_FOUND" });
    }
    expect((await s.project.list()).count).toBe(0);
    // Nothing the stranger tried changed anything.
    expect(await owner.caller.task.byId({ id: task.id })).toMatchObject({ data: { secret: 1 } });
    expect(await owner.caller.project.byId({ id: project.id })).toMatchObject({
      title: "Private",
      task_number: 1,
    });
  });

  it("refuses callers without credentials or with an unknown token", async () => {
    const anonymous = createCaller(createTRPCContext({ db: tdb.db, headers: {} }));
    await expect(anonymous.project.list()).rejects.toMatchObject({
      code: "UNAUTHORIZED",
      message: "Authentication credentials were not provided.",
    });
    const wrong = createCaller(
      createTRPCContext({ db: tdb.db, headers: { authorization: "Token nope-nope-nope" } }),
    );
    await expect(wrong.project.list()).rejects.toMatchObject({
      code: "UNAUTHORIZED",
      message: "Invalid token.",
    });
  });

  it("accepts Token with several spaces and X-Api-Key", async () => {
    const owner = await createTenant(tdb.db);
    for (const headers of [
      { authorization: `Token   ${owner.token}` },
      { "x-api-key": owner.token },
    ]) {
      const caller = createCaller(createTRPCContext({ db: tdb.db, headers }));
      await expect(caller.project.list()).resolves.toMatchObject({ count: 0 });
    }
  });
});

describe("project and task procedures", () => {
  it("lists, pages, updates and deletes", async () => {
    const { caller } = await createTenant(tdb.db);
    const project = await caller.project.create({
      title: "Paging",
      label_config: '<View><Text name="t" value="$text"/></View>',
    });
    for (let i = 0; i < 5; i++)
      await caller.task.create({ data: { text: `t${i}` }, project: project.id });
    const page2 = await caller.task.list({ project: project.id, page: 2, page_size: 2 });
    expect(page2.total).toBe(5);
    expect(page2.tasks.map((t) => t.inner_id)).toEqual([3, 4]);
    await expect(
      caller.task.list({ project: project.id, page: 4, page_size: 2 }),
    ).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    const first = page2.tasks[0];
    if (!first) throw new Error("no task");
    const updated = await caller.task.update({
      id: first.id,
      data: { text: "changed" },
      overlap: 2,
    });
    expect(updated).toMatchObject({
      data: { text: "changed" },
      overlap: 2,
      updated_by: expect.any(Number),
    });
    await expect(caller.task.update({ id: first.id, data: { other: 1 } })).rejects.toMatchObject({
      code: "BAD_REQUEST",
    });
    await caller.task.delete({ id: first.id });
    await expect(caller.task.byId({ id: first.id })).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect((await caller.project.byId({ id: project.id })).task_number).toBe(4);
    const next = await caller.task.create({ data: { text: "after delete" }, project: project.id });
    expect(next.inner_id).toBe(6);
    await caller.project.delete({ id: project.id });
    await expect(caller.task.byId({ id: next.id })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("creates a project without a title, as Label Studio does, and a partial update keeps fields", async () => {
    const { caller } = await createTenant(tdb.db);
    const untitled = await caller.project.create({});
    expect(untitled).toMatchObject({
      title: "",
      label_config: "<View></View>",
      maximum_annotations: 1,
    });
    const named = await caller.project.update({ id: untitled.id, title: "Named" });
    const described = await caller.project.update({ id: untitled.id, description: "only this" });
    expect(named.title).toBe("Named");
    expect(described).toMatchObject({ title: "Named", description: "only this" });
  });

  it("rejects a malformed label config with the reason", async () => {
    const { caller } = await createTenant(tdb.db);
    await expect(
      caller.project.create({ title: "Bad", label_config: "<View><Text name='t'" }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/^label_config: Label config is not well-formed XML/),
    });
    await expect(
      caller.project.create({ title: "Bad", label_config: "<Text/>" }),
    ).rejects.toMatchObject({
      message: expect.stringMatching(/<View> as its root/),
    });
  });
});
