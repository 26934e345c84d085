import type { Metadata } from "next";
import Link from "next/link";
import { WebhooksManager } from "~/components/webhooks-manager";
import { loadProject } from "~/server/project";

export const metadata: Metadata = { title: "Webhooks" };

export default async function WebhooksPage({ params }: { params: Promise<{ id: string }> }) {
  const project = await loadProject((await params).id, "/webhooks");
  return (
    <div className="stack">
      <p className="breadcrumb">
        <Link href={`/projects/${project.id}`}>← {project.title}</Link>
      </p>
      <h1>Webhooks</h1>
      <p className="muted">
        URLs that receive this project's events (tasks created and deleted, project updated), each
        delivery signed with the webhook's secret and retried for about four days until it is
        answered with a 2xx.
      </p>
      <WebhooksManager projectId={project.id} />
    </div>
  );
}
