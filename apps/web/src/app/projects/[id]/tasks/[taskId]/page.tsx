import { TASK_FIELDS } from "@taskport/schema";
import { TRPCError } from "@trpc/server";
import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { formatDateTime, parseRouteId } from "~/lib/format";
import { serverCaller } from "~/server/caller";
import { loadProject } from "~/server/project";

export const metadata: Metadata = { title: "Task" };

function show(value: unknown) {
  if (value instanceof Date)
    return <time dateTime={value.toISOString()}>{formatDateTime(value)}</time>;
  if (value !== null && typeof value === "object")
    return <pre className="json">{JSON.stringify(value, null, 2)}</pre>;
  return <code>{JSON.stringify(value)}</code>;
}

export default async function TaskPage({
  params,
}: {
  params: Promise<{ id: string; taskId: string }>;
}) {
  const { id, taskId } = await params;
  const project = await loadProject(id, `/tasks/${encodeURIComponent(taskId)}`);
  const taskNumber = parseRouteId(taskId);
  if (taskNumber === null) notFound();
  const caller = await serverCaller();
  const task = await caller.task.byId({ id: taskNumber }).catch((error: unknown) => {
    if (error instanceof TRPCError && error.code === "NOT_FOUND") notFound();
    throw error;
  });
  if (task.project !== project.id) notFound();
  return (
    <div className="stack">
      <p className="breadcrumb">
        <Link href={`/projects/${project.id}`}>← {project.title}</Link>
      </p>
      <h1>
        Task {task.inner_id} <span className="muted">(id {task.id})</span>
      </h1>
      <dl className="card fields" aria-label="Task fields">
        {TASK_FIELDS.map((field) => (
          <div key={field} className="field-row">
            <dt>{field}</dt>
            <dd>{show(task[field])}</dd>
          </div>
        ))}
      </dl>
    </div>
  );
}
