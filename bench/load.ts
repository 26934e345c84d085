/**
 * The load generator, run as its own process so that it does not share the server's event
 * loop: autocannon against one URL, with a body that picks a project per request. Prints one
 * JSON line with throughput, latency percentiles and error counts.
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

const result = await autocannon({
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
});

const out: LoadResult = {
  requests: result.requests.total,
  rps: result.requests.average,
  p50: result.latency.p50,
  p99: result.latency.p99,
  errors: result.errors + result.timeouts,
  non2xx: result.non2xx,
};
console.log(JSON.stringify(out));
