/**
 * What a server process remembers between requests (API keys, its projects' task rules) and
 * how creates are batched across projects, with two server processes on one PostgreSQL: a
 * revocation or a label config change made through one process holds for the other.
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "./support/database";
import { postJson, sleep } from "./support/load";
import { seedTenant } from "./support/seed";
import { startTaskport, type TaskportProcess } from "./support/server";

let database: Awaited<ReturnType<typeof createDatabase>>;
let a: TaskportProcess;
let b: TaskportProcess;
let tenant: Awaited<ReturnType<typeof seedTenant>>;

beforeAll(async () => {
  database = await createDatabase();
  tenant = await seedTenant(database.url, 20);
  [a, b] = await Promise.all([
    startTaskport({ DATABASE_URL: database.url, DATABASE_POOL_SIZE: "6" }),
    startTaskport({ DATABASE_URL: database.url, DATABASE_POOL_SIZE: "6" }),
  ]);
});
afterAll(async () => {
  await Promise.all([a?.kill("SIGKILL"), b?.kill("SIGKILL")]);
  await database?.drop();
});

const whoami = (server: TaskportProcess, key: string) =>
  fetch(`${server.url}/api/current-user/whoami`, { headers: { authorization: `Token ${key}` } });

async function patchConfig(server: TaskportProcess, project: number, labelConfig: string) {
  const res = await fetch(`${server.url}/api/projects/${project}/`, {
    method: "PATCH",
    headers: { "content-type": "application/json", authorization: `Token ${tenant.token}` },
    body: JSON.stringify({ label_config: labelConfig }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

async function create(server: TaskportProcess, project: number, data: Record<string, unknown>) {
  const res = await postJson(`${server.url}/api/tasks/`, tenant.token, { data, project });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("two server processes on one PostgreSQL", () => {
  it("a revoked API key fails on its next request in the revoking process and within a second in the other", async () => {
    const made = await postJson(`${a.url}/api/tokens/`, tenant.token, {
      name: "short-lived",
      kind: "key",
    });
    expect(made.status).toBe(201);
    const { id, token: key } = (await made.json()) as { id: number; token: string };
    // Both processes have just accepted the key (and may remember it).
    for (const server of [a, b, a, b]) expect((await whoami(server, key)).status).toBe(200);

    const revoked = await fetch(`${a.url}/api/tokens/${id}/`, {
      method: "DELETE",
      headers: { authorization: `Token ${tenant.token}` },
    });
    expect(revoked.status).toBe(204);
    const revokedAt = Date.now();
    expect((await whoami(a, key)).status).toBe(401);

    const polls: { sentAfterMs: number; status: number }[] = [];
    while (Date.now() - revokedAt < 1_600) {
      const sentAfterMs = Date.now() - revokedAt;
      polls.push({ sentAfterMs, status: (await whoami(b, key)).status });
      await sleep(25);
    }
    // Every request sent a second or more after the revocation is refused.
    expect(polls.filter((p) => p.sentAfterMs >= 1_000 && p.status !== 401)).toEqual([]);
    expect(polls.filter((p) => p.status !== 200 && p.status !== 401)).toEqual([]);
    expect((await whoami(a, key)).status).toBe(401);
  });

  it("a label config changed through one process applies to the other's next create, both ways", async () => {
    const project = tenant.projectIds[0] as number;
    const textOnly = '<View><Text name="text" value="$text"/></View>';
    const withTitle =
      '<View><Text name="text" value="$text"/><Text name="title" value="$title"/></View>';
    // B checks a create against the project (and may remember its rules).
    expect((await create(b, project, { text: "one", title: "t" })).status).toBe(201);

    await patchConfig(a, project, withTitle);
    const refused = await create(b, project, { text: "no title" });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain("title");
    expect((await create(b, project, { text: "two", title: "t" })).status).toBe(201);

    await patchConfig(a, project, textOnly);
    const accepted = await create(b, project, { text: "no title needed" });
    expect(accepted.status).toBe(201);
    expect(accepted.body.inner_id).toBe(3);
  });

  it("creates spread over 20 projects through both processes: all acknowledged, each project's inner_ids 1..n", async () => {
    const projects = tenant.projectIds.slice(1);
    const deleted = projects.pop() as number;
    const statuses = new Map<number, number>();
    const acknowledged: { project: number; id: number }[] = [];
    const clients = Array.from({ length: 16 }, async (_, c) => {
      for (let k = 0; k < 60; k++) {
        // Every 10th create goes to a project deleted meanwhile: only those fail (404).
        const project =
          k % 10 === 9 ? deleted : (projects[(c * 7 + k) % projects.length] as number);
        const res = await create(c % 2 ? a : b, project, { text: `c${c} k${k}` });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 201) acknowledged.push({ project, id: res.body.id as number });
        else expect(project).toBe(deleted);
      }
    });
    const deleting = (async () => {
      await sleep(200);
      const res = await fetch(`${a.url}/api/projects/${deleted}/`, {
        method: "DELETE",
        headers: { authorization: `Token ${tenant.token}` },
      });
      expect(res.status).toBe(204);
    })();
    await Promise.all([...clients, deleting]);
    expect([...statuses.keys()].filter((s) => s !== 201 && s !== 404)).toEqual([]);
    expect(acknowledged.filter((r) => r.project !== deleted).length).toBe(16 * 54);

    const sql = postgres(database.url, { max: 1, onnotice: () => {} });
    try {
      const rows = await sql<{ id: string; project_id: number; inner_id: string }[]>`
        select id, project_id, inner_id from tasks where project_id in ${sql(projects)}
        order by project_id, inner_id`;
      const ids = new Set(rows.map((r) => Number(r.id)));
      expect(acknowledged.filter((r) => r.project !== deleted && !ids.has(r.id))).toEqual([]);
      expect(rows.length).toBe(16 * 54);
      for (const project of projects) {
        const innerIds = rows
          .filter((r) => r.project_id === project)
          .map((r) => Number(r.inner_id));
        expect(innerIds).toEqual(Array.from({ length: innerIds.length }, (_, i) => i + 1));
        const [counter] = await sql<{ task_number: number; last_inner_id: string }[]>`
          select task_number, last_inner_id from projects where id = ${project}`;
        expect(counter).toEqual({
          task_number: innerIds.length,
          last_inner_id: String(innerIds.length),
        });
      }
    } finally {
      await sql.end();
    }
  });
});
