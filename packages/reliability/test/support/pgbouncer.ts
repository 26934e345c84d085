/**
 * A real PgBouncer (Debian's package) in front of a PostgreSQL server, on a free port, for the
 * suites that check Taskport behind a connection pooler.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./server";

const PGBOUNCER = "/usr/sbin/pgbouncer";

export interface PgBouncer {
  /** The same database as `target`, reached through the pooler. */
  url: string;
  version: string;
  log(): string;
  /** SIGSTOP: the pooler hangs with every connection open (a paused host, a dead path). */
  freeze(): void;
  /** SIGCONT. */
  thaw(): void;
  stop(): Promise<void>;
}

export async function startPgBouncer(
  target: string,
  settings: Record<string, string | number> = {},
): Promise<PgBouncer> {
  if (!existsSync(PGBOUNCER))
    throw new Error(`PgBouncer is not installed (${PGBOUNCER}): apt-get install pgbouncer.`);
  const server = new URL(target);
  const dir = mkdtempSync(join(tmpdir(), "taskport-pgbouncer-"));
  chmodSync(dir, 0o777);
  const port = await freePort();
  const config = {
    listen_addr: "127.0.0.1",
    listen_port: port,
    unix_socket_dir: "",
    auth_type: "trust",
    auth_file: join(dir, "users.txt"),
    pool_mode: "transaction",
    max_client_conn: 500,
    default_pool_size: 20,
    // Taskport sends its timeouts as startup parameters (README, Scaling out).
    ignore_startup_parameters: "statement_timeout, lock_timeout",
    logfile: join(dir, "pgbouncer.log"),
    ...settings,
  };
  writeFileSync(join(dir, "users.txt"), `"${server.username || "postgres"}" ""\n`);
  writeFileSync(
    join(dir, "pgbouncer.ini"),
    [
      "[databases]",
      `* = host=${server.hostname} port=${server.port || 5432}`,
      "[pgbouncer]",
      ...Object.entries(config).map(([k, v]) => `${k} = ${v}`),
      "",
    ].join("\n"),
  );
  for (const file of ["users.txt", "pgbouncer.ini"]) chmodSync(join(dir, file), 0o644);
  const version = execFileSync(PGBOUNCER, ["--version"], { encoding: "utf8" }).split("\n")[0];
  // PgBouncer refuses to run as root: it switches to the postgres user when started as root.
  const asRoot = process.getuid?.() === 0;
  const child: ChildProcess = spawn(
    PGBOUNCER,
    [...(asRoot ? ["-u", "postgres"] : []), join(dir, "pgbouncer.ini")],
    { stdio: "ignore" },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = new URL(target);
  url.port = String(port);
  const log = () => {
    try {
      return readFileSync(join(dir, "pgbouncer.log"), "utf8");
    } catch {
      return "";
    }
  };
  const deadline = Date.now() + 10_000;
  while (!/process up/.test(log())) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`PgBouncer did not start:\n${log()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: url.toString(),
    version: version ?? "",
    log,
    freeze: () => child.kill("SIGSTOP"),
    thaw: () => child.kill("SIGCONT"),
    async stop() {
      child.kill("SIGCONT");
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
