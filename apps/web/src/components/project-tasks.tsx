"use client";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
/**
 * A project's tasks: the creation form (generated from the label config, or raw JSON) and the
 * newest-first table it updates without a reload.
 */
import type { RouterOutputs } from "@taskport/api";
import { TRPCClientError } from "@trpc/client";
import Link from "next/link";
import { type FormEvent, useMemo, useRef, useState } from "react";
import { formatDateTime } from "~/lib/format";
import {
  bodyFromJson,
  dataFromForm,
  dataPreview,
  jsonTemplate,
  placeErrors,
  serverTaskErrors,
  type TaskErrors,
  type TaskFormField,
  taskFormSpec,
  validateTaskBody,
} from "~/lib/task-form";
import { useTRPC } from "~/trpc/react";
import { describedBy, FieldError } from "./field-error";

export const TASK_PAGE_SIZE = 20;

type Task = RouterOutputs["task"]["create"];

export function ProjectTasks({
  projectId,
  labelConfig,
}: {
  projectId: number;
  labelConfig: string;
}) {
  const [page, setPage] = useState(1);
  const [created, setCreated] = useState<Task | null>(null);
  return (
    <>
      <TaskCreator
        projectId={projectId}
        labelConfig={labelConfig}
        created={created}
        onCreated={(task) => {
          setCreated(task);
          setPage(1);
        }}
      />
      <TaskTable projectId={projectId} page={page} onPage={setPage} highlightId={created?.id} />
    </>
  );
}

function fieldId(field: TaskFormField): string {
  return `task-field-${field.key.replace(/[^\w-]/g, "_")}`;
}

function TaskCreator({
  projectId,
  labelConfig,
  created,
  onCreated,
}: {
  projectId: number;
  labelConfig: string;
  created: Task | null;
  onCreated: (task: Task) => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const spec = useMemo(() => taskFormSpec(labelConfig), [labelConfig]);
  const fields = spec.ok ? spec.fields : [];
  const [mode, setMode] = useState<"form" | "json">("form");
  const [values, setValues] = useState<Record<string, string>>({});
  const [json, setJson] = useState(() => jsonTemplate(fields));
  const [errors, setErrors] = useState<TaskErrors>({});
  const formRef = useRef<HTMLFormElement>(null);
  const resultRef = useRef<HTMLDivElement>(null);
  const create = useMutation(
    trpc.task.create.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries(trpc.task.list.pathFilter()),
    }),
  );

  const placed = placeErrors(errors, fields, mode);

  function focusFirstError() {
    // After React has rendered the messages, so that screen readers read them with the field.
    requestAnimationFrame(() => {
      formRef.current?.querySelector<HTMLElement>("[aria-invalid=true], [role=alert]")?.focus();
    });
  }

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    let body: Record<string, unknown>;
    if (mode === "form") {
      const built = dataFromForm(fields, values);
      if (Object.keys(built.errors).length) {
        setErrors(built.errors);
        focusFirstError();
        return;
      }
      body = { data: built.data, project: projectId };
    } else {
      const parsed = bodyFromJson(json, projectId);
      if ("error" in parsed) {
        setErrors({ json: parsed.error });
        focusFirstError();
        return;
      }
      body = parsed.body;
    }
    const local = validateTaskBody(spec.ok ? spec.objectTags : [], body);
    if (Object.keys(local).length) {
      setErrors(local);
      focusFirstError();
      return;
    }
    setErrors({});
    try {
      // The body has passed the server's task rules above; the server checks it again.
      const task = await create.mutateAsync(body as Parameters<typeof create.mutateAsync>[0]);
      onCreated(task);
      setValues({});
      requestAnimationFrame(() => resultRef.current?.focus());
    } catch (error) {
      setErrors(
        error instanceof TRPCClientError
          ? serverTaskErrors(error)
          : { form: "The server could not be reached: check your connection and retry." },
      );
      focusFirstError();
    }
  }

  return (
    <section className="card stack" aria-labelledby="create-task-heading">
      <h2 id="create-task-heading">Create a task</h2>
      {!spec.ok && (
        <p className="alert" role="alert">
          This project&apos;s label config is invalid ({spec.error}); fix it in Edit.
        </p>
      )}
      <form ref={formRef} onSubmit={onSubmit} noValidate className="stack">
        <fieldset className="segmented">
          <legend>Input</legend>
          <label>
            <input
              type="radio"
              name="mode"
              value="form"
              checked={mode === "form"}
              onChange={() => {
                setMode("form");
                setErrors({});
              }}
            />
            Form
          </label>
          <label>
            <input
              type="radio"
              name="mode"
              value="json"
              checked={mode === "json"}
              onChange={() => {
                setMode("json");
                setErrors({});
              }}
            />
            Raw JSON
          </label>
        </fieldset>
        {placed.form.length > 0 && (
          <div className="alert" role="alert" tabIndex={-1} data-testid="task-form-error">
            {placed.form.map((message) => (
              <p key={message}>{message}</p>
            ))}
            {errors.project && (
              <p>
                <Link href="/projects">Back to the projects</Link>
              </p>
            )}
          </div>
        )}
        {mode === "form" ? (
          fields.length === 0 ? (
            <p className="muted">
              This label config reads no data key: the task will be created with empty data. Use Raw
              JSON to add keys and meta.
            </p>
          ) : (
            fields.map((field) => {
              const id = fieldId(field);
              const error = placed.byField[field.errorKey];
              const common = {
                id,
                name: field.key,
                value: values[field.key] ?? "",
                "aria-required": true as const,
                "aria-invalid": error ? true : undefined,
                "aria-describedby": describedBy(`${id}-hint`, error && `${id}-error`),
              };
              return (
                <div className="field" key={field.key}>
                  <label htmlFor={id}>
                    <code>{field.key}</code>
                  </label>
                  {field.multiline ? (
                    <textarea
                      {...common}
                      rows={field.kind === "json" ? 4 : 3}
                      className={field.kind === "json" ? "code" : undefined}
                      onChange={(e) => setValues({ ...values, [field.key]: e.target.value })}
                    />
                  ) : (
                    <input
                      {...common}
                      type="text"
                      onChange={(e) => setValues({ ...values, [field.key]: e.target.value })}
                    />
                  )}
                  <p id={`${id}-hint`} className="hint">
                    Read by {field.readBy.join(", ")}
                    {field.kind === "json" ? `; enter JSON (${field.accepts.join(" or ")}).` : "."}
                  </p>
                  <FieldError id={`${id}-error`} message={error} />
                </div>
              );
            })
          )
        ) : (
          <div className="field">
            <label htmlFor="task-json">Task JSON</label>
            <textarea
              id="task-json"
              name="task-json"
              className="code"
              rows={10}
              spellCheck={false}
              value={json}
              onChange={(e) => setJson(e.target.value)}
              aria-invalid={placed.byField.json ? true : undefined}
              aria-describedby={describedBy(
                "task-json-hint",
                placed.byField.json && "task-json-error",
              )}
            />
            <p id="task-json-hint" className="hint">
              An object with <code>data</code> (any keys, including those above) and optionally{" "}
              <code>meta</code> and <code>overlap</code>.
            </p>
            <FieldError id="task-json-error" message={placed.byField.json} />
          </div>
        )}
        <div className="actions">
          <button type="submit" className="btn btn-primary" disabled={create.isPending || !spec.ok}>
            {create.isPending ? "Creating…" : "Create task"}
          </button>
        </div>
      </form>
      <div ref={resultRef} tabIndex={-1} role="status" aria-live="polite" className="result">
        {created && (
          <p className="success" data-testid="task-created">
            Task created: inner_id <strong>{created.inner_id}</strong> (id {created.id}).{" "}
            <Link href={`/projects/${projectId}/tasks/${created.id}`}>View all its fields</Link>
          </p>
        )}
      </div>
    </section>
  );
}

function TaskTable({
  projectId,
  page,
  onPage,
  highlightId,
}: {
  projectId: number;
  page: number;
  onPage: (page: number) => void;
  highlightId: number | undefined;
}) {
  const trpc = useTRPC();
  const list = useQuery({
    ...trpc.task.list.queryOptions({
      project: projectId,
      page,
      page_size: TASK_PAGE_SIZE,
      ordering: "-inner_id",
    }),
    placeholderData: keepPreviousData,
  });
  const total = list.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / TASK_PAGE_SIZE));

  return (
    <section className="card stack" aria-labelledby="tasks-heading">
      <div className="page-header">
        <h2 id="tasks-heading">Tasks</h2>
        <p className="muted" data-testid="task-total">
          {list.data ? `${total} ${total === 1 ? "task" : "tasks"}, newest first` : ""}
        </p>
      </div>
      {list.isPending ? (
        <p role="status">Loading tasks…</p>
      ) : list.isError ? (
        <p className="alert" role="alert">
          The tasks could not be loaded: {list.error.message}
        </p>
      ) : list.data.tasks.length === 0 ? (
        <p className="empty">No tasks yet: create the first one above.</p>
      ) : (
        <div className="table-wrap">
          <table className="data-table" aria-busy={list.isFetching || undefined}>
            <caption className="visually-hidden">
              Tasks of this project, page {page} of {pages}
            </caption>
            <thead>
              <tr>
                <th scope="col">inner_id</th>
                <th scope="col">data</th>
                <th scope="col">is_labeled</th>
                <th scope="col">created</th>
              </tr>
            </thead>
            <tbody>
              {list.data.tasks.map((task) => (
                <tr key={task.id} className={task.id === highlightId ? "row-new" : undefined}>
                  <td>
                    <Link href={`/projects/${projectId}/tasks/${task.id}`}>{task.inner_id}</Link>
                  </td>
                  <td className="preview">
                    <code>{dataPreview(task.data)}</code>
                  </td>
                  <td>{task.is_labeled ? "yes" : "no"}</td>
                  <td>
                    <time dateTime={task.created_at.toISOString()}>
                      {formatDateTime(task.created_at)}
                    </time>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {pages > 1 && (
        <nav aria-label="Task pages" className="pager">
          <button
            type="button"
            className="btn"
            disabled={page <= 1}
            onClick={() => onPage(page - 1)}
          >
            Previous
          </button>
          <span>
            Page {page} of {pages}
          </span>
          <button
            type="button"
            className="btn"
            disabled={page >= pages}
            onClick={() => onPage(page + 1)}
          >
            Next
          </button>
        </nav>
      )}
    </section>
  );
}
