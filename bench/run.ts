/**
 * `pnpm bench`: Taskport's write paths against the limits of what they run on, measured in one
 * run on this machine, printed as a markdown table (every figure beside what it is rated
 * against, the ratio and the target). Parts:
 *
 *   creates  REST and tRPC creates at 1 and 64 connections, into one project and spread over
 *            100, against pgbench's plain single-row insert at as many clients and the bare
 *            HTTP and tRPC stacks (no database) at the same concurrency; the typed client,
 *            batched or not, against the bare tRPC stack driven by the same client.
 *   import   REST imports (100,000 tasks in one JSON request; 1,000,000 in one uploaded JSONL
 *            file, with the API-only server's peak RSS) against `psql \copy` of a file holding
 *            exactly the rows the import writes, into a table like `tasks`; single creates
 *            into the same project while an import runs.
 *   pglite   the embedded database: creates and an import through the services against
 *            PGlite's own single-row INSERT and COPY, in one process.
 *   webhooks creates into a project with one active webhook against the same without one.
 *
 *   pnpm bench [--part creates,import,pglite] [--quick] [--seconds N] [--tasks N]
 *              [--big-tasks N] [--json] [--no-build]
 *
 * --quick: 3 s per measure, 64 connections only, 20,000/100,000-task imports. --no-build skips
 * `pnpm build` (the creates part runs the production server, Next.js included). --json prints
 * the rows for machines. A measure that fails (an error, a non-2xx answer, a missing row) fails
 * the run: the exit status is 1 and the failures are listed after the table.
 *
 * BENCH_DATABASE_URL names the PostgreSQL server (default postgres://postgres@127.0.0.1:5432/postgres);
 * the run creates its own database there and drops it at the end.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpus, totalmem } from "node:os";
import { parseArgs } from "node:util";
import {
  createCaller,
  createToken,
  createTRPCContext,
  createUserWithOrganization,
} from "@taskport/api";
import { createPostgresDb, migratePostgres } from "@taskport/api/db";
import postgres from "postgres";
import { type BenchConfig, LABEL_CONFIG, postgresTool, Report, root, type Seeded } from "./common";
import { measureCreates } from "./creates";
import { measureImports } from "./import";
import { measurePglite } from "./pglite";
import { measureWebhooks } from "./webhooks";

const PARTS = ["creates", "import", "pglite", "webhooks"] as const;
type Part = (typeof PARTS)[number];

const { values } = parseArgs({
  options: {
    part: { type: "string" },
    quick: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    "no-build": { type: "boolean", default: false },
    seconds: { type: "string" },
    tasks: { type: "string" },
    "big-tasks": { type: "string" },
  },
});
const quick = values.quick ?? false;
const parts = new Set<Part>(
  values.part
    ? values.part.split(",").map((p) => {
        if (!(PARTS as readonly string[]).includes(p))
          throw new Error(`--part ${p}: choose from ${PARTS.join(", ")}`);
        return p as Part;
      })
    : PARTS,
);

const config: BenchConfig = {
  quick,
  seconds: Number(values.seconds ?? (quick ? 3 : 8)),
  connections: quick ? [64] : [1, 64],
  tasks: Number(values.tasks ?? (quick ? 20_000 : 100_000)),
  bigTasks: Number(values["big-tasks"] ?? (quick ? 100_000 : 1_000_000)),
  build: !values["no-build"],
};

const report = new Report(values.json ?? false);

async function seed(dbUrl: string, dbName: string, cleanups: (() => Promise<void>)[]) {
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
  const newProject = async (title: string) =>
    (await caller.project.create({ title, label_config: LABEL_CONFIG })).id;
  const ids: number[] = [];
  for (let i = 0; i < 101; i++) ids.push(await newProject(`Bench ${i}`));
  const [one, ...spread] = ids as [number, ...number[]];
  return {
    dbUrl,
    userId: user.id,
    organizationId: user.organizationId,
    token,
    one,
    spread,
    newProject,
  };
}

async function main(): Promise<void> {
  const adminUrl = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const dbName = `taskport_bench_${randomBytes(4).toString("hex")}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const cleanups: (() => Promise<void>)[] = [];
  const started = performance.now();
  let server = "";
  try {
    // Both tools are needed by the parts on PostgreSQL: a missing one fails before anything runs.
    if (parts.has("creates")) postgresTool("pgbench");
    if (parts.has("import")) postgresTool("psql");
    await admin.unsafe(`create database ${dbName}`);
    const dbUrlObj = new URL(adminUrl);
    dbUrlObj.pathname = `/${dbName}`;
    const dbUrl = dbUrlObj.toString();
    server = String((await admin`show server_version`)[0]?.server_version ?? "?");
    report.log(
      `database ${dbName} (PostgreSQL ${server}); parts ${[...parts].join(", ")}; ${config.seconds} s per measure`,
    );
    const seeded: Seeded = await seed(dbUrl, dbName, cleanups);
    if (parts.has("creates")) {
      if (config.build) {
        report.log("building the production server (pnpm build)...");
        execFileSync("pnpm", ["build"], {
          cwd: root,
          stdio: values.json ? "ignore" : ["ignore", 2, 2],
        });
      }
      await report.measure("creates", () => measureCreates(config, seeded, report, cleanups));
    }
    if (parts.has("import"))
      await report.measure("import", () => measureImports(config, seeded, report, cleanups));
    if (parts.has("pglite"))
      await report.measure("pglite", () => measurePglite(config, report, cleanups));
    if (parts.has("webhooks"))
      await report.measure("webhooks", () => measureWebhooks(config, seeded, report, cleanups));
  } catch (error) {
    report.fail(error instanceof Error ? (error.stack ?? error.message) : String(error));
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    await admin.unsafe(`drop database if exists ${dbName} with (force)`).catch(() => {});
    await admin.end({ timeout: 5 });
  }
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, PostgreSQL ${server}`;
  const minutes = (performance.now() - started) / 60_000;
  if (values.json) {
    console.log(
      JSON.stringify(
        { machine, config, parts: [...parts], rows: report.rows, failures: report.failures },
        null,
        2,
      ),
    );
  } else {
    console.log(
      `Taskport benchmark (${[...parts].join(", ")}; ${config.seconds} s per measure; ${minutes.toFixed(1)} min) on ${machine}\n`,
    );
    console.log(report.markdown());
    if (report.failures.length > 0)
      console.log(`\nFAILED measures:\n${report.failures.map((f) => `- ${f}`).join("\n")}`);
  }
  process.exitCode = report.failures.length > 0 ? 1 : 0;
}

await main();
