import { z } from "zod";

export const JOB_STATUSES = [
  "queued",
  "running",
  "retrying",
  "completed",
  "failed",
  "cancelled",
] as const;
export const JobStatus = z.enum(JOB_STATUSES);
export type JobStatus = z.infer<typeof JobStatus>;

export const JobId = z.uuid();

export const JobByIdInput = z.object({ id: JobId });
export type JobByIdInput = z.infer<typeof JobByIdInput>;

/** A durable job as callers see it: what it is doing, how far it got, how it ended. */
export const Job = z.object({
  id: z.string(),
  queue: z.string(),
  status: JobStatus,
  /** Queue-specific counters (a sync: objects listed, tasks created, ...). */
  progress: z.record(z.string(), z.unknown()),
  result: z.unknown(),
  error: z.string().nullable(),
  attempt: z.number().int(),
  max_attempts: z.number().int(),
  cancel_requested: z.boolean(),
  created_at: z.date(),
  started_at: z.date().nullable(),
  finished_at: z.date().nullable(),
});
export type Job = z.infer<typeof Job>;
