/**
 * PostgreSQL for the reliability suites: a fresh database on TEST_DATABASE_URL's server, or a
 * throwaway cluster of the suite's own (initdb on a free port) for tests that stop the server.
 */
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPostgresDatabase } from "@taskport/api/test-support";
import { freePort } from "./server";

export function requirePostgresUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error("The reliability suites need TEST_DATABASE_URL (a PostgreSQL server).");
  return url;
}

export function createDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  return createPostgresDatabase(requirePostgresUrl(), "taskport_rel");
}

function pgBin(): string {
  const base = "/usr/lib/postgresql";
  const version = existsSync(base) ? readdirSync(base).sort().pop() : undefined;
  const bin = version ? join(base, version, "bin") : "";
  if (!bin || !existsSync(join(bin, "initdb")))
    throw new Error("PostgreSQL's server binaries (initdb, pg_ctl) are not installed.");
  return bin;
}

/** Runs a PostgreSQL binary as the postgres user (the server refuses to run as root). */
function asPostgres(command: string): void {
  const isRoot = process.getuid?.() === 0;
  if (isRoot) execFileSync("su", ["postgres", "-s", "/bin/sh", "-c", command], { stdio: "pipe" });
  else execFileSync("/bin/sh", ["-c", command], { stdio: "pipe" });
}

export interface Cluster {
  url: string;
  port: number;
  /** The server's log. */
  log(): string;
  stop(mode?: "fast" | "immediate"): void;
  start(): void;
  /** SIGSTOP to the server and all its processes: a paused VM or a network black hole. */
  freeze(): void;
  /** SIGCONT to the same processes. */
  thaw(): void;
  destroy(): void;
}

/** SIGSTOPs the postmaster, then every process it started; returns them all. */
function stopCluster(data: string): number[] {
  const postmaster = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
  // The postmaster first, so that it starts nothing new while its children are listed.
  process.kill(postmaster, "SIGSTOP");
  const children = execFileSync("ps", ["-o", "pid=", "--ppid", String(postmaster)], {
    encoding: "utf8",
  })
    .split("\n")
    .map((line) => Number(line.trim()))
    .filter((pid) => pid > 0);
  for (const pid of children) process.kill(pid, "SIGSTOP");
  return [postmaster, ...children];
}

export async function createCluster(): Promise<Cluster> {
  const bin = pgBin();
  const dir = mkdtempSync(join(tmpdir(), "taskport-pg-"));
  const data = join(dir, "data");
  const sock = join(dir, "sock");
  mkdirSync(sock);
  chmodSync(dir, 0o777);
  chmodSync(sock, 0o777);
  if (process.getuid?.() === 0) execFileSync("chown", ["-R", "postgres:postgres", dir]);
  const port = await freePort();
  asPostgres(`${bin}/initdb -D ${data} --auth=trust -U postgres -E UTF8 >/dev/null`);
  const start = () =>
    asPostgres(
      `${bin}/pg_ctl -D ${data} -o "-p ${port} -k ${sock} -c listen_addresses=127.0.0.1" -l ${dir}/pg.log -w start >/dev/null`,
    );
  start();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let frozen: number[] = [];
  return {
    url,
    port,
    log: () => readFileSync(join(dir, "pg.log"), "utf8"),
    start,
    freeze() {
      frozen = stopCluster(data);
    },
    thaw() {
      for (const pid of frozen) process.kill(pid, "SIGCONT");
      frozen = [];
    },
    stop(mode = "fast") {
      asPostgres(`${bin}/pg_ctl -D ${data} -m ${mode} -w stop >/dev/null`);
    },
    destroy() {
      for (const pid of frozen) process.kill(pid, "SIGCONT");
      try {
        asPostgres(`${bin}/pg_ctl -D ${data} -m immediate -w stop >/dev/null`);
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
