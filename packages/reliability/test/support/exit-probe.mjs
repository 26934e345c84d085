/**
 * Loaded into a Taskport process under test (NODE_OPTIONS=--import): as the process exits, and
 * before it is gone, asks PostgreSQL how many connections it still holds (those named by
 * TASKPORT_EXIT_PROBE_APP, its application_name) and writes the answer to
 * TASKPORT_EXIT_PROBE_FILE. A connection closed by the pool leaves pg_stat_activity a moment
 * after the client side: the question is asked again until none is left or 5 s have passed.
 * A pool the process did not close is still connected at this point, so the count stays up.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";

const file = process.env.TASKPORT_EXIT_PROBE_FILE;
const url = process.env.TASKPORT_EXIT_PROBE_URL;
const app = process.env.TASKPORT_EXIT_PROBE_APP;

if (file && url && app) {
  process.on("exit", (code) => {
    const count = () =>
      Number(
        execFileSync("psql", [
          url,
          "-Atc",
          `select count(*) from pg_stat_activity where application_name = '${app.replaceAll("'", "''")}'`,
        ])
          .toString()
          .trim(),
      );
    const deadline = Date.now() + 5_000;
    let connections = count();
    while (connections > 0 && Date.now() < deadline) connections = count();
    writeFileSync(file, JSON.stringify({ code, connections }));
  });
}
