import { type Annotation, type AnnotationExpanded, TASK_FIELDS } from "@taskport/schema";
import { TRPCError } from "@trpc/server";
import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { formatDateTime, parseRouteId } from "~/lib/format";
import { regionText } from "~/lib/result-text";
import { serverCaller } from "~/server/caller";
import { loadProject } from "~/server/project";

export const metadata: Metadata = { title: "Task" };

function show(value: unknown) {
  if (value instanceof Date) return <When date={value} />;
  if (value !== null && typeof value === "object")
    return <pre className="json">{JSON.stringify(value, null, 2)}</pre>;
  return <code>{JSON.stringify(value)}</code>;
}

function When({ date }: { date: Date }) {
  return <time dateTime={date.toISOString()}>{formatDateTime(date)}</time>;
}

/** `completed_by` is the annotator expanded in the task detail, or a bare user id elsewhere. */
function completedBy(annotation: Annotation | AnnotationExpanded): string {
  const by = annotation.completed_by;
  if (by === null) return "unknown";
  return typeof by === "number" ? `user ${by}` : by.email;
}

function Result({ result }: { result: Record<string, unknown>[] }) {
  if (result.length === 0) return <p className="muted">No result</p>;
  return (
    <ul className="result-regions">
      {result.map((region, index) => {
        const text = regionText(region);
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: regions have no id of their own to rely on
          <li key={index}>
            <code>{text.names}</code>: {text.type} <strong>{text.value}</strong>
          </li>
        );
      })}
    </ul>
  );
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
      <section className="stack" aria-labelledby="annotations">
        <h2 id="annotations">Annotations</h2>
        {task.annotations.length === 0 ? (
          <div className="card empty">No annotations yet</div>
        ) : (
          task.annotations.map((annotation) => (
            <article
              key={annotation.id}
              className="card stack"
              data-testid={`annotation-${annotation.id}`}
            >
              <h3>Annotation {annotation.id}</h3>
              <p className="meta-line">
                <span>by {completedBy(annotation)}</span>
                <When date={annotation.created_at} />
                {annotation.was_cancelled && <span className="badge">Cancelled</span>}
                {annotation.ground_truth && <span className="badge">Ground truth</span>}
              </p>
              <Result result={annotation.result} />
            </article>
          ))
        )}
      </section>
      <section className="stack" aria-labelledby="predictions">
        <h2 id="predictions">Predictions</h2>
        {task.predictions.length === 0 ? (
          <div className="card empty">No predictions yet</div>
        ) : (
          task.predictions.map((prediction) => (
            <article
              key={prediction.id}
              className="card stack"
              data-testid={`prediction-${prediction.id}`}
            >
              <h3>Prediction {prediction.id}</h3>
              <p className="meta-line">
                <span>
                  model <code>{prediction.model_version || "—"}</code>
                </span>
                <span>score {prediction.score === null ? "—" : prediction.score}</span>
                <When date={prediction.created_at} />
              </p>
              <Result result={prediction.result} />
            </article>
          ))
        )}
      </section>
    </div>
  );
}
