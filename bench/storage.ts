/**
 * Storage sync rows of the benchmark: a Taskport server process (API only, PostgreSQL) syncs a
 * real S3-API server (s3rver on loopback) holding N JSON objects (one task each) and N media
 * objects, against the REST import of the same N tasks; then syncs both buckets again,
 * unchanged, counting the rows written. The server's resident memory is sampled throughout.
 *
 * Standalone: `BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres pnpm --filter
 * @taskport/bench bench:storage [--objects 100000]` (a database is created and dropped).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { createToken, createUserWithOrganization } from "@taskport/api";
import { createPostgresDb, migratePostgres } from "@taskport/api/db";
import { createS3Fixture } from "@taskport/api/test-support";
import Table from "cli-table3";
import postgres from "postgres";

const here = dirname(fileURLToPath(import.meta.url));
const webDir = join(here, "..", "apps", "web");

export interface StorageRow {
  measure: string;
  value: number;
  unit: string;
  limit?: { name: string; value: number };
}

interface Server {
  url: string;
  peakMb(): number;
  resetPeak(): void;
  stop(): Promise<void>;
}

function rssMb(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

async function startServer(databaseUrl: string): Promise<Server> {
  const { createServer } = await import("node:net");
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const a = probe.address();
      probe.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "server.ts"], {
    cwd: webDir,
    env: {
      ...process.env,
      NODE_ENV: "production",
      TASKPORT_API_ONLY: "1",
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HOST: "127.0.0.1",
      // s3rver listens on loopback, which storages may reach only when allowed.
      TASKPORT_OUTBOUND_ALLOW_NETWORKS: "127.0.0.0/8",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d) => {
    output += d;
  });
  child.stderr?.on("data", (d) => {
    output += d;
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited:\n${output}`);
    if (Date.now() > deadline) throw new Error(`server not healthy:\n${output}`);
    try {
      if ((await fetch(`${url}/api/health`)).ok) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb(child.pid));
  }, 200);
  return {
    url,
    peakMb: () => Math.max(peak, rssMb(child.pid)),
    resetPeak: () => {
      peak = rssMb(child.pid);
    },
    async stop() {
      clearInterval(sampler);
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

async function call(server: Server, token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Token ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** Rows inserted, updated and deleted in the sync's tables so far (statistics, flushed). */
async function writes(sql: postgres.Sql): Promise<number> {
  // An idle backend reports its counters within 10 s (PostgreSQL's PGSTAT_IDLE_INTERVAL): wait
  // for the server's last ones before reading.
  await new Promise((r) => setTimeout(r, 11_000));
  const [row] = await sql<{ n: string }[]>`
    select coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) as n from pg_stat_user_tables
    where relname in ('tasks', 'storage_objects', 'storage_links', 'projects')`;
  return Number(row?.n ?? 0);
}

export async function storageBench(options: {
  adminUrl: string;
  objects: number;
  log: (line: string) => void;
}): Promise<StorageRow[]> {
  const { objects: n, log } = options;
  const rows: StorageRow[] = [];
  const name = `taskport_bench_storage_${randomBytes(4).toString("hex")}`;
  const admin = postgres(options.adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(options.adminUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const s3 = await createS3Fixture();
  let server: Server | undefined;
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await migratePostgres(databaseUrl);
    const db = createPostgresDb(databaseUrl, { max: 2 });
    const user = await createUserWithOrganization(db, {
      email: `bench-${Date.now()}@example.com`,
      password: "bench-password-123",
    });
    const { token } = await createToken(
      db,
      { userId: user.id, organizationId: user.organizationId },
      { name: "bench", kind: "key" },
      undefined,
    );
    await db.$close();

    log(`putting ${n} JSON objects and ${n} media objects into s3rver...`);
    const jsonBucket = await s3.createBucket();
    const mediaBucket = await s3.createBucket();
    const key = (i: number) => `obj-${String(i).padStart(7, "0")}`;
    for (let i = 0; i < n; i += 200) {
      const batch: Promise<void>[] = [];
      for (let j = i; j < Math.min(n, i + 200); j++) {
        batch.push(s3.put(jsonBucket, `${key(j)}.json`, JSON.stringify({ text: `review ${j}` })));
        batch.push(s3.put(mediaBucket, `${key(j)}.jpg`, "x"));
      }
      await Promise.all(batch);
    }

    // The S3 server's own limits in this run: listing every key, and reading objects (64 at a
    // once, as a sync does). A sync cannot go faster than these.
    log("measuring the S3 server's list and read ceilings...");
    let listStarted = performance.now();
    let listed = 0;
    let continuation: string | undefined;
    do {
      const page = await s3.client.send(
        new ListObjectsV2Command({ Bucket: jsonBucket, ContinuationToken: continuation }),
      );
      listed += page.KeyCount ?? 0;
      continuation = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuation);
    const listCeiling = listed / ((performance.now() - listStarted) / 1000);
    const reads = Math.min(n, 2000);
    let next = 0;
    listStarted = performance.now();
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < reads) {
          const object = await s3.client.send(
            new GetObjectCommand({ Bucket: jsonBucket, Key: `${key(next++)}.json` }),
          );
          await object.Body?.transformToByteArray();
        }
      }),
    );
    const getCeiling = reads / ((performance.now() - listStarted) / 1000);
    rows.push({
      measure: "S3 server: ListObjectsV2 of the JSON bucket",
      value: listCeiling,
      unit: "keys/s",
    });
    rows.push({
      measure: `S3 server: GetObject, ${reads} objects, 64 at once`,
      value: getCeiling,
      unit: "objects/s",
    });

    server = await startServer(databaseUrl);
    const idle = server.peakMb();
    const project = async (labelConfig: string) =>
      (await call(server as Server, token, "POST", "/api/projects/", {
        title: "bench",
        label_config: labelConfig,
      })) as { id: number };
    const textConfig = '<View><Text name="text" value="$text"/></View>';

    log(`REST import of the same ${n} tasks...`);
    const imported = await project(textConfig);
    const body = `[${Array.from({ length: n }, (_, j) => JSON.stringify({ text: `review ${j}` })).join(",")}]`;
    let started = performance.now();
    await call(server, token, "POST", `/api/projects/${imported.id}/import`, body);
    const importRate = n / ((performance.now() - started) / 1000);
    rows.push({
      measure: `REST import, ${n} tasks in one JSON request`,
      value: importRate,
      unit: "tasks/s",
    });

    const syncOnce = async (type: "json" | "media", storageId: number) => {
      started = performance.now();
      const s = (await call(
        server as Server,
        token,
        "POST",
        `/api/storages/s3/${storageId}/sync`,
      )) as {
        last_sync_job: string;
      };
      for (;;) {
        const job = (await call(
          server as Server,
          token,
          "GET",
          `/api/jobs/${s.last_sync_job}/`,
        )) as {
          status: string;
          progress: Record<string, number>;
          error: string | null;
        };
        if (job.status === "completed") {
          return { seconds: (performance.now() - started) / 1000, progress: job.progress };
        }
        if (job.status === "failed" || job.status === "cancelled")
          throw new Error(`${type} sync ${job.status}: ${job.error}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };

    for (const type of ["json", "media"] as const) {
      const target = await project(
        type === "json" ? textConfig : '<View><Image name="image" value="$image"/></View>',
      );
      const storage = (await call(server, token, "POST", "/api/storages/s3/", {
        project: target.id,
        bucket: type === "json" ? jsonBucket : mediaBucket,
        use_blob_urls: type === "media",
        s3_endpoint: s3.endpoint,
        aws_access_key_id: s3.accessKeyId,
        aws_secret_access_key: s3.secretAccessKey,
      })) as { id: number };
      const what = type === "json" ? "JSON objects (one task each)" : "media objects (blob URLs)";
      log(`first sync of ${n} ${what}...`);
      server.resetPeak();
      const first = await syncOnce(type, storage.id);
      if (first.progress.tasks_created !== n)
        throw new Error(`first ${type} sync created ${first.progress.tasks_created} of ${n} tasks`);
      const firstRate = n / first.seconds;
      rows.push({
        measure: `first sync, ${n} ${what}`,
        value: firstRate,
        unit: "tasks/s",
        limit: { name: "REST import", value: importRate },
      });
      rows.push({
        measure: "  the same, vs the S3 server's own ceiling",
        value: firstRate,
        unit: "tasks/s",
        limit:
          type === "json"
            ? { name: "S3 GetObject", value: getCeiling }
            : { name: "S3 ListObjectsV2", value: listCeiling },
      });
      rows.push({
        measure: `server peak RSS during that sync`,
        value: server.peakMb(),
        unit: "MB",
      });

      log(`re-sync of the unchanged bucket (${type})...`);
      const before = await writes(sql);
      server.resetPeak();
      const again = await syncOnce(type, storage.id);
      const written = (await writes(sql)) - before;
      if (again.progress.tasks_created !== 0 || again.progress.tasks_skipped !== n)
        throw new Error(
          `re-sync of ${type} did not skip every task: ${JSON.stringify(again.progress)}`,
        );
      rows.push({
        measure: `re-sync of the unchanged bucket (${type}), seconds vs the first`,
        value: again.seconds,
        unit: "s",
        limit: { name: "first sync s", value: first.seconds },
      });
      rows.push({
        measure: `rows written by that re-sync (${type})`,
        value: written,
        unit: "rows",
      });
      rows.push({
        measure: "server peak RSS during the re-sync",
        value: server.peakMb(),
        unit: "MB",
      });
    }
    rows.push({ measure: "server RSS when idle, before the runs", value: idle, unit: "MB" });
    return rows;
  } finally {
    await server?.stop();
    await sql.end();
    await s3.close();
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

function format(value: number, unit: string): string {
  const digits = unit === "s" ? 2 : 0;
  return `${value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })} ${unit}`;
}

export function storageTable(rows: StorageRow[]): string {
  const table = new Table({ head: ["measure", "value", "limit", "ratio"] });
  for (const row of rows) {
    table.push([
      row.measure,
      format(row.value, row.unit),
      row.limit
        ? `${format(row.limit.value, row.unit === "s" ? "s" : row.limit.name.startsWith("S3") ? "/s" : "tasks/s")} (${row.limit.name})`
        : "",
      row.limit ? `${(row.value / row.limit.value).toFixed(2)}x` : "",
    ]);
  }
  return table.toString();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const adminUrl = process.env.BENCH_DATABASE_URL;
  if (!adminUrl) {
    console.error("Set BENCH_DATABASE_URL to a PostgreSQL server (a database is created there).");
    process.exit(2);
  }
  const at = process.argv.indexOf("--objects");
  const objects = at > 0 ? Number(process.argv[at + 1]) : 100_000;
  const rows = await storageBench({ adminUrl, objects, log: (l) => console.error(l) });
  console.log(storageTable(rows));
}
