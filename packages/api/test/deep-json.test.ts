/**
 * Task JSON nested far deeper than the limit, over real HTTP: every way in refuses it with the
 * same 400 and writes nothing, and a task already stored with such data (written before the
 * limit applied to imports) is still listed and read, over REST and tRPC.
 */

import { transformer } from "@taskport/schema";
import { createTRPCClient, httpLink } from "@trpc/client";
import { count, eq, sql } from "drizzle-orm";
import superjson from "superjson";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { projects, tasks } from "../src/db/schema";
import type { AppRouter } from "../src/index";
import { type RestServer, send, startRestServer } from "./rest/server";
import { createTenant } from "./support/fixtures";

let rest: RestServer;
let tenant: Awaited<ReturnType<typeof createTenant>>;
let projectId: number;

function nested(depth: number): unknown {
  let value: unknown = "leaf";
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

function depthOf(value: unknown): number {
  let depth = 0;
  for (let v = value; v !== null && typeof v === "object"; v = (v as { a: unknown }).a) depth++;
  return depth;
}

beforeAll(async () => {
  rest = await startRestServer(10 * 1024 * 1024);
});
afterAll(async () => {
  await rest?.close();
});
beforeEach(async () => {
  await rest.tdb.truncate();
  tenant = await createTenant(rest.tdb.db);
  projectId = (
    await tenant.caller.project.create({
      title: "Deep",
      label_config: '<View><Text name="text" value="$text"/></View>',
    })
  ).id;
});

const call = (method: string, path: string, options: Parameters<typeof send>[3] = {}) =>
  send(rest.base, method, path, { ...options, headers: { ...tenant.headers, ...options.headers } });

async function taskCount() {
  const [row] = await rest.tdb.db.select({ n: count() }).from(tasks);
  return row?.n ?? 0;
}

/** A tRPC client; by default as the README writes one, with plain superjson. */
function trpc(wire: typeof transformer = superjson) {
  return createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${rest.base}/api/trpc`, transformer: wire, headers: tenant.headers })],
  });
}

describe("a task nested 3,000 deep", () => {
  const deep = nested(3_000);
  const tooDeep = /^data\.deep(\.a)+ is nested deeper than 100 levels\.$/;

  it("is a 400 on every way in, as a single create is, and nothing is written", async () => {
    const single = await call("POST", "/api/tasks/", {
      json: { data: { text: "x", deep }, project: projectId },
    });
    expect(single.status).toBe(400);
    expect(single.body.validation_errors.data[0]).toMatch(tooDeep);

    const imported = await call("POST", `/api/projects/${projectId}/import`, {
      json: [{ data: { text: "fine" } }, { data: { text: "x", deep } }],
    });
    expect(imported.status, imported.text.slice(0, 300)).toBe(400);
    const [message] = imported.body.validation_errors.non_field_errors as string[];
    expect(message?.split(" :: ")[0]).toMatch(
      /^Error at item 1: data\.deep(\.a)+ is nested deeper than 100 levels\.$/,
    );

    const file = new FormData();
    file.append("file", new Blob([`${JSON.stringify({ text: "x", deep })}\n`]), "deep.jsonl");
    const upload = await call("POST", `/api/projects/${projectId}/import`, { body: file });
    expect(upload.status).toBe(400);
    expect(upload.body.validation_errors.non_field_errors[0]).toMatch(
      /^Error at item 0: data\.deep/,
    );

    // The typed client (@taskport/client's transformer) can send what superjson cannot walk.
    const typed = await trpc(transformer)
      .task.import.mutate({ project: projectId, items: [{ text: "x", deep }] })
      .catch((error: unknown) => error);
    expect(typed).toMatchObject({ data: { code: "BAD_REQUEST", httpStatus: 400 } });

    expect(await taskCount()).toBe(0);
    const [project] = await rest.tdb.db.select().from(projects).where(eq(projects.id, projectId));
    expect(project).toMatchObject({ taskNumber: 0, lastInnerId: 0 });
  });

  it("stored before the limit applied, is still listed and read, over REST and tRPC", async () => {
    // Written as an import wrote it before the limit applied to imports.
    const [row] = await rest.tdb.db
      .insert(tasks)
      .values({
        projectId,
        innerId: 1,
        data: { text: "stored", deep } as Record<string, unknown>,
        overlap: 1,
        createdBy: tenant.user.id,
      })
      .returning({ id: tasks.id });
    await rest.tdb.db
      .update(projects)
      .set({ taskNumber: 1, lastInnerId: 1 })
      .where(eq(projects.id, projectId));
    const id = row?.id as number;

    const list = await call("GET", `/api/tasks/?project=${projectId}`);
    expect(list.status).toBe(200);
    expect(depthOf(list.body.tasks[0].data.deep)).toBe(3_000);
    const one = await call("GET", `/api/tasks/${id}/`);
    expect(one.status).toBe(200);
    expect(depthOf(one.body.data.deep)).toBe(3_000);

    const client = trpc();
    const page = await client.task.list.query({ project: projectId, ordering: "-inner_id" });
    expect(page.tasks[0]?.created_at).toBeInstanceOf(Date);
    expect(depthOf(page.tasks[0]?.data.deep)).toBe(3_000);
    const byId = await client.task.byId.query({ id });
    expect(depthOf(byId.data.deep)).toBe(3_000);
    expect(rest.logged).toEqual([]);
  });

  it("stored deeper than JSON.stringify can follow, is still read over REST", async () => {
    // Written as text: JSON.stringify itself cannot write it.
    const depth = 5_000;
    const text = `{"deeper":${'{"a":'.repeat(depth)}"leaf"${"}".repeat(depth + 1)}`;
    await rest.tdb.db.execute(
      sql`insert into tasks (project_id, inner_id, data, meta, overlap)
          values (${projectId}, 1, ${text}::jsonb, '{}', 1)`,
    );
    const [row] = await rest.tdb.db
      .select({ id: tasks.id })
      .from(tasks)
      .where(eq(tasks.projectId, projectId));
    const one = await call("GET", `/api/tasks/${row?.id}/`);
    expect(one.status).toBe(200);
    expect(depthOf(one.body.data.deeper)).toBe(depth);
  });
});
