/**
 * What every part of the benchmark shares: child processes (the Taskport server, the load
 * generator, helper servers), the database's own tools (pgbench and psql, found on this
 * machine), memory sampling, and the report: rows of figures, each beside the limit it is rated
 * against, and the failures that make the run exit non-zero.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { LoadResult, LoadSpec } from "./load";

export const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, "..");
export const webDir = join(root, "apps", "web");
export const LABEL_CONFIG = '<View><Text name="text" value="$text"/></View>';

export interface Comparison {
  name: string;
  value: number;
}

export interface Row {
  measure: string;
  value: number;
  unit: string;
  p50?: number;
  p99?: number;
  errors?: number;
  /** What the figure is rated against: a ceiling or the database's own limit, same run. */
  limit?: Comparison;
  /** For scale only, not limits (e.g. an unbatched workload the figure is not comparable to). */
  references?: Comparison[];
  /** The ratio to `limit` the target asks for, or an upper bound for a figure (`max`). */
  target?: { min?: number; max?: number; p99Max?: number };
}

export class Report {
  readonly rows: Row[] = [];
  readonly failures: string[] = [];
  constructor(private readonly quiet: boolean) {}

  log(message: string): void {
    if (!this.quiet) console.error(`[bench] ${message}`);
  }

  add(row: Row): void {
    this.rows.push(row);
    if (row.errors) this.fail(`${row.measure}: ${row.errors} failed requests`);
  }

  fail(message: string): void {
    this.failures.push(message);
    this.log(`FAILED: ${message}`);
  }

  /** Runs one measure; its failure is reported and fails the run, and the next measure runs. */
  async measure(name: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.fail(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  markdown(): string {
    const fmt = (n: number) =>
      n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(n >= 10 ? 1 : 2);
    const ratio = (value: number, c: Comparison | undefined) =>
      c?.value ? `${(value / c.value).toFixed(2)}x` : "";
    const lines = [
      "| measure | value | p50 ms | p99 ms | rated against (same run) | ratio | target | for scale (same run) |",
      "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ];
    for (const r of this.rows) {
      const t = r.target;
      const target = t
        ? [
            t.min === undefined ? "" : `>= ${t.min}x`,
            t.max === undefined ? "" : `< ${t.max} ${r.unit}`,
            t.p99Max === undefined ? "" : `p99 < ${t.p99Max} ms`,
          ]
            .filter(Boolean)
            .join(", ")
        : "";
      lines.push(
        `| ${[
          r.measure + (r.errors ? ` (${r.errors} errors)` : ""),
          `${fmt(r.value)} ${r.unit}`,
          r.p50 === undefined ? "" : String(r.p50),
          r.p99 === undefined ? "" : String(r.p99),
          r.limit ? `${fmt(r.limit.value)} (${r.limit.name})` : "",
          ratio(r.value, r.limit),
          target ? `${target} ${this.met(r) ? "(met)" : "(not met)"}` : "",
          (r.references ?? [])
            .map((c) => `${ratio(r.value, c)} of ${fmt(c.value)} (${c.name})`)
            .join("; "),
        ].join(" | ")} |`,
      );
    }
    return lines.join("\n");
  }

  met(r: Row): boolean {
    const t = r.target;
    if (!t) return true;
    if (t.min !== undefined && !(r.limit?.value && r.value / r.limit.value >= t.min)) return false;
    if (t.max !== undefined && !(r.value < t.max)) return false;
    if (t.p99Max !== undefined && !(r.p99 !== undefined && r.p99 < t.p99Max)) return false;
    return true;
  }
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

export function nodeTsx(
  script: string,
  scriptArgs: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; nodeArgs?: string[] },
): ChildProcess {
  return spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), "--import", "tsx", script, ...scriptArgs],
    {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
}

/** Starts a helper server that prints {"port": N} on its first line. */
export async function startPortServer(
  script: string,
): Promise<{ port: number; child: ChildProcess }> {
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

/** Runs a script that prints one JSON line last; its non-zero exit is an error. */
export async function runJson<T>(script: string, arg: unknown): Promise<T> {
  const child = nodeTsx(join(here, script), [JSON.stringify(arg)], { cwd: here });
  let out = "";
  let err = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  child.stderr?.on("data", (d) => {
    err += d;
  });
  const code = await new Promise((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`${script} failed (exit ${code}): ${err.slice(-2000)}`);
  return JSON.parse(out.trim().split("\n").pop() ?? "{}") as T;
}

/** autocannon in its own process (load.ts). */
export function load(spec: LoadSpec): Promise<LoadResult> {
  return runJson<LoadResult>("load.ts", spec);
}

/** The load generator until `stop()` is called (load.ts with `untilStopped`). */
export function loadUntilStopped(spec: Omit<LoadSpec, "seconds">) {
  const child = nodeTsx(join(here, "load.ts"), [JSON.stringify({ ...spec, seconds: 3600 })], {
    cwd: here,
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  child.stderr?.on("data", (d) => {
    err += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return {
    async stop(): Promise<LoadResult> {
      child.kill("SIGUSR2");
      const code = await exited;
      if (code !== 0) throw new Error(`load generator failed (exit ${code}): ${err}`);
      return JSON.parse(out.trim().split("\n").pop() ?? "{}") as LoadResult;
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

export function rssMb(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

const clockTicks = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU time (ms, user and system) used so far by the PostgreSQL backends connected to `dbName`
 * on this machine (Linux /proc). Backends that have exited are not counted: measure while the
 * pools are open.
 */
export function databaseCpuMs(dbName: string): number {
  let ticks = 0;
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (!stat.includes("(postgres)")) continue;
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(` ${dbName} `)) continue;
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended while it was read.
    }
  }
  return (ticks * 1000) / clockTicks;
}

/** Peak resident memory of a process, sampled every 50 ms until `stop()`. */
export function sampleRss(pid: number | undefined) {
  let peak = rssMb(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMb(pid));
  }, 50);
  return {
    stop(): number {
      clearInterval(timer);
      return Math.max(peak, rssMb(pid));
    },
  };
}

export type Server = Awaited<ReturnType<typeof startTaskport>>;

/** The production server (apps/web/server.ts) in its own process, once /api/health answers. */
export async function startTaskport(env: NodeJS.ProcessEnv, nodeArgs: string[] = []) {
  const port = await freePort();
  // BENCH_PROFILE_DIR: each server process writes a V8 CPU profile there when it exits.
  const profile = process.env.BENCH_PROFILE_DIR;
  const child = nodeTsx("server.ts", [], {
    cwd: webDir,
    nodeArgs: profile ? [...nodeArgs, "--cpu-prof", `--cpu-prof-dir=${profile}`] : nodeArgs,
    env: {
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      PORT: String(port),
      HOST: "127.0.0.1",
      ...env,
    },
  });
  let output = "";
  const keep = (d: Buffer) => {
    output = (output + d).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited:\n${output}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`server not healthy after 120 s:\n${output}`);
    }
    try {
      if ((await fetch(`${url}/api/health`)).ok) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    child,
    output: () => output,
    rssMb: () => rssMb(child.pid),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/**
 * A PostgreSQL client program (pgbench, psql): on PATH, else the newest of
 * /usr/lib/postgresql/<version>/bin.
 */
export function postgresTool(name: string): string {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  const base = "/usr/lib/postgresql";
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => existsSync(join(base, v, "bin", name)))
        .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
    : [];
  if (versions[0]) return join(base, versions[0], "bin", name);
  throw new Error(
    `${name} not found on PATH or under /usr/lib/postgresql/*/bin: install PostgreSQL's client programs (apt-get install postgresql-client).`,
  );
}

function connectionArgs(dbUrl: string): string[] {
  const url = new URL(dbUrl);
  return [
    "-h",
    url.hostname,
    "-p",
    url.port || "5432",
    "-U",
    decodeURIComponent(url.username || "postgres"),
  ];
}

/** pgbench's transactions per second for `script` at `clients` clients. */
export function pgbench(dbUrl: string, script: string, clients: number, seconds: number): number {
  const dir = mkdtempSync(join(tmpdir(), "taskport-pgbench-"));
  const file = join(dir, "script.sql");
  writeFileSync(file, script);
  try {
    const out = execFileSync(
      postgresTool("pgbench"),
      [
        "-n",
        "-c",
        String(clients),
        "-j",
        String(Math.min(clients, 2)),
        "-T",
        String(seconds),
        "-f",
        file,
        ...connectionArgs(dbUrl),
        new URL(dbUrl).pathname.slice(1),
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    );
    const tps = Number(/tps = ([\d.]+)/.exec(out)?.[1] ?? Number.NaN);
    const failed = Number(/number of failed transactions: (\d+)/.exec(out)?.[1] ?? 0);
    if (!(tps > 0) || failed > 0) throw new Error(`pgbench: no throughput or failures:\n${out}`);
    return tps;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs one psql command (e.g. `\copy`) and returns the seconds it took as psql's `\timing`
 * reports them: the command alone, without starting psql and connecting.
 */
export function psql(dbUrl: string, command: string): number {
  const out = execFileSync(
    postgresTool("psql"),
    [
      ...connectionArgs(dbUrl),
      "-d",
      new URL(dbUrl).pathname.slice(1),
      "-X",
      "-q",
      "-v",
      "ON_ERROR_STOP=1",
      "-c",
      "\\timing on",
      "-c",
      command,
    ],
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
  );
  const ms = Number(/Time: ([\d.]+) ms/.exec(out)?.[1] ?? Number.NaN);
  if (!(ms >= 0)) throw new Error(`psql printed no timing for ${command}: ${out}`);
  return ms / 1000;
}

export interface BenchConfig {
  quick: boolean;
  seconds: number;
  connections: number[];
  /** Tasks of the one-request JSON import. */
  tasks: number;
  /** Tasks of the uploaded JSONL file. */
  bigTasks: number;
  build: boolean;
}

export interface Seeded {
  dbUrl: string;
  userId: number;
  organizationId: number;
  token: string;
  /** The project every one-project create measure writes to. */
  one: number;
  spread: number[];
  newProject(title: string): Promise<number>;
}
