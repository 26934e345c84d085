/**
 * The `taskport` command against a running server: the API handler on a port-0 HTTP server
 * in this process, the CLI spawned as users run it (bin/taskport.mjs).
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { schema } from "@taskport/api/db";
import {
  type ApiServer,
  createTenant,
  createTestDatabase,
  startApiServer,
  type TestDatabase,
} from "@taskport/api/test-support";
import { asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { main } from "../src/main";

const BIN = fileURLToPath(new URL("../bin/taskport.mjs", import.meta.url));

let tdb: TestDatabase;
let server: ApiServer;
let base: string;
let dir: string;
let tenant: Awaited<ReturnType<typeof createTenant>>;
let projectId: number;

beforeAll(async () => {
  tdb = await createTestDatabase();
  server = await startApiServer({ db: tdb.db });
  base = server.base;
  dir = await mkdtemp(join(tmpdir(), "taskport-cli-"));
});
afterAll(async () => {
  await server?.close();
  await tdb?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await tdb.truncate();
  tenant = await createTenant(tdb.db);
  const project = await tenant.caller.project.create({
    title: "CLI",
    label_config: '<View><Text name="text" value="$text"/></View>',
  });
  projectId = project.id;
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function taskport(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        env: {
          PATH: process.env.PATH ?? "",
          TASKPORT_URL: base,
          TASKPORT_TOKEN: tenant.token,
          ...env,
        },
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The same command line run in this process (faster than spawning, same code path). */
async function inProcess(args: string[]): Promise<Run> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(
    ["node", "taskport", "--url", base, "--token", tenant.token, ...args],
    (line) => stdout.push(line),
    (line) => stderr.push(line),
  );
  return { code, stdout: stdout.join("\n"), stderr: stderr.join("\n") };
}

async function innerIdsAndTexts() {
  const rows = await tdb.db
    .select({ innerId: schema.tasks.innerId, data: schema.tasks.data })
    .from(schema.tasks)
    .where(eq(schema.tasks.projectId, projectId))
    .orderBy(asc(schema.tasks.innerId));
  return rows.map((r) => [r.innerId, r.data.text]);
}

const lines = (n: number, bad?: number) =>
  Array.from({ length: n }, (_, i) =>
    JSON.stringify(i === bad ? { title: "no text" } : { text: `line ${i}` }),
  ).join("\n");

describe("taskport import", () => {
  it("imports a JSONL file in chunks; re-running it creates nothing twice", async () => {
    const file = join(dir, "tasks.jsonl");
    await writeFile(file, `${lines(12_000)}\n`);
    const first = await taskport(["import", file, "--project", String(projectId)]);
    expect(first.stderr).toMatch(/Imported 12,000 tasks .* in 3 requests/);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ tasks: 12_000, chunks: 3, dry_run: false });
    const expected = Array.from({ length: 12_000 }, (_, i) => [i + 1, `line ${i}`]);
    expect(await innerIdsAndTexts()).toEqual(expected);

    const again = await taskport(["import", file, "--project", String(projectId)]);
    expect(again.code).toBe(0);
    expect(await innerIdsAndTexts()).toEqual(expected);
  });

  it("stops at a bad item with its number; after the fix a re-run completes without duplicates", async () => {
    const file = join(dir, "fix.jsonl");
    await writeFile(file, lines(12_000, 7_003));
    const failed = await taskport(["import", file, "--project", String(projectId)]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(
      'error: Error at item 7003: "text" key is expected in task data [assume: item as is = task root with values]  :: {"title":"no text"}',
    );
    expect(failed.stderr).toMatch(/5,000 tasks in 1 requests were imported before the error/);
    expect(await innerIdsAndTexts()).toHaveLength(5_000);

    await writeFile(file, lines(12_000));
    const fixed = await taskport(["import", file, "--project", String(projectId)]);
    expect(fixed.code).toBe(0);
    expect(await innerIdsAndTexts()).toEqual(
      Array.from({ length: 12_000 }, (_, i) => [i + 1, `line ${i}`]),
    );
  });

  it("--dry-run validates a CSV and creates nothing", async () => {
    const file = join(dir, "tasks.csv");
    await writeFile(file, 'text,other\n"a, quoted",1\nb,2\n');
    const run = await taskport(["import", file, "-p", String(projectId), "--dry-run"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/Validated 2 tasks/);
    expect(await innerIdsAndTexts()).toEqual([]);
  });

  it("explains an unknown format, a missing token and an unreachable server", async () => {
    const file = join(dir, "tasks.xml");
    await writeFile(file, "<x/>");
    const format = await taskport(["import", file, "-p", String(projectId)]);
    expect(format.code).toBe(1);
    expect(format.stderr).toMatch(/Cannot tell the format of tasks\.xml/);
    const noToken = await taskport(["projects", "list"], { TASKPORT_TOKEN: "" });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/No API token/);
    const down = await taskport(["projects", "list", "--url", "http://127.0.0.1:9"]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/Cannot reach the server/);
  });
});

describe("taskport tasks, projects, tokens, users", () => {
  it("creates and lists through the typed API", async () => {
    const created = await inProcess([
      "tasks",
      "create",
      "--project",
      String(projectId),
      "--data",
      '{"text": "from the CLI"}',
      "--idempotency-key",
      "cli-once",
    ]);
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({
      inner_id: 1,
      data: { text: "from the CLI" },
    });
    const replay = await inProcess([
      "tasks",
      "create",
      "-p",
      String(projectId),
      "-d",
      '{"text": "from the CLI"}',
      "--idempotency-key",
      "cli-once",
    ]);
    expect(JSON.parse(replay.stdout).id).toBe(JSON.parse(created.stdout).id);

    const bad = await inProcess(["tasks", "create", "-p", String(projectId), "-d", '{"nope": 1}']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/"text" key is expected in task data/);

    const project = await inProcess(["projects", "create", "--title", "Second"]);
    expect(project.code).toBe(0);
    const list = await inProcess(["projects", "list"]);
    expect(JSON.parse(list.stdout).results.map((p: { title: string }) => p.title)).toEqual([
      "Second",
      "CLI",
    ]);

    const token = await inProcess(["tokens", "create", "--name", "ci"]);
    expect(token.code).toBe(0);
    const secret = JSON.parse(token.stdout).token as string;
    const withNewToken = await inProcess(["--token", secret, "projects", "list"]);
    expect(withNewToken.code).toBe(0);

    const user = await inProcess([
      "users",
      "create",
      "--email",
      "Colleague@Example.com",
      "--password",
      "a long enough password",
    ]);
    expect(user.code).toBe(0);
    expect(JSON.parse(user.stdout)).toMatchObject({
      email: "colleague@example.com",
      organizationId: tenant.user.organizationId,
    });
  });
});
