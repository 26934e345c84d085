/**
 * Taskport's job system with every queue the server runs: the one place where queues are
 * defined, so that every process (and every test) runs the same set.
 */
import type { Db } from "../db/client";
import { type SyncSettings, syncDefinition, syncTickDefinition } from "../services/storage-sync";
import { JobSystem } from "./system";

export interface TaskportJobsOptions {
  db: Db;
  /** Run workers in this process (false: only enqueue and cancel). */
  work?: boolean;
  /** TASKPORT_JOB_STALE_SECONDS: a running job silent this long is retried elsewhere. */
  staleAfterSeconds?: number;
  pollingIntervalSeconds?: number;
  logError?: (id: string, error: unknown) => void;
  /** What storage syncs need: the server's secret key, TASKPORT_LOCAL_FILES_ROOT. */
  storage?: SyncSettings;
}

export function createJobSystem(options: TaskportJobsOptions): JobSystem {
  const system = new JobSystem(options);
  system.define(syncDefinition(options.db, options.storage ?? {}));
  system.define(syncTickDefinition(options.db, () => system));
  return system;
}
