export { type BossDb, bossDbFor, bossDbInTransaction } from "./boss-db";
export {
  backoff,
  type EnqueueOptions,
  JobCancelled,
  type JobContext,
  type JobDefinition,
  JobInterrupted,
  type JobProgress,
  type JobRow,
  type JobStatus,
  JobSuperseded,
  JobSystem,
  type JobSystemOptions,
  PermanentJobError,
  RetryLater,
  type RetryPolicy,
  UNFINISHED,
} from "./system";
