/**
 * Taskport server processes for fault injection: the real server (apps/web/server.ts) in its
 * API-only mode, one OS process each, so that they can be killed, restarted and signalled.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "@taskport/api/test-support";

const webDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..", "apps", "web");

export { freePort };

export interface TaskportProcess {
  url: string;
  port: number;
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startTaskport(
  env: Record<string, string>,
  port?: number,
): Promise<TaskportProcess> {
  const listenPort = port ?? (await freePort());
  const child = spawn(process.execPath, ["--import", "tsx", "server.ts"], {
    cwd: webDir,
    env: {
      ...process.env,
      NODE_ENV: "production",
      TASKPORT_API_ONLY: "1",
      HOST: "127.0.0.1",
      PORT: String(listenPort),
      ...env,
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
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  const url = `http://127.0.0.1:${listenPort}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Taskport exited (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline)
      throw new Error(`Taskport did not answer /api/health in 60 s:\n${output}`);
    try {
      if ((await fetch(`${url}/api/health`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    port: listenPort,
    child,
    output: () => output,
    exited,
    async kill(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
