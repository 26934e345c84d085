import type { Metadata } from "next";
import Link from "next/link";
import { StoragesManager } from "~/components/storages-manager";
import { loadProject } from "~/server/project";

export const metadata: Metadata = { title: "Cloud storage" };

export default async function StoragesPage({ params }: { params: Promise<{ id: string }> }) {
  const project = await loadProject((await params).id, "/storages");
  return (
    <div className="stack">
      <p className="breadcrumb">
        <Link href={`/projects/${project.id}`}>← {project.title}</Link>
      </p>
      <h1>Cloud storage</h1>
      <p className="muted">
        Tasks from an S3-compatible bucket (AWS S3, MinIO, R2, GCS interoperability) or a folder on
        the server. A sync reads only new and changed objects: each JSON object or JSON Lines row
        becomes one task, or each media object one task whose URL Taskport serves. Syncing again
        never duplicates a task.
      </p>
      <StoragesManager projectId={project.id} />
    </div>
  );
}
