import type { Metadata } from "next";
import Link from "next/link";
import { ProjectTasks, TASK_PAGE_SIZE } from "~/components/project-tasks";
import { loadProject } from "~/server/project";
import { getQueryClient, HydrateClient, trpcServer } from "~/server/query";

export const metadata: Metadata = { title: "Project" };

export default async function ProjectPage({ params }: { params: Promise<{ id: string }> }) {
  const project = await loadProject((await params).id);
  // The table's first page arrives with the HTML; later pages and updates come over tRPC.
  await getQueryClient().prefetchQuery(
    trpcServer.task.list.queryOptions({
      project: project.id,
      page: 1,
      page_size: TASK_PAGE_SIZE,
      ordering: "-inner_id",
    }),
  );
  return (
    <div className="stack">
      <p className="breadcrumb">
        <Link href="/projects">← Projects</Link>
      </p>
      <div className="page-header">
        <div>
          <h1>{project.title}</h1>
          {project.description && <p className="muted">{project.description}</p>}
        </div>
        <div className="actions">
          <Link href={`/projects/${project.id}/import`} prefetch={false} className="btn">
            Import
          </Link>
          <Link href={`/projects/${project.id}/storages`} prefetch={false} className="btn">
            Cloud storage
          </Link>
          <Link href={`/projects/${project.id}/webhooks`} prefetch={false} className="btn">
            Webhooks
          </Link>
          <Link href={`/projects/${project.id}/edit`} className="btn">
            Edit
          </Link>
        </div>
      </div>
      <HydrateClient>
        <ProjectTasks projectId={project.id} labelConfig={project.label_config} />
      </HydrateClient>
    </div>
  );
}
