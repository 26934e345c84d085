/** Jobs as their organization sees them: read one, cancel one. */
import type { Job } from "@taskport/schema";
import { TRPCError } from "@trpc/server";
import { and, eq } from "drizzle-orm";
import type { Actor } from "../auth/actor";
import type { Db } from "../db/client";
import { jobs } from "../db/schema";
import { notFound } from "../errors";
import type { JobRow, JobSystem } from "../jobs/system";

export const JOB_NOT_FOUND = "No Job matches the given query.";

export function toJob(row: JobRow): Job {
  return {
    id: row.id,
    queue: row.queue,
    status: row.status,
    progress: row.progress,
    result: row.result ?? null,
    error: row.error,
    attempt: row.attempt,
    max_attempts: row.maxAttempts,
    cancel_requested: row.cancelRequestedAt !== null,
    created_at: row.createdAt,
    started_at: row.startedAt,
    finished_at: row.finishedAt,
  };
}

async function findJob(db: Db, actor: Actor, id: string): Promise<JobRow> {
  const [row] = await db
    .select()
    .from(jobs)
    .where(and(eq(jobs.id, id), eq(jobs.organizationId, actor.organizationId)));
  if (!row) throw notFound(JOB_NOT_FOUND);
  return row;
}

export async function getJob(db: Db, actor: Actor, id: string): Promise<Job> {
  return toJob(await findJob(db, actor, id));
}

/** The job system of this process; a process started without one cannot enqueue or cancel. */
export function requireJobs(system: JobSystem | undefined): JobSystem {
  if (!system)
    throw new TRPCError({
      code: "SERVICE_UNAVAILABLE",
      message:
        "This server runs no job system: background work cannot be started or cancelled here.",
    });
  return system;
}

export async function cancelJob(
  db: Db,
  system: JobSystem | undefined,
  actor: Actor,
  id: string,
): Promise<Job> {
  await findJob(db, actor, id);
  const row = await requireJobs(system).cancel(id);
  if (!row) throw notFound(JOB_NOT_FOUND);
  return toJob(row);
}
