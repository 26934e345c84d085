/**
 * Taskport's job system with every queue the server runs: the one place where queues are
 * defined, so that every process (and every test) runs the same set.
 */
import { randomUUID } from "node:crypto";
import type { Db } from "../db/client";
import { importDefinition } from "../services/import-job";
import type { NetworkPolicy } from "../services/network-policy";
import { type SyncSettings, syncDefinition, syncTickDefinition } from "../services/storage-sync";
import { type UploadSettings, uploadSettingsOf } from "../services/uploads";
import {
  deliveryDefinition,
  type WebhookDeliverySettings,
  webhookDispatcher,
} from "../services/webhook-delivery";
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
  storage?: Omit<SyncSettings, "network">;
  /** Webhook deliveries: timeout, retry schedule, when to turn one off. */
  webhooks?: Omit<WebhookDeliverySettings, keyof NetworkPolicy>;
  /** Where webhooks and S3 storages may connect (TASKPORT_OUTBOUND_ALLOW_NETWORKS / _DENY_NETWORKS). */
  network?: NetworkPolicy;
  /** Asynchronous imports read their files from the media folder (TASKPORT_MEDIA_DIR). */
  uploads?: Partial<UploadSettings>;
}

export function createJobSystem(options: TaskportJobsOptions): JobSystem {
  const system = new JobSystem(options);
  const logError =
    options.logError ?? ((id, error) => console.error(`[taskport] job error ${id}:`, error));
  const network = options.network ?? {};
  const webhooks = { ...options.webhooks, ...network };
  system.define(syncDefinition(options.db, { ...options.storage, network }));
  system.define(syncTickDefinition(options.db, () => system));
  system.define(importDefinition(options.db, uploadSettingsOf(options.uploads)));
  system.define(deliveryDefinition(options.db, webhooks));
  system.attach(
    webhookDispatcher(
      options.db,
      () => system,
      webhooks,
      (_id, error) => logError(randomUUID(), error),
    ),
  );
  return system;
}
