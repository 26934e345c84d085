/**
 * `pnpm bench`: Taskport's write path against the database's own limits, measured in one run
 * on this machine. Builds and starts the production server on a fresh PostgreSQL database,
 * seeds a tenant and projects, drives load from a separate process (autocannon), runs pgbench
 * and COPY for the same rows, and prints each figure beside its limit and the ratio. Imports
 * have their own benchmark (import.ts, `pnpm --filter @taskport/bench bench:import`), and so
 * do storage syncs (storage.ts, `pnpm --filter @taskport/bench bench:storage`).
 *
 *   pnpm bench [--quick] [--json] [--no-build]
 *
 * BENCH_DATABASE_URL names the PostgreSQL server (default postgres://postgres@127.0.0.1:5432/postgres);
 * the run creates its own database there and drops it at the end.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import {
  createCaller,
  createToken,
  createTRPCContext,
  createUserWithOrganization,
} from "@taskport/api";
import { createPostgresDb, migratePostgres } from "@taskport/api/db";
import Table from "cli-table3";
import postgres from "postgres";
import type { LoadResult, LoadSpec } from "./load";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const webDir = join(root, "apps", "web");
const args = new Set(process.argv.slice(2));
const quick = args.has("--quick");
const asJson = args.has("--json");
const SECONDS = quick ? 3 : 10;
const CONNECTIONS = quick ? [1, 64] : [1, 16, 64];
const COPY_ROWS = quick ? 20_000 : 100_000;
const PROJECTS = 100;
const LABEL_CONFIG = '<View><Text name="text" value="$text"/></View>';
const PGBENCH = process.env.PGBENCH ?? "/usr/lib/postgresql/15/bin/pgbench";

const log = (message: string) => {
  if (!asJson) console.error(`[bench] ${message}`);
};

interface Row {
  group: string;
  measure: string;
  value: number;
  unit: string;
  p50?: number;
  p99?: number;
  errors?: number;
  limit?: { name: string; value: number };
}
const rows: Row[] = [];

function nodeTsx(
  script: string,
  scriptArgs: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", script, ...scriptArgs], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Starts a helper server that prints {"port": N} on its first line. */
async function startPortServer(script: string): Promise<{ port: number; child: ChildProcess }> {
  const child = nodeTsx(join(here, script), ["0"], { cwd: here });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d) => {
      out += d;
      const line = out.split("\n")[0];
      if (out.includes("\n") && line) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return { port, child };
}

async function load(spec: LoadSpec): Promise<LoadResult> {
  const child = nodeTsx(join(here, "load.ts"), [JSON.stringify(spec)], { cwd: here });
  let out = "";
  let err = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  child.stderr?.on("data", (d) => {
    err += d;
  });
  const code = await new Promise((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`load generator failed: ${err}`);
  return JSON.parse(out.trim().split("\n").pop() ?? "{}") as LoadResult;
}

async function waitHealthy(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited:\n${output()}`);
    try {
      if ((await fetch(`${url}/api/health`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`server not healthy:\n${output()}`);
}

async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

async function startTaskport(env: NodeJS.ProcessEnv) {
  const port = await freePort();
  const child = nodeTsx("server.ts", [], {
    cwd: webDir,
    env: {
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      PORT: String(port),
      HOST: "127.0.0.1",
      ...env,
    },
  });
  let output = "";
  child.stdout?.on("data", (d) => {
    output += d;
  });
  child.stderr?.on("data", (d) => {
    output += d;
  });
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(url, child, () => output);
  return {
    url,
    child,
    rssMb: () => rssOf(child.pid),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

function rssOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return kb / 1024;
  } catch {
    return 0;
  }
}

function pgbench(dbUrl: string, script: string, clients: number): number {
  const dir = mkdtempSync(join(tmpdir(), "taskport-pgbench-"));
  const file = join(dir, "script.sql");
  writeFileSync(file, script);
  const url = new URL(dbUrl);
  try {
    const out = execFileSync(
      PGBENCH,
      [
        "-n",
        "-c",
        String(clients),
        "-j",
        String(Math.min(clients, 2)),
        "-T",
        String(SECONDS),
        "-f",
        file,
        "-h",
        url.hostname,
        "-p",
        url.port || "5432",
        "-U",
        decodeURIComponent(url.username || "postgres"),
        url.pathname.slice(1),
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    );
    return Number(/tps = ([\d.]+)/.exec(out)?.[1] ?? 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

type Cleanups = (() => Promise<void>)[];

interface Seeded {
  userId: number;
  token: string;
  /** The project every one-project measure writes to. */
  one: number;
  copyProject: number;
  spread: number[];
}

/** A tenant with an API key and its projects, on a fresh migrated database. */
async function seed(dbUrl: string, dbName: string, cleanups: Cleanups): Promise<Seeded> {
  log(`database ${dbName}; ${quick ? "quick" : "full"} run, ${SECONDS} s per measure`);
  await migratePostgres(dbUrl);
  const db = createPostgresDb(dbUrl, { max: 4 });
  cleanups.push(() => db.$close());
  const user = await createUserWithOrganization(db, {
    email: `bench-${dbName}@example.com`,
    password: "bench-password",
  });
  const actor = { userId: user.id, organizationId: user.organizationId };
  const { token } = await createToken(db, actor, { name: "bench", kind: "key" }, undefined);
  const caller = createCaller(createTRPCContext({ db, headers: {}, actor }));
  const projectIds: number[] = [];
  for (let i = 0; i < PROJECTS + 2; i++) {
    const p = await caller.project.create({ title: `Bench ${i}`, label_config: LABEL_CONFIG });
    projectIds.push(p.id);
  }
  const [one, copyProject, ...spread] = projectIds as [number, number, ...number[]];
  return { userId: user.id, token, one, copyProject, spread };
}

interface Ceilings {
  http: LoadResult;
  trpc: LoadResult;
  top: number;
}

/** What the request paths cost without a database: bare node:http and the tRPC stack. */
async function measureCeilings({ one, token }: Seeded, cleanups: Cleanups): Promise<Ceilings> {
  // Ceilings of the request paths, without a database.
  const http = await startPortServer("ceiling-http.ts");
  cleanups.push(async () => void http.child.kill());
  const trpc = await startPortServer("ceiling-trpc.ts");
  cleanups.push(async () => void trpc.child.kill());
  const top = CONNECTIONS[CONNECTIONS.length - 1] ?? 64;
  log(`ceilings at ${top} connections...`);
  const httpCeiling = await load({
    url: `http://127.0.0.1:${http.port}`,
    path: "/api/tasks/",
    connections: top,
    seconds: SECONDS,
    shape: "rest",
    projects: [one],
  });
  const trpcCeiling = await load({
    url: `http://127.0.0.1:${trpc.port}`,
    path: "/api/trpc/task.create",
    connections: top,
    seconds: SECONDS,
    shape: "trpc",
    projects: [one],
    token,
  });
  http.child.kill();
  trpc.child.kill();
  rows.push({
    group: "ceilings",
    measure: `bare node:http, fixed 201 (${top} conn)`,
    value: httpCeiling.rps,
    unit: "req/s",
    p50: httpCeiling.p50,
    p99: httpCeiling.p99,
  });
  rows.push({
    group: "ceilings",
    measure: `tRPC stack, fixed result (${top} conn)`,
    value: trpcCeiling.rps,
    unit: "req/s",
    p50: trpcCeiling.p50,
    p99: trpcCeiling.p99,
  });
  return { http: httpCeiling, trpc: trpcCeiling, top };
}

/** The database's own limits for the same writes (pgbench), by measure and clients. */
async function measureDatabase(
  dbUrl: string,
  { userId, one, spread }: Seeded,
  dbAdmin: postgres.Sql,
): Promise<Record<string, number>> {
  // The database's own limits, same machine, same run.
  await dbAdmin.unsafe(
    `create table bench_plain (id bigint generated always as identity primary key, data jsonb not null, created_at timestamptz not null default now())`,
  );
  const plainScript = `INSERT INTO bench_plain (data) VALUES ('{"text": "pgbench"}');\n`;
  const counterScript = (p: string) => `${p}
BEGIN;
UPDATE projects SET last_inner_id = last_inner_id + 1, task_number = task_number + 1 WHERE id = :p RETURNING last_inner_id AS inner \\gset
INSERT INTO tasks (project_id, inner_id, data, meta, overlap, created_by) VALUES (:p, :inner, '{"text": "pgbench"}', '{}', 1, ${userId});
COMMIT;
`;
  const spreadFirst = spread[0] ?? one;
  const spreadLast = spread[spread.length - 1] ?? one;
  const limits: Record<string, number> = {};
  for (const c of CONNECTIONS) {
    log(`pgbench at ${c} clients...`);
    limits[`plain${c}`] = pgbench(dbUrl, plainScript, c);
    limits[`counter1_${c}`] = pgbench(dbUrl, counterScript(`\\set p ${one}`), c);
    limits[`counter100_${c}`] = pgbench(
      dbUrl,
      counterScript(`\\set p random(${spreadFirst}, ${spreadLast})`),
      c,
    );
    rows.push({
      group: "database",
      measure: `pgbench plain single-row insert (${c} clients)`,
      value: limits[`plain${c}`] ?? 0,
      unit: "tx/s",
    });
    rows.push({
      group: "database",
      measure: `pgbench task + inner_id counter, one project (${c})`,
      value: limits[`counter1_${c}`] ?? 0,
      unit: "tx/s",
    });
    rows.push({
      group: "database",
      measure: `pgbench task + inner_id counter, 100 projects (${c})`,
      value: limits[`counter100_${c}`] ?? 0,
      unit: "tx/s",
    });
  }
  return limits;
}

/** PostgreSQL's COPY of the same rows: the fastest any import could write them. */
async function measureCopy({ userId, copyProject }: Seeded, dbAdmin: postgres.Sql) {
  // COPY of the same rows.
  log(`COPY of ${COPY_ROWS} rows...`);
  const copyStart = performance.now();
  const writable =
    await dbAdmin`copy tasks (project_id, inner_id, data, meta, overlap, created_by) from stdin`.writable();
  await pipeline(
    Readable.from(
      (function* () {
        for (let i = 1; i <= COPY_ROWS; i++)
          yield `${copyProject}\t${i}\t{"text": "copy ${i}"}\t{}\t1\t${userId}\n`;
      })(),
    ),
    writable,
  );
  const copyRate = COPY_ROWS / ((performance.now() - copyStart) / 1000);
  await dbAdmin`update projects set last_inner_id = ${COPY_ROWS}, task_number = ${COPY_ROWS} where id = ${copyProject}`;
  rows.push({
    group: "database",
    measure: `COPY ${COPY_ROWS} task rows`,
    value: copyRate,
    unit: "rows/s",
  });
}

type Server = Awaited<ReturnType<typeof startTaskport>>;

/** Creates over REST and tRPC, into one project and into 100, at each connection count. */
async function measureCreates(
  server: Server,
  { token, one, spread }: Seeded,
  { http: httpCeiling, trpc: trpcCeiling, top }: Ceilings,
  limits: Record<string, number>,
): Promise<void> {
  const restProbe = await fetch(`${server.url}/api/tasks/`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Token ${token}` },
    body: JSON.stringify({ data: { text: "probe" }, project: one }),
  });
  const hasRest = restProbe.status === 201;
  if (!hasRest) log(`POST /api/tasks/ answered ${restProbe.status}: REST figures skipped`);
  let peakRss = server.rssMb();
  for (const shape of hasRest ? (["rest", "trpc"] as const) : (["trpc"] as const)) {
    const path = shape === "rest" ? "/api/tasks/" : "/api/trpc/task.create";
    for (const c of CONNECTIONS) {
      for (const [where, projects] of [
        ["one project", [one]],
        ["100 projects", spread],
      ] as const) {
        log(`${shape} creates, ${c} connections, ${where}...`);
        const r = await load({
          url: server.url,
          path,
          connections: c,
          seconds: SECONDS,
          shape,
          projects: [...projects],
          token,
        });
        peakRss = Math.max(peakRss, server.rssMb());
        const dbLimit =
          where === "one project" ? limits[`counter1_${c}`] : limits[`counter100_${c}`];
        const ceiling = shape === "rest" ? httpCeiling.rps : trpcCeiling.rps;
        const lesser = Math.min(ceiling, limits[`plain${c}`] ?? ceiling);
        rows.push({
          group: `taskport ${shape}`,
          measure: `${shape === "rest" ? "POST /api/tasks/" : "tRPC task.create"}, ${where} (${c} conn)`,
          value: r.rps,
          unit: "req/s",
          p50: r.p50,
          p99: r.p99,
          errors: r.errors + r.non2xx,
          limit:
            c === top && where === "one project"
              ? { name: "lesser of ceiling and plain insert", value: lesser }
              : { name: "pgbench counter tx", value: dbLimit ?? 0 },
        });
      }
    }
  }
  rows.push({
    group: "taskport",
    measure: "server peak RSS during the create runs",
    value: peakRss,
    unit: "MB",
  });
}

/** The typed client: the same creates, one HTTP request each or batched by httpBatchLink. */
async function measureTypedClient(
  server: Server,
  { token, one }: Seeded,
  trpcCeiling: LoadResult,
): Promise<void> {
  for (const batched of [false, true]) {
    log(
      `tRPC client, 16 workers x 50 creates at a time, ${batched ? "httpBatchLink" : "httpLink"}...`,
    );
    const child = nodeTsx(
      join(here, "batch.ts"),
      [
        JSON.stringify({
          url: server.url,
          token,
          project: one,
          workers: 16,
          batch: 50,
          seconds: SECONDS,
          batched,
        }),
      ],
      { cwd: here },
    );
    let out = "";
    child.stdout?.on("data", (d) => {
      out += d;
    });
    await new Promise((resolve) => child.once("exit", resolve));
    const r = JSON.parse(out.trim().split("\n").pop() ?? "{}") as { rps: number; failed: number };
    rows.push({
      group: "taskport trpc",
      measure: `typed client, ${batched ? "httpBatchLink (50 per request)" : "httpLink (1 per request)"}, one project`,
      value: r.rps,
      unit: "tasks/s",
      errors: r.failed,
      limit: { name: "tRPC ceiling", value: trpcCeiling.rps },
    });
  }
}

/** The embedded database, for scale: tRPC creates on PGlite. */
async function measurePglite(cleanups: Cleanups): Promise<void> {
  log("starting Taskport on PGlite...");
  const dataDir = mkdtempSync(join(tmpdir(), "taskport-bench-pglite-"));
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  const liteToken = `bench_${randomBytes(12).toString("hex")}`;
  const lite = await startTaskport({
    DATABASE_URL: "",
    PGLITE_DIR: join(dataDir, "pglite"),
    TASKPORT_ADMIN_EMAIL: "bench@example.com",
    TASKPORT_ADMIN_PASSWORD: "bench-password",
    TASKPORT_ADMIN_TOKEN: liteToken,
  });
  cleanups.push(() => lite.stop());
  const created = await fetch(`${lite.url}/api/trpc/project.create`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Token ${liteToken}` },
    body: JSON.stringify({ json: { title: "Bench", label_config: LABEL_CONFIG } }),
  });
  const liteProject = ((await created.json()) as { result: { data: { json: { id: number } } } })
    .result.data.json.id;
  const liteRuns: number[] = [];
  let liteLast: LoadResult | undefined;
  for (let i = 0; i < (quick ? 1 : 3); i++) {
    liteLast = await load({
      url: lite.url,
      path: "/api/trpc/task.create",
      connections: 16,
      seconds: SECONDS,
      shape: "trpc",
      projects: [liteProject],
      token: liteToken,
    });
    liteRuns.push(liteLast.rps);
  }
  rows.push({
    group: "pglite",
    measure: "tRPC task.create on PGlite, one project (16 conn, median)",
    value: median(liteRuns),
    unit: "req/s",
    p50: liteLast?.p50,
    p99: liteLast?.p99,
    errors: (liteLast?.errors ?? 0) + (liteLast?.non2xx ?? 0),
  });
  await lite.stop();
  await lite.stop();
}

async function main() {
  const adminUrl = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const dbName = `taskport_bench_${randomBytes(4).toString("hex")}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${dbName}`);
  const dbUrlObj = new URL(adminUrl);
  dbUrlObj.pathname = `/${dbName}`;
  const dbUrl = dbUrlObj.toString();
  const cleanups: Cleanups = [];
  try {
    const seeded = await seed(dbUrl, dbName, cleanups);
    if (!args.has("--no-build")) {
      log("building the production server (pnpm build)...");
      execFileSync("pnpm", ["build"], { cwd: root, stdio: asJson ? "ignore" : ["ignore", 2, 2] });
    }
    const ceilings = await measureCeilings(seeded, cleanups);
    const dbAdmin = postgres(dbUrl, { max: 1, onnotice: () => {} });
    cleanups.push(() => dbAdmin.end({ timeout: 5 }));
    const limits = await measureDatabase(dbUrl, seeded, dbAdmin);
    await measureCopy(seeded, dbAdmin);
    log("starting Taskport on PostgreSQL...");
    const server = await startTaskport({ DATABASE_URL: dbUrl });
    cleanups.push(() => server.stop());
    await measureCreates(server, seeded, ceilings, limits);
    await measureTypedClient(server, seeded, ceilings.trpc);
    await server.stop();
    await measurePglite(cleanups);
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    await admin.unsafe(`drop database if exists ${dbName} with (force)`).catch(() => {});
    await admin.end({ timeout: 5 });
  }
  printRows();
}

/** The figures, as a table or (--json) as JSON. */
function printRows(): void {
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
  if (asJson) {
    console.log(JSON.stringify({ machine, quick, seconds: SECONDS, rows }, null, 2));
    return;
  }
  const table = new Table({
    head: ["measure", "value", "p50 ms", "p99 ms", "errors", "limit", "ratio"],
    style: { head: [], border: [] },
  });
  const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1));
  for (const r of rows) {
    table.push([
      r.measure,
      `${fmt(r.value)} ${r.unit}`,
      r.p50 === undefined ? "" : String(r.p50),
      r.p99 === undefined ? "" : String(r.p99),
      r.errors === undefined ? "" : String(r.errors),
      r.limit ? `${fmt(r.limit.value)} (${r.limit.name})` : "",
      r.limit?.value ? `${(r.value / r.limit.value).toFixed(2)}x` : "",
    ]);
  }
  console.log(
    `Taskport benchmark, ${quick ? "quick" : "full"} run, ${SECONDS} s per measure, on ${machine}`,
  );
  console.log(table.toString());
}

await main();
