"use client";
/**
 * A project's import storages: add an S3 bucket or a local folder, sync it, watch the sync's
 * progress (polled once a second while it runs) and cancel it.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { ImportStorage, StorageType } from "@taskport/schema";
import { TRPCClientError } from "@trpc/client";
import { type FormEvent, useState } from "react";
import { formatDateTime } from "~/lib/format";
import { useTRPC } from "~/trpc/react";

function messageOf(error: unknown): string {
  return error instanceof TRPCClientError
    ? error.message
    : "The server could not be reached: check your connection and retry.";
}

const RUNNING = new Set(["queued", "in_progress"]);
const STATUS_TEXT: Record<ImportStorage["status"], string> = {
  initialized: "Never synced",
  queued: "Queued",
  in_progress: "Syncing",
  completed: "Synced",
  completed_with_errors: "Synced with errors",
  failed: "Failed",
};

function count(meta: Record<string, unknown>, key: string): number {
  return Number(meta[key] ?? 0);
}

function SyncProgress({ storage }: { storage: ImportStorage }) {
  const { meta } = storage;
  if (!storage.last_sync_job) return null;
  const listed = count(meta, "objects_listed");
  const expected = Math.max(count(meta, "objects_expected"), listed);
  const running = RUNNING.has(storage.status);
  const label = `Sync progress of storage ${storage.id}`;
  return (
    <div className="stack" data-testid={`sync-progress-${storage.id}`}>
      {running &&
        (expected > 0 ? (
          <progress max={expected} value={listed} aria-label={label} />
        ) : (
          <progress aria-label={label} />
        ))}
      <p className="hint">
        {listed.toLocaleString("en-US")}
        {running && expected > 0 ? ` of ~${expected.toLocaleString("en-US")}` : ""} objects listed ·{" "}
        {count(meta, "tasks_created").toLocaleString("en-US")} tasks created ·{" "}
        {count(meta, "tasks_updated").toLocaleString("en-US")} updated ·{" "}
        {count(meta, "tasks_skipped").toLocaleString("en-US")} unchanged
        {count(meta, "tasks_deleted") > 0 ? ` · ${count(meta, "tasks_deleted")} deleted` : ""}
        {count(meta, "error_count") > 0 ? ` · ${count(meta, "error_count")} errors` : ""}
      </p>
      {storage.traceback && <pre className="code">{storage.traceback}</pre>}
    </div>
  );
}

function StorageRow({ storage, projectId }: { storage: ImportStorage; projectId: number }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [error, setError] = useState<string>();
  const refresh = () =>
    queryClient.invalidateQueries(
      trpc.storage.list.queryFilter({ type: storage.type, project: projectId }),
    );
  const sync = useMutation(trpc.storage.sync.mutationOptions({ onSuccess: refresh }));
  const cancel = useMutation(trpc.storage.cancelSync.mutationOptions({ onSuccess: refresh }));
  const running = RUNNING.has(storage.status);
  const where =
    storage.type === "s3" ? `s3://${storage.bucket}/${storage.prefix ?? ""}` : storage.path;
  async function run(action: () => Promise<unknown>) {
    setError(undefined);
    try {
      await action();
    } catch (e) {
      setError(messageOf(e));
    }
  }
  return (
    <li className="card stack" data-testid={`storage-${storage.id}`}>
      <div className="page-header">
        <div>
          <h3>{storage.title || where}</h3>
          <p className="muted">
            {where} · {storage.use_blob_urls ? "one task per media file" : "tasks from JSON files"}
            {storage.sync_interval_minutes
              ? ` · syncs every ${storage.sync_interval_minutes} min`
              : ""}
          </p>
        </div>
        <div className="actions">
          <span className="badge" role="status" data-testid={`storage-status-${storage.id}`}>
            {STATUS_TEXT[storage.status]}
          </span>
          {running ? (
            <button
              type="button"
              className="btn"
              disabled={cancel.isPending}
              onClick={() => run(() => cancel.mutateAsync({ type: storage.type, id: storage.id }))}
            >
              Cancel sync
            </button>
          ) : (
            <button
              type="button"
              className="btn btn-primary"
              disabled={sync.isPending}
              onClick={() => run(() => sync.mutateAsync({ type: storage.type, id: storage.id }))}
            >
              Sync
            </button>
          )}
        </div>
      </div>
      {error && (
        <p className="alert" role="alert">
          {error}
        </p>
      )}
      {storage.last_sync && (
        <p className="hint">
          Last synced{" "}
          <time dateTime={storage.last_sync.toISOString()}>
            {formatDateTime(storage.last_sync)}
          </time>
        </p>
      )}
      <SyncProgress storage={storage} />
    </li>
  );
}

function StorageList({ type, projectId }: { type: StorageType; projectId: number }) {
  const trpc = useTRPC();
  const list = useQuery({
    ...trpc.storage.list.queryOptions({ type, project: projectId }),
    // While a sync runs its progress is polled; otherwise the list is left alone.
    refetchInterval: (query) =>
      query.state.data?.some((s) => RUNNING.has(s.status)) ? 1000 : false,
  });
  if (list.isPending) return <p role="status">Loading storages…</p>;
  if (list.isError)
    return (
      <p className="alert" role="alert">
        The storages could not be loaded: {list.error.message}
      </p>
    );
  if (list.data.length === 0) return null;
  return (
    <ul className="stack" aria-label={type === "s3" ? "S3 storages" : "Local folder storages"}>
      {list.data.map((storage) => (
        <StorageRow key={storage.id} storage={storage} projectId={projectId} />
      ))}
    </ul>
  );
}

function AddStorage({ projectId }: { projectId: number }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [type, setType] = useState<StorageType>("s3");
  const [fields, setFields] = useState<Record<string, string>>({});
  const [flags, setFlags] = useState({
    use_blob_urls: false,
    presign: true,
    recursive_scan: false,
  });
  const [error, setError] = useState<string>();
  const create = useMutation(
    trpc.storage.create.mutationOptions({
      onSuccess: (storage) =>
        queryClient.invalidateQueries(
          trpc.storage.list.queryFilter({ type: storage.type, project: projectId }),
        ),
    }),
  );
  const text = (name: string) => fields[name]?.trim() || undefined;
  const input = (name: string, label: string, props: Record<string, unknown> = {}) => (
    <div className="field">
      <label htmlFor={`storage-${name}`}>{label}</label>
      <input
        id={`storage-${name}`}
        value={fields[name] ?? ""}
        onChange={(e) => setFields({ ...fields, [name]: e.target.value })}
        {...props}
      />
    </div>
  );

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setError(undefined);
    const interval = text("sync_interval_minutes");
    const common = {
      project: projectId,
      title: text("title"),
      regex_filter: text("regex_filter"),
      use_blob_urls: flags.use_blob_urls,
      recursive_scan: flags.recursive_scan,
      sync_interval_minutes: interval ? Number(interval) : undefined,
    };
    try {
      if (type === "s3") {
        await create.mutateAsync({
          type,
          ...common,
          bucket: text("bucket"),
          prefix: text("prefix"),
          s3_endpoint: text("s3_endpoint"),
          region_name: text("region_name"),
          aws_access_key_id: text("aws_access_key_id"),
          aws_secret_access_key: text("aws_secret_access_key"),
          presign: flags.presign,
        });
      } else {
        await create.mutateAsync({ type, ...common, path: text("path") });
      }
      setFields({});
    } catch (e) {
      setError(messageOf(e));
    }
  }

  return (
    <section className="card stack" aria-labelledby="add-storage-heading">
      <h2 id="add-storage-heading">Add a storage</h2>
      <form className="stack" onSubmit={onSubmit} noValidate>
        {error && (
          <p className="alert" role="alert">
            {error}
          </p>
        )}
        <div className="field">
          <label htmlFor="storage-type">Kind</label>
          <select
            id="storage-type"
            value={type}
            onChange={(e) => setType(e.target.value as StorageType)}
          >
            <option value="s3">S3 bucket (AWS S3, MinIO, R2, GCS interoperability)</option>
            <option value="localfiles">Folder on the server</option>
          </select>
        </div>
        {input("title", "Title (optional)")}
        {type === "s3" ? (
          <>
            {input("bucket", "Bucket")}
            {input("prefix", "Prefix (optional)")}
            {input("s3_endpoint", "Endpoint (empty for AWS; e.g. http://minio:9000)")}
            {input("region_name", "Region (optional)")}
            {input("aws_access_key_id", "Access key ID", { autoComplete: "off" })}
            {input("aws_secret_access_key", "Secret access key", {
              type: "password",
              autoComplete: "off",
            })}
          </>
        ) : (
          input("path", "Absolute path (under TASKPORT_LOCAL_FILES_ROOT)")
        )}
        {input("regex_filter", "File filter (regular expression, optional)")}
        {input("sync_interval_minutes", "Sync automatically every … minutes (optional)", {
          inputMode: "numeric",
        })}
        <label>
          <input
            type="checkbox"
            checked={flags.use_blob_urls}
            onChange={(e) => setFlags({ ...flags, use_blob_urls: e.target.checked })}
          />{" "}
          Treat every file as media: one task per file, with its URL
        </label>
        <label>
          <input
            type="checkbox"
            checked={flags.recursive_scan}
            onChange={(e) => setFlags({ ...flags, recursive_scan: e.target.checked })}
          />{" "}
          Include sub-folders
        </label>
        {type === "s3" && (
          <label>
            <input
              type="checkbox"
              checked={flags.presign}
              onChange={(e) => setFlags({ ...flags, presign: e.target.checked })}
            />{" "}
            Serve media through presigned URLs (otherwise through Taskport)
          </label>
        )}
        <div className="actions">
          <button type="submit" className="btn btn-primary" disabled={create.isPending}>
            {create.isPending ? "Checking the connection…" : "Add storage"}
          </button>
        </div>
      </form>
    </section>
  );
}

export function StoragesManager({ projectId }: { projectId: number }) {
  return (
    <>
      <AddStorage projectId={projectId} />
      <section className="stack" aria-labelledby="storages-heading">
        <h2 id="storages-heading">Storages</h2>
        <StorageList type="s3" projectId={projectId} />
        <StorageList type="localfiles" projectId={projectId} />
      </section>
    </>
  );
}
