/**
 * Vitest global setup for the browser tests: builds the app, starts the production server on
 * a free port with a fresh embedded database, and stops it (the whole process group) after.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

const webDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const ADMIN = {
  email: "admin@example.com",
  password: "admin-password-123",
  token: "e2e_admin_token_0123456789abcdef",
};

declare module "vitest" {
  export interface ProvidedContext {
    baseURL: string;
    adminToken: string;
    /** TASKPORT_LOCAL_FILES_ROOT of the server under test (local folder storages). */
    localFilesRoot: string;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === "object" && address
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

async function waitForHealth(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`The server exited (${child.exitCode}):\n${log()}`);
    try {
      const res = await fetch(`${url}/api/health`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`The server did not become healthy within 60 s:\n${log()}`);
}

export interface RunningServer {
  baseURL: string;
  /** The data folder: the embedded database (`pglite/`) and local files (`files/`). */
  dataDir: string;
  /** Stops the server (its whole process group); the data folder stays until `remove`. */
  stop: () => Promise<void>;
  remove: () => void;
}

/**
 * Starts the built app's production server on a free port with a fresh embedded database and
 * waits until it answers. `env` adds to (or overrides) the test environment.
 */
export async function startServer(env: Record<string, string> = {}): Promise<RunningServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "taskport-e2e-"));
  const localFilesRoot = join(dataDir, "files");
  mkdirSync(localFilesRoot);
  const port = await freePort();
  const baseURL = `http://127.0.0.1:${port}`;
  let output = "";
  const child = spawn(
    process.execPath,
    [join(webDir, "node_modules", "tsx", "dist", "cli.mjs"), "server.ts"],
    {
      cwd: webDir,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        NODE_ENV: "production",
        NEXT_TELEMETRY_DISABLED: "1",
        PORT: String(port),
        HOST: "127.0.0.1",
        PGLITE_DIR: join(dataDir, "pglite"),
        DATABASE_URL: "",
        TASKPORT_ADMIN_EMAIL: ADMIN.email,
        TASKPORT_ADMIN_PASSWORD: ADMIN.password,
        TASKPORT_ADMIN_TOKEN: ADMIN.token,
        TASKPORT_LOCAL_FILES_ROOT: localFilesRoot,
        // Webhook receivers of the tests listen on loopback; failures turn a webhook off fast.
        TASKPORT_OUTBOUND_ALLOW_NETWORKS: "127.0.0.0/8",
        TASKPORT_WEBHOOK_RETRY_SECONDS: "0.5,0.5,0.5",
        TASKPORT_WEBHOOK_DISABLE_AFTER: "2",
        ...env,
      },
    },
  );
  child.stdout?.on("data", (d) => {
    output += d;
  });
  child.stderr?.on("data", (d) => {
    output += d;
  });
  await waitForHealth(baseURL, child, () => output);
  return {
    baseURL,
    dataDir,
    stop: async () => {
      if (child.pid && child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        process.kill(-child.pid, "SIGTERM");
        const timer = setTimeout(() => child.pid && process.kill(-child.pid, "SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
    remove: () => rmSync(dataDir, { recursive: true, force: true }),
  };
}

export default async function setup(project: TestProject) {
  if (!process.env.TASKPORT_E2E_SKIP_BUILD) {
    console.log("[e2e] building the web app (next build)...");
    execFileSync("pnpm", ["run", "build"], {
      cwd: webDir,
      stdio: "inherit",
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
    });
  }
  const server = await startServer();
  project.provide("baseURL", server.baseURL);
  project.provide("adminToken", ADMIN.token);
  project.provide("localFilesRoot", join(server.dataDir, "files"));

  return async () => {
    await server.stop();
    server.remove();
  };
}
