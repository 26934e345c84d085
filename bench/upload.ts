/**
 * Upload rows of the benchmark: a Taskport server process (API only, PostgreSQL) receives one
 * large media file through `POST /api/projects/{id}/import` (multipart, generated as it is
 * sent) and serves it back from `/data/upload/...`. The server's resident memory is sampled
 * throughout: its growth must stay far below the file's size (the file is streamed, never
 * held). The same bytes written straight to the same disk by this process give the ceiling.
 *
 * Standalone: `BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres pnpm --filter
 * @taskport/bench bench:upload [--mb 500]` (a database and a media folder are created and
 * removed). Exits non-zero when the server's memory grew by more than a tenth of the file.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Table from "cli-table3";
import postgres from "postgres";

const here = dirname(fileURLToPath(import.meta.url));
const webDir = join(here, "..", "apps", "web");
const CHUNK = Buffer.alloc(1024 * 1024, 7);
const TOKEN = `bench_upload_token_${randomBytes(8).toString("hex")}`;

function argument(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
}

function rssMb(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const a = probe.address();
      probe.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

async function startServer(databaseUrl: string, mediaDir: string) {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "server.ts"], {
    cwd: webDir,
    env: {
      ...process.env,
      NODE_ENV: "production",
      TASKPORT_API_ONLY: "1",
      TASKPORT_JOB_WORKERS: "0",
      DATABASE_URL: databaseUrl,
      TASKPORT_MEDIA_DIR: mediaDir,
      TASKPORT_MAX_UPLOAD_BYTES: String(64 * 1024 ** 3),
      // Measured here: the request itself, not a job's import.
      TASKPORT_ASYNC_IMPORT_BYTES: String(64 * 1024 ** 3),
      TASKPORT_ADMIN_EMAIL: "bench@example.com",
      TASKPORT_ADMIN_PASSWORD: "bench-password-0123",
      TASKPORT_ADMIN_TOKEN: TOKEN,
      PORT: String(port),
      HOST: "127.0.0.1",
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
    const ok = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb(child.pid));
  }, 20);
  return {
    url,
    rss: () => rssMb(child.pid),
    peak: () => Math.max(peak, rssMb(child.pid)),
    resetPeak: () => {
      peak = rssMb(child.pid);
    },
    async stop() {
      clearInterval(sampler);
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    },
  };
}

/** Sends `mb` MiB as one multipart file, written as the socket drains (nothing held here). */
function uploadGenerated(url: string, project: number, mb: number): Promise<number> {
  const boundary = `----taskport${randomBytes(8).toString("hex")}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\nContent-Type: video/mp4\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/api/projects/${project}/import`,
      {
        method: "POST",
        headers: {
          authorization: `Token ${TOKEN}`,
          "content-type": `multipart/form-data; boundary=${boundary}`,
          "content-length": head.length + mb * CHUNK.length + tail.length,
        },
      },
      (res) => {
        let body = "";
        res.on("data", (d) => {
          body += d;
        });
        res.on("end", () =>
          res.statusCode === 201
            ? resolve(res.statusCode)
            : reject(new Error(`upload: ${res.statusCode} ${body}`)),
        );
      },
    );
    req.on("error", reject);
    let sent = 0;
    const pump = () => {
      while (sent < mb) {
        sent++;
        if (!req.write(CHUNK)) return void req.once("drain", pump);
      }
      req.end(tail);
    };
    req.write(head);
    pump();
  });
}

async function diskCeiling(dir: string, mb: number): Promise<number> {
  const started = performance.now();
  const out = createWriteStream(join(dir, "ceiling.bin"));
  for (let i = 0; i < mb; i++) {
    if (!out.write(CHUNK)) await new Promise<void>((r) => out.once("drain", () => r()));
  }
  await new Promise<void>((r) => out.end(() => r()));
  const seconds = (performance.now() - started) / 1000;
  await rm(join(dir, "ceiling.bin"));
  return mb / seconds;
}

async function main() {
  const base = process.env.BENCH_DATABASE_URL;
  if (!base)
    throw new Error("Set BENCH_DATABASE_URL (a PostgreSQL server to create a database on).");
  const mb = argument("mb", 500);
  const name = `bench_upload_${randomBytes(4).toString("hex")}`;
  const admin = postgres(base, { max: 1 });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  const media = await mkdtemp(join(tmpdir(), "taskport-bench-media-"));
  const server = await startServer(url.toString(), media);
  let failed = false;
  try {
    const auth = { authorization: `Token ${TOKEN}`, "content-type": "application/json" };
    const project = await fetch(`${server.url}/api/projects/`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({
        title: "Upload bench",
        label_config: '<View><Video name="v" value="$video"/></View>',
      }),
    }).then((r) => r.json() as Promise<{ id: number }>);
    // Warm up the paths (code loaded, pools filled) with a small file.
    await uploadGenerated(server.url, project.id, 1);
    await new Promise((r) => setTimeout(r, 500));
    const baseline = server.rss();
    server.resetPeak();
    let started = performance.now();
    await uploadGenerated(server.url, project.id, mb);
    const uploadSeconds = (performance.now() - started) / 1000;
    const uploadPeak = server.peak();

    const uploads = (await fetch(`${server.url}/api/projects/${project.id}/file-uploads?all=true`, {
      headers: auth,
    }).then((r) => r.json())) as { file: string; size: number }[];
    const big = uploads.find((u) => u.size === mb * CHUNK.length);
    if (!big) throw new Error("the uploaded file is not listed with its size");
    server.resetPeak();
    started = performance.now();
    const download = await fetch(`${server.url}/data/${big.file}`, { headers: auth });
    let received = 0;
    for await (const chunk of download.body as unknown as AsyncIterable<Uint8Array>) {
      received += chunk.length;
    }
    const downloadSeconds = (performance.now() - started) / 1000;
    const downloadPeak = server.peak();
    if (received !== big.size) throw new Error(`downloaded ${received} of ${big.size} bytes`);
    const ceiling = await diskCeiling(media, mb);

    const growthUp = uploadPeak - baseline;
    const growthDown = downloadPeak - baseline;
    const table = new Table({ head: ["measure", "value", "vs"] });
    table.push(
      ["file", `${mb} MiB`, ""],
      ["server RSS before", `${baseline.toFixed(0)} MB`, ""],
      [
        "server RSS peak, upload",
        `${uploadPeak.toFixed(0)} MB`,
        `growth ${growthUp.toFixed(1)} MB = ${(growthUp / mb).toFixed(3)} of the file`,
      ],
      [
        "server RSS peak, download",
        `${downloadPeak.toFixed(0)} MB`,
        `growth ${growthDown.toFixed(1)} MB = ${(growthDown / mb).toFixed(3)} of the file`,
      ],
      [
        "upload",
        `${(mb / uploadSeconds).toFixed(0)} MiB/s`,
        `${(mb / uploadSeconds / ceiling).toFixed(2)} of the disk's write ceiling`,
      ],
      ["download", `${(mb / downloadSeconds).toFixed(0)} MiB/s`, ""],
      ["disk write ceiling (this process)", `${ceiling.toFixed(0)} MiB/s`, "1.00"],
    );
    console.log(table.toString());
    // Flat memory: the file is streamed; a tenth of it is far above any buffer the path holds.
    for (const [what, growth] of [
      ["upload", growthUp],
      ["download", growthDown],
    ] as const) {
      if (growth > mb / 10) {
        console.error(`FAIL: the server's memory grew ${growth.toFixed(0)} MB during the ${what}`);
        failed = true;
      }
    }
  } finally {
    await server.stop();
    await rm(media, { recursive: true, force: true });
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
  if (failed) process.exit(1);
}

await main();
