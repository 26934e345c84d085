/**
 * The load generator, run as its own process so that it does not share the server's event
 * loop: autocannon against one URL, with a body that picks a project per request. Prints one
 * JSON line with throughput, latency percentiles and error counts. SIGUSR2 ends the run early
 * (a load that lasts as long as something else runs).
 */
import autocannon from "autocannon";

export interface LoadSpec {
  url: string;
  path: string;
  connections: number;
  seconds: number;
  token?: string;
  /** "rest": Label Studio's body; "trpc": the same wrapped as {"json": ...}. */
  shape: "rest" | "trpc";
  projects: number[];
}

export interface LoadResult {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

const spec = JSON.parse(process.argv[2] ?? "{}") as LoadSpec;
let n = 0;
const body = () => {
  n += 1;
  const project = spec.projects[n % spec.projects.length];
  const task = { data: { text: `benchmark task ${n}`, n }, project };
  return JSON.stringify(spec.shape === "trpc" ? { json: task } : task);
};

let stop: (() => void) | undefined;
let stopRequested = false;
process.on("SIGUSR2", () => {
  stopRequested = true;
  stop?.();
});
const result = await new Promise<autocannon.Result>((resolve, reject) => {
  const tracker = autocannon(
    {
      url: spec.url,
      connections: spec.connections,
      duration: spec.seconds,
      requests: [
        {
          method: "POST",
          path: spec.path,
          headers: {
            "content-type": "application/json",
            ...(spec.token ? { authorization: `Token ${spec.token}` } : {}),
          },
          setupRequest: (req) => ({ ...req, body: body() }),
        },
      ],
    },
    (error, result) => (error ? reject(error) : resolve(result)),
  );
  stop = () => tracker.stop();
  if (stopRequested) stop();
});

const out: LoadResult = {
  requests: result.requests.total,
  rps: result.requests.total / result.duration,
  p50: result.latency.p50,
  p99: result.latency.p99,
  errors: result.errors + result.timeouts,
  non2xx: result.non2xx,
};
console.log(JSON.stringify(out));
