/**
 * TASKPORT_WORKERS=N: N server processes on one port, node:cluster handing each new
 * connection to one of them. Each worker is a whole Taskport process (its own pool, caches and
 * job workers), as when several processes run behind a load balancer: the per-process caches
 * are already kept coherent across processes for that case.
 *
 * The primary serves nothing. It starts the first worker alone and the others once it listens,
 * so that a new database is migrated, and the admin user and the secret key created, by one
 * process. A worker that dies after it listened is replaced; one that dies before stops them
 * all (a bad setting would only die again). SIGTERM and SIGINT go to every worker, and the
 * primary exits once they have finished their in-flight requests.
 */
import cluster, { type Worker } from "node:cluster";

export function superviseWorkers(count: number): Promise<never> {
  let stopping = false;
  const listening = new WeakSet<Worker>();
  const stop = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
  };
  const fork = () => {
    const worker = cluster.fork();
    worker.once("listening", () => {
      listening.add(worker);
      if (Object.keys(cluster.workers ?? {}).length < count && !stopping) fork();
    });
    return worker;
  };
  cluster.on("exit", (worker, code, signal) => {
    if (!stopping) {
      const reason = signal ?? `code ${code}`;
      if (listening.has(worker)) {
        console.error(
          `[taskport] worker ${worker.process.pid} exited (${reason}); starting another`,
        );
        fork();
        return;
      }
      console.error(`[taskport] worker ${worker.process.pid} exited (${reason}) while starting`);
      process.exitCode = 1;
      stop("SIGTERM");
    }
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit();
  });
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  fork();
  return new Promise<never>(() => {});
}
