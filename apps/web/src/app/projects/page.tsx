import type { Metadata } from "next";
import Link from "next/link";
import { formatDateTime } from "~/lib/format";
import { serverCaller } from "~/server/caller";
import { requireActor } from "~/server/session";

export const metadata: Metadata = { title: "Projects" };

const PAGE_SIZE = 50;

export default async function ProjectsPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  await requireActor("/projects");
  const requested = Number((await searchParams).page ?? 1);
  const page = Number.isInteger(requested) && requested > 0 ? requested : 1;
  const caller = await serverCaller();
  const list = await caller.project
    .list({ page, page_size: PAGE_SIZE })
    .catch(() => caller.project.list({ page: 1, page_size: PAGE_SIZE }));
  const pages = Math.max(1, Math.ceil(list.count / PAGE_SIZE));
  const current = Math.min(page, pages);

  return (
    <div className="stack">
      <div className="page-header">
        <h1>Projects</h1>
        <Link href="/projects/new" className="btn btn-primary">
          New project
        </Link>
      </div>
      {list.count === 0 ? (
        <div className="card empty">
          <p>No projects yet.</p>
          <p>
            A project holds a label config and the tasks created for it.{" "}
            <Link href="/projects/new">Create your first project</Link>.
          </p>
        </div>
      ) : (
        <ul className="project-list" aria-label="Projects">
          {list.results.map((project) => (
            <li key={project.id} className="card">
              <h2>
                <Link href={`/projects/${project.id}`}>{project.title}</Link>
              </h2>
              {project.description && <p className="muted clamp">{project.description}</p>}
              <p className="meta-line">
                <span data-testid="task-count">
                  {project.task_number} {project.task_number === 1 ? "task" : "tasks"}
                </span>
                <span>created {formatDateTime(project.created_at)}</span>
              </p>
            </li>
          ))}
        </ul>
      )}
      {pages > 1 && (
        <nav aria-label="Project pages" className="pager">
          {current > 1 ? <Link href={`/projects?page=${current - 1}`}>Previous</Link> : <span />}
          <span>
            Page {current} of {pages}
          </span>
          {current < pages ? <Link href={`/projects?page=${current + 1}`}>Next</Link> : <span />}
        </nav>
      )}
    </div>
  );
}
