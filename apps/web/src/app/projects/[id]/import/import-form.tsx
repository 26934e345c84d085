"use client";
/**
 * The import form: POSTs the chosen files to the REST import endpoint with the session cookie
 * (XMLHttpRequest, for upload progress), with an Idempotency-Key so that a double submit or a
 * retry of the same files creates nothing twice.
 */
import type { ImportResult } from "@taskport/schema";
import Link from "next/link";
import { type FormEvent, useRef, useState } from "react";

const ACCEPT = ".json,.jsonl,.ndjson,.csv,.tsv,.txt";

// getRandomValues, unlike randomUUID, also works on plain-HTTP origins (not "secure contexts").
function newKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

type State =
  | { kind: "idle" }
  | { kind: "uploading"; percent: number }
  | { kind: "importing" }
  | { kind: "done"; result: ImportResult; validateOnly: boolean }
  | { kind: "failed"; detail: string; errors: string[] };

interface ErrorBody {
  detail?: string;
  validation_errors?: Record<string, string[]>;
}

function send(
  url: string,
  form: FormData,
  key: string,
  onProgress: (percent: number) => void,
  onUploaded: () => void,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", url);
    request.setRequestHeader("Idempotency-Key", key);
    request.responseType = "json";
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(Math.round((event.loaded / event.total) * 100));
    };
    request.upload.onload = onUploaded;
    request.onload = () => resolve({ status: request.status, body: request.response });
    request.onerror = () => reject(new Error("network"));
    request.send(form);
  });
}

export function ImportForm({ projectId }: { projectId: number }) {
  const [state, setState] = useState<State>({ kind: "idle" });
  const [validateOnly, setValidateOnly] = useState(false);
  const fileRef = useRef<HTMLInputElement>(null);
  // One key per choice of files: resubmitting the same files replays instead of duplicating.
  const keyRef = useRef<string>("");
  const busy = state.kind === "uploading" || state.kind === "importing";

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const files = fileRef.current?.files;
    if (!files || files.length === 0) {
      setState({ kind: "failed", detail: "Choose at least one file to import.", errors: [] });
      fileRef.current?.focus();
      return;
    }
    keyRef.current ||= newKey();
    const form = new FormData();
    for (const file of files) form.append("file", file, file.name);
    const url = `/api/projects/${projectId}/import?commit_to_project=${!validateOnly}`;
    setState({ kind: "uploading", percent: 0 });
    try {
      const { status, body } = await send(
        url,
        form,
        `${keyRef.current}-${validateOnly ? "validate" : "import"}`,
        (percent) => setState({ kind: "uploading", percent }),
        () => setState({ kind: "importing" }),
      );
      if (status === 201) {
        setState({ kind: "done", result: body as ImportResult, validateOnly });
        return;
      }
      const error = (body ?? {}) as ErrorBody;
      const errors = Object.values(error.validation_errors ?? {}).flat();
      setState({
        kind: "failed",
        detail:
          status === 413
            ? (error.detail ?? "The files are too large.")
            : errors.length > 0
              ? "Nothing was imported: fix these items and import again."
              : (error.detail ?? `The import failed (${status}).`),
        errors,
      });
    } catch {
      setState({
        kind: "failed",
        detail: "The server could not be reached: check your connection and retry.",
        errors: [],
      });
    }
  }

  return (
    <form className="stack" onSubmit={onSubmit} noValidate>
      <div className="field">
        <label htmlFor="import-files">Files</label>
        <input
          id="import-files"
          ref={fileRef}
          type="file"
          name="file"
          accept={ACCEPT}
          multiple
          disabled={busy}
          onChange={() => {
            keyRef.current = newKey();
            setState({ kind: "idle" });
          }}
        />
      </div>
      <label>
        <input
          type="checkbox"
          checked={validateOnly}
          disabled={busy}
          onChange={(event) => setValidateOnly(event.target.checked)}
        />{" "}
        Validate only (create no tasks)
      </label>
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {validateOnly ? "Validate" : "Import"}
        </button>
      </div>
      <div aria-live="polite">
        {state.kind === "uploading" && (
          <p>
            <progress max={100} value={state.percent} aria-label="Upload progress" /> Uploading…{" "}
            {state.percent}%
          </p>
        )}
        {state.kind === "importing" && (
          <p>
            <progress aria-label="Import progress" /> Checking and importing the tasks…
          </p>
        )}
        {state.kind === "done" && (
          <div className="success" role="status">
            <p>
              {state.validateOnly ? "All valid: " : "Imported "}
              <strong>{state.result.task_count.toLocaleString()}</strong> tasks
              {state.result.annotation_count > 0 &&
                `, ${state.result.annotation_count.toLocaleString()} annotations`}
              {state.result.prediction_count > 0 &&
                `, ${state.result.prediction_count.toLocaleString()} predictions`}{" "}
              in {state.result.duration.toFixed(1)} s
              {state.validateOnly ? " (nothing was created)." : "."}
            </p>
            {state.result.data_columns.length > 0 && (
              <p className="muted">Data columns: {state.result.data_columns.join(", ")}</p>
            )}
            {!state.validateOnly && (
              <p>
                <Link href={`/projects/${projectId}`}>See the project's tasks</Link>
              </p>
            )}
          </div>
        )}
        {state.kind === "failed" && (
          <div className="alert" role="alert">
            <p>{state.detail}</p>
            {state.errors.length > 0 && (
              <ul className="key-list">
                {state.errors.map((error) => (
                  <li key={error}>{error}</li>
                ))}
              </ul>
            )}
          </div>
        )}
      </div>
    </form>
  );
}
