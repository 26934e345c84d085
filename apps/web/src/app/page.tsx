import Link from "next/link";
import { redirect } from "next/navigation";
import { serverCaller } from "~/server/caller";
import { currentActor } from "~/server/session";

// Rendered per request: it reports the database's state now.
export const dynamic = "force-dynamic";

export default async function HomePage() {
  if (await currentActor()) redirect("/projects");
  const caller = await serverCaller();
  const health = await caller.health.check();
  return (
    <section className="card stack">
      <h1>Taskport</h1>
      <p>
        Create labeling tasks in the browser, through a typed tRPC API, or with Label Studio&apos;s
        REST API and SDKs.
      </p>
      <p className="actions">
        <Link href="/signup" className="btn btn-primary">
          Sign up
        </Link>
        <Link href="/login" className="btn">
          Log in
        </Link>
      </p>
      <p role="status" data-testid="health">
        Database ({health.database}):{" "}
        <strong>{health.status === "ok" ? "ready" : "unavailable"}</strong>
      </p>
    </section>
  );
}
