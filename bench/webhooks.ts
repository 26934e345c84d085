/**
 * The webhooks part of `pnpm bench`: what an active webhook costs the writes it reports.
 * task.create at 64 in flight (in process, PostgreSQL) into a project with one active webhook
 * listening to TASKS_CREATED, rated against the same creates into a project without one, in
 * the same run (alternated twice, medians). The delivery worker runs beside them and sends
 * every event to a receiver on loopback; the run fails unless every created task was reported
 * exactly once. A second row gives the CPU time the creates cost, this process's and the
 * database backends', per 1,000 tasks, with and without the webhook: on a machine whose cores
 * the database and the server share, the rate follows it.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createCaller, createJobSystem, createTRPCContext } from "@taskport/api";
import { createPostgresDb } from "@taskport/api/db";
import postgres from "postgres";
import { type BenchConfig, databaseCpuMs, median, type Report, type Seeded } from "./common";

type Cleanups = (() => Promise<void>)[];

export async function measureWebhooks(
  config: BenchConfig,
  seeded: Seeded,
  report: Report,
  cleanups: Cleanups,
): Promise<void> {
  let received = 0;
  const receiver = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      received++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise((resolve) => receiver.close(() => resolve())));
  const network = { allowNetworks: ["127.0.0.0/8"] };
  const db = createPostgresDb(seeded.dbUrl, { max: 10 });
  cleanups.push(() => db.$close());
  const jobs = createJobSystem({ db, network, logError: () => {} });
  await jobs.start();
  cleanups.push(() => jobs.stop(2000));
  const actor = { userId: seeded.userId, organizationId: seeded.organizationId };
  const caller = createCaller(createTRPCContext({ db, headers: {}, actor, network }));

  const plain = await seeded.newProject("Bench creates without webhook");
  const hooked = await seeded.newProject("Bench creates with a webhook");
  const hook = await caller.webhook.create({
    project: hooked,
    url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
    send_for_all_actions: false,
    actions: ["TASKS_CREATED"],
  });

  const dbName = new URL(seeded.dbUrl).pathname.slice(1);
  const run = async (project: number) => {
    const cpuBefore = process.cpuUsage();
    const databaseBefore = databaseCpuMs(dbName);
    let created = 0;
    let failed = 0;
    const deadline = performance.now() + config.seconds * 1000;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (performance.now() < deadline) {
          try {
            await caller.task.create({ project, data: { text: `webhook bench ${created}` } });
            created++;
          } catch {
            failed++;
          }
        }
      }),
    );
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMs = (cpu.user + cpu.system) / 1000 + databaseCpuMs(dbName) - databaseBefore;
    return {
      rate: created / ((performance.now() - started) / 1000),
      cpuPerThousand: (cpuMs / Math.max(created, 1)) * 1000,
      created,
      failed,
    };
  };
  const without: number[] = [];
  const withHook: number[] = [];
  const cpuWithout: number[] = [];
  const cpuWith: number[] = [];
  let hookedCreated = 0;
  let errors = 0;
  for (let round = 0; round < 2; round++) {
    report.log(`webhooks: creates without a webhook (round ${round + 1})...`);
    const a = await run(plain);
    report.log(`webhooks: creates with one active webhook (round ${round + 1})...`);
    const b = await run(hooked);
    without.push(a.rate);
    withHook.push(b.rate);
    cpuWithout.push(a.cpuPerThousand);
    cpuWith.push(b.cpuPerThousand);
    hookedCreated += b.created;
    errors += a.failed + b.failed;
  }
  const check = postgres(seeded.dbUrl, { max: 1, onnotice: () => {} });
  const [reported] = await check<{ n: number; events: number }[]>`
    select coalesce(sum(jsonb_array_length(payload->'tasks')), 0)::int as n,
      count(*)::int as events from webhook_events where webhook_id = ${hook.id}`;
  await check.end();
  if (reported?.n !== hookedCreated)
    throw new Error(`${hookedCreated} tasks created with a webhook, ${reported?.n} reported`);
  report.add({
    measure: "task.create with one active webhook (TASKS_CREATED), 64 in flight, in process",
    value: median(withHook),
    unit: "tasks/s",
    errors,
    limit: { name: "the same creates into a project without a webhook", value: median(without) },
    references: [
      { name: "events written", value: reported?.events ?? 0 },
      { name: "deliveries received meanwhile", value: received },
    ],
    target: { min: 0.9 },
  });
  report.add({
    measure:
      "CPU per 1,000 tasks created with one active webhook (this process and its database backends), deliveries included",
    value: median(cpuWith),
    unit: "ms",
    limit: { name: "the same creates without a webhook", value: median(cpuWithout) },
  });
}
