/**
 * @taskport/client: the typed tRPC client of a Taskport server, for other apps and scripts.
 * Only the router's type comes from @taskport/api (a type-only import), so importing this
 * package pulls in no server code.
 *
 * Retries are safe by construction: only queries, and mutations that carry an idempotency
 * key (which the server answers once), are retried, on network failures and on 408, 429 and
 * 5xx answers.
 */
import type { AppRouter, RouterInputs, RouterOutputs } from "@taskport/api";
import { transformer } from "@taskport/schema";
import {
  createTRPCClient,
  httpBatchLink,
  retryLink,
  type TRPCClient,
  TRPCClientError,
} from "@trpc/client";

export type { AppRouter, RouterInputs, RouterOutputs };
export { TRPCClientError };

export interface TaskportClientOptions {
  /** The server, e.g. `http://localhost:3000` (or its tRPC endpoint, `.../api/trpc`). */
  url: string;
  /** An API token (`Authorization: Token <token>`). */
  token?: string;
  /** Per-request timeout; a request that takes longer fails (and may be retried). */
  timeoutMs?: number;
  /** Attempts in all for a retryable call, the first included. */
  maxAttempts?: number;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
}

export type TaskportClient = TRPCClient<AppRouter>;

export const DEFAULT_TIMEOUT_MS = 120_000;
export const DEFAULT_MAX_ATTEMPTS = 4;

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** The tRPC endpoint for a server URL given with or without `/api/trpc`. */
export function trpcUrl(url: string): string {
  const base = url.replace(/\/+$/, "");
  return base.endsWith("/api/trpc") ? base : `${base}/api/trpc`;
}

function hasIdempotencyKey(input: unknown): boolean {
  return (
    input !== null &&
    typeof input === "object" &&
    typeof (input as { idempotencyKey?: unknown }).idempotencyKey === "string"
  );
}

/** Network failures and timeouts have no HTTP status; overload and server errors have one. */
function isTransient(error: TRPCClientError<AppRouter>): boolean {
  const status = error.data?.httpStatus;
  return status === undefined ? !error.data : RETRYABLE_STATUS.has(status);
}

export function createTaskportClient(options: TaskportClientOptions): TaskportClient {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Token ${options.token}`;
  return createTRPCClient<AppRouter>({
    links: [
      retryLink({
        retry: ({ op, error, attempts }) =>
          attempts < maxAttempts &&
          (op.type === "query" || (op.type === "mutation" && hasIdempotencyKey(op.input))) &&
          isTransient(error),
        retryDelayMs: (attempt) => Math.min(200 * 2 ** (attempt - 1), 5_000),
      }),
      httpBatchLink({
        url: trpcUrl(options.url),
        transformer,
        headers,
        // Large imports are sent a chunk per call: keep batches to a few calls.
        maxItems: 10,
        fetch: (input, init) => {
          const timeout = AbortSignal.timeout(timeoutMs);
          const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
          return fetch(input, { ...init, signal });
        },
      }),
    ],
  });
}
