/**
 * Import benchmark on PostgreSQL. Prints figures, asserts nothing but the absence of
 * duplicates. In one run, on a fresh database of the server named by BENCH_DATABASE_URL (or
 * TEST_DATABASE_URL), with the same N rows each time:
 *   1. the import service in-process (one request, one transaction, rows streamed from a file);
 *   2. `taskport import` of a JSONL file over HTTP (chunks with idempotency keys) against an
 *      API server in this process, whose peak RSS is sampled during the import;
 *   3. the same command again (every chunk a replay: nothing may be created);
 *   4. PostgreSQL's own `COPY ... FROM STDIN` of the same rows into the same table.
 *
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
 *     pnpm --filter @taskport/bench bench:import [--tasks 100000]
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  createCaller,
  createToken,
  createTRPCContext,
  createUserWithOrganization,
  importTasks,
} from "@taskport/api";
import { createPostgresDb, migratePostgres } from "@taskport/api/db";
import { createApiHandler } from "@taskport/api/http";
import { readItems } from "@taskport/api/import-formats";
import postgres from "postgres";

const { values } = parseArgs({ options: { tasks: { type: "string", default: "100000" } } });
const N = Number(values.tasks);
const baseUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
if (!baseUrl)
  throw new Error("Set BENCH_DATABASE_URL (or TEST_DATABASE_URL) to a PostgreSQL server.");
const BIN = fileURLToPath(new URL("../apps/cli/bin/taskport.mjs", import.meta.url));

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

/** Peak RSS of this process while `work` runs, sampled every 50 ms. */
async function withPeakRss<T>(
  work: () => Promise<T>,
): Promise<{ value: T; peak: number; seconds: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 50);
  const started = performance.now();
  try {
    const value = await work();
    return { value, peak, seconds: (performance.now() - started) / 1000 };
  } finally {
    clearInterval(timer);
  }
}

function run(args: string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, ...env } },
      (error) => (error ? reject(error) : resolve()),
    );
    child.stderr?.pipe(process.stderr);
  });
}

const name = `taskport_bench_${randomBytes(4).toString("hex")}`;
const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
await admin.unsafe(`create database ${name}`);
const url = new URL(baseUrl);
url.pathname = `/${name}`;
const dir = await mkdtemp(join(tmpdir(), "taskport-bench-"));
try {
  await migratePostgres(url.toString());
  const db = createPostgresDb(url.toString(), { max: 10 });
  const raw = postgres(url.toString(), { max: 1, onnotice: () => {} });
  const user = await createUserWithOrganization(db, {
    email: "bench@example.com",
    password: "bench password",
  });
  const actor = { userId: user.id, organizationId: user.organizationId };
  const { token } = await createToken(db, actor, { name: "bench", kind: "key" }, undefined);
  const caller = createCaller(createTRPCContext({ db, headers: {}, actor }));
  const config = '<View><Text name="text" value="$text"/><Rating name="r" toName="text"/></View>';
  const [service, cli, copy] = await Promise.all(
    ["service", "cli", "copy"].map((title) =>
      caller.project.create({ title, label_config: config }),
    ),
  );
  if (!service || !cli || !copy) throw new Error("projects were not created");

  const file = join(dir, "tasks.jsonl");
  await pipeline(
    (function* () {
      for (let i = 0; i < N; i++)
        yield `${JSON.stringify({ text: `Review ${i}: the product arrived on time and works as described, five stars.`, rating: i % 5, source: "bench" })}\n`;
    })(),
    createWriteStream(file),
  );

  console.log(
    `PostgreSQL ${(await raw`show server_version`)[0]?.server_version}, ${N.toLocaleString("en-US")} tasks (${file})`,
  );
  const rss0 = process.memoryUsage.rss();

  const inProcess = await withPeakRss(() =>
    importTasks(db, actor, {
      project: service.id,
      sources: [{ items: readItems(createReadStream(file), "jsonl") }],
    }),
  );

  const api = await createApiHandler({ db, logError: (id, e) => console.error(id, e) });
  const server = createServer(api.handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const env = { TASKPORT_URL: base, TASKPORT_TOKEN: token };
  const overHttp = await withPeakRss(() => run(["import", file, "--project", String(cli.id)], env));
  const replay = await withPeakRss(() => run(["import", file, "--project", String(cli.id)], env));
  await new Promise((resolve) => server.close(resolve));
  await api.close();

  const [counted] =
    await raw`select count(*)::int as n, count(distinct inner_id)::int as d, max(inner_id)::int as m from tasks where project_id = ${cli.id}`;
  if (counted?.n !== N || counted.d !== N || counted.m !== N)
    throw new Error(`duplicates or gaps after the re-run: ${JSON.stringify(counted)}`);

  // COPY of the same rows into the same table (same columns the import fills), in CSV.
  const copyStarted = performance.now();
  const writable =
    await raw`copy tasks (project_id, inner_id, data, meta, overlap, created_by) from stdin with (format csv)`.writable();
  let innerId = 0;
  await pipeline(
    (async function* () {
      for await (const line of createInterface({ input: createReadStream(file) })) {
        innerId++;
        yield `${copy.id},${innerId},"${line.replaceAll('"', '""')}",{},1,${actor.userId}\n`;
      }
    })(),
    writable,
  );
  const copySeconds = (performance.now() - copyStarted) / 1000;

  const rate = (seconds: number) => N / seconds;
  const copyRate = rate(copySeconds);
  const rows = [
    ["import service, in-process, 1 request", inProcess.seconds, inProcess.peak],
    ["taskport import over HTTP (chunks of 5,000)", overHttp.seconds, overHttp.peak],
    ["taskport import re-run (all replays)", replay.seconds, replay.peak],
    ["COPY FROM STDIN (database's own limit)", copySeconds, null],
  ] as const;
  console.log(`\n| path | seconds | tasks/s | vs COPY | peak RSS of the server process |`);
  console.log(`| --- | --- | --- | --- | --- |`);
  for (const [label, seconds, peak] of rows) {
    console.log(
      `| ${label} | ${seconds.toFixed(2)} | ${Math.round(rate(seconds)).toLocaleString("en-US")} | ${(rate(seconds) / copyRate).toFixed(2)} | ${peak === null ? "-" : mib(peak)} |`,
    );
  }
  console.log(
    `\nRSS before the imports: ${mib(rss0)}; no duplicates after the re-run (${N} tasks, inner_id 1..${N}).`,
  );
  await raw.end();
  await db.$close();
} finally {
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
  await rm(dir, { recursive: true, force: true });
}
