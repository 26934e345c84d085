import { serverCaller } from "~/server/caller";

// Rendered per request: it reports the database's state now.
export const dynamic = "force-dynamic";

export default async function HomePage() {
  const caller = await serverCaller();
  const health = await caller.health.check();
  return (
    <section className="card">
      <h1>Taskport</h1>
      <p>Create labeling tasks through a typed tRPC API or Label Studio&apos;s REST API.</p>
      <p role="status" data-testid="health">
        Database ({health.database}):{" "}
        <strong>{health.status === "ok" ? "ready" : "unavailable"}</strong>
      </p>
      <h2>Create a task</h2>
      <pre>
        {`curl -X POST http://localhost:3000/api/trpc/task.create \\
  -H "Authorization: Token $TASKPORT_ADMIN_TOKEN" \\
  -H "Content-Type: application/json" \\
  -d '{"json": {"data": {"text": "Hello"}, "project": 1}}'`}
      </pre>
    </section>
  );
}
