/**
 * The creates part of `pnpm bench`. Every create figure is rated against a ceiling measured in
 * the same run at the same concurrency: REST against pgbench's plain single-row insert (the
 * database's own limit for one row per statement), with the bare node:http server beside it;
 * tRPC against the bare tRPC stack; the typed client against the bare tRPC stack driven by the
 * same client with the same batching. pgbench's one-task-plus-counter transaction is printed
 * for scale only: it is what Taskport would do without group commit, not a limit.
 */
import postgres from "postgres";
import {
  type BenchConfig,
  load,
  pgbench,
  type Report,
  runJson,
  type Seeded,
  type Server,
  startPortServer,
  startTaskport,
} from "./common";
import type { LoadResult } from "./load";

type Cleanups = (() => Promise<void>)[];

interface BatchResult {
  rps: number;
  created: number;
  failed: number;
}

export async function measureCreates(
  config: BenchConfig,
  seeded: Seeded,
  report: Report,
  cleanups: Cleanups,
): Promise<void> {
  const { seconds, connections } = config;
  const { one, spread, token } = seeded;
  const top = connections[connections.length - 1] ?? 64;

  // Ceilings of the request paths, without a database.
  const http = await startPortServer("ceiling-http.ts");
  cleanups.push(async () => void http.child.kill());
  const trpc = await startPortServer("ceiling-trpc.ts");
  cleanups.push(async () => void trpc.child.kill());
  const httpCeiling: Record<number, LoadResult> = {};
  const trpcCeiling: Record<number, LoadResult> = {};
  for (const c of connections) {
    report.log(`bare HTTP and tRPC stacks at ${c} connections...`);
    httpCeiling[c] = await load({
      url: `http://127.0.0.1:${http.port}`,
      path: "/api/tasks/",
      connections: c,
      seconds,
      shape: "rest",
      projects: [one],
    });
    trpcCeiling[c] = await load({
      url: `http://127.0.0.1:${trpc.port}`,
      path: "/api/trpc/task.create",
      connections: c,
      seconds,
      shape: "trpc",
      projects: [one],
      token,
    });
  }
  const clientSpec = (url: string, batched: boolean) => ({
    url,
    token,
    project: one,
    workers: 16,
    batch: 50,
    seconds,
    batched,
  });
  const clientCeiling: Record<string, BatchResult> = {};
  for (const batched of [false, true]) {
    report.log(`bare tRPC stack, typed client (${batched ? "batched" : "unbatched"})...`);
    clientCeiling[String(batched)] = await runJson<BatchResult>(
      "batch.ts",
      clientSpec(`http://127.0.0.1:${trpc.port}`, batched),
    );
  }
  http.child.kill();
  trpc.child.kill();
  for (const c of connections) {
    const h = httpCeiling[c] as LoadResult;
    const t = trpcCeiling[c] as LoadResult;
    report.add({
      measure: `ceiling: bare node:http, fixed 201 (${c} conn)`,
      value: h.rps,
      unit: "req/s",
      p50: h.p50,
      p99: h.p99,
      errors: h.errors + h.non2xx,
    });
    report.add({
      measure: `ceiling: bare tRPC stack, fixed result (${c} conn)`,
      value: t.rps,
      unit: "req/s",
      p50: t.p50,
      p99: t.p99,
      errors: t.errors + t.non2xx,
    });
  }

  // The database's own limits, same machine, same run.
  const dbAdmin = postgres(seeded.dbUrl, { max: 1, onnotice: () => {} });
  cleanups.push(() => dbAdmin.end({ timeout: 5 }));
  await dbAdmin.unsafe(
    `create table bench_plain (id bigint generated always as identity primary key, data jsonb not null, created_at timestamptz not null default now())`,
  );
  const plainScript = `INSERT INTO bench_plain (data) VALUES ('{"text": "pgbench"}');\n`;
  const counterScript = (p: string) => `${p}
BEGIN;
UPDATE projects SET last_inner_id = last_inner_id + 1, task_number = task_number + 1 WHERE id = :p RETURNING last_inner_id AS inner \\gset
INSERT INTO tasks (project_id, inner_id, data, meta, overlap, created_by) VALUES (:p, :inner, '{"text": "pgbench"}', '{}', 1, ${seeded.userId});
COMMIT;
`;
  const plain: Record<number, number> = {};
  const counterOne: Record<number, number> = {};
  const counterSpread: Record<number, number> = {};
  for (const c of connections) {
    report.log(`pgbench at ${c} clients...`);
    plain[c] = pgbench(seeded.dbUrl, plainScript, c, seconds);
    counterOne[c] = pgbench(seeded.dbUrl, counterScript(`\\set p ${one}`), c, seconds);
    counterSpread[c] = pgbench(
      seeded.dbUrl,
      counterScript(`\\set p random(${spread[0]}, ${spread[spread.length - 1]})`),
      c,
      seconds,
    );
    report.add({
      measure: `ceiling: pgbench plain single-row insert (${c} clients)`,
      value: plain[c],
      unit: "tx/s",
    });
    report.add({
      measure: `for scale: pgbench one task + inner_id counter per transaction, unbatched, one project (${c} clients)`,
      value: counterOne[c],
      unit: "tx/s",
    });
    report.add({
      measure: `for scale: the same, 100 projects (${c} clients)`,
      value: counterSpread[c],
      unit: "tx/s",
    });
  }
  // The counter workload wrote tasks and moved counters: start the creates from clean projects.
  await dbAdmin`delete from tasks`;
  await dbAdmin`update projects set last_inner_id = 0, task_number = 0`;

  report.log("starting Taskport on PostgreSQL...");
  const server: Server = await startTaskport({ DATABASE_URL: seeded.dbUrl });
  cleanups.push(() => server.stop());
  let peakRss = server.rssMb();
  for (const shape of ["rest", "trpc"] as const) {
    const path = shape === "rest" ? "/api/tasks/" : "/api/trpc/task.create";
    for (const c of connections) {
      for (const [where, projects] of [
        ["one project", [one]],
        ["100 projects", spread],
      ] as const) {
        report.log(`${shape} creates, ${c} connections, ${where}...`);
        const r = await load({
          url: server.url,
          path,
          connections: c,
          seconds,
          shape,
          projects: [...projects],
          token,
        });
        peakRss = Math.max(peakRss, server.rssMb());
        const h = httpCeiling[c] as LoadResult;
        const t = trpcCeiling[c] as LoadResult;
        const p = plain[c] ?? 0;
        const atTop = c === top;
        report.add({
          measure: `${shape === "rest" ? "POST /api/tasks/" : "tRPC task.create"}, ${where} (${c} conn)`,
          value: r.rps,
          unit: "req/s",
          p50: r.p50,
          p99: r.p99,
          errors: r.errors + r.non2xx,
          limit:
            shape === "rest"
              ? { name: `pgbench plain insert, ${c} clients`, value: p }
              : { name: `bare tRPC stack, ${c} conn`, value: t.rps },
          references:
            shape === "rest"
              ? [
                  { name: `bare node:http, ${c} conn`, value: h.rps },
                  {
                    name: "pgbench one task + counter per tx, unbatched",
                    value: (where === "one project" ? counterOne[c] : counterSpread[c]) ?? 0,
                  },
                ]
              : [{ name: `pgbench plain insert, ${c} clients`, value: p }],
          target: atTop ? (shape === "rest" ? { min: 0.5, p99Max: 50 } : { min: 0.75 }) : undefined,
        });
      }
    }
  }
  report.add({ measure: "server peak RSS during the create runs", value: peakRss, unit: "MB" });

  // The typed client: the same creates, one HTTP request each or 50 per request.
  for (const batched of [false, true]) {
    report.log(`typed client, 16 workers x 50 creates at a time, batched: ${batched}...`);
    const r = await runJson<BatchResult>("batch.ts", clientSpec(server.url, batched));
    const ceiling = clientCeiling[String(batched)] as BatchResult;
    report.add({
      measure: `typed client, ${batched ? "httpBatchLink (50 per request)" : "httpLink (1 per request)"}, one project`,
      value: r.rps,
      unit: "tasks/s",
      errors: r.failed,
      limit: { name: "bare tRPC stack, same client", value: ceiling.rps },
    });
    if (ceiling.failed > 0) report.fail(`bare tRPC stack, typed client: ${ceiling.failed} failed`);
  }
  await server.stop();
}
