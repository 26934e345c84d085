"use client";
/**
 * A project's webhooks: add one (its signing secret is shown once), see whether each is on and,
 * when Taskport turned it off, why; its delivery log (refreshed every few seconds) with
 * redelivery; turn it on or off, delete it.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { Webhook, WebhookDelivery } from "@taskport/schema";
import { TRPCClientError } from "@trpc/client";
import { type FormEvent, useState } from "react";
import { formatDateTime } from "~/lib/format";
import { useTRPC } from "~/trpc/react";

function messageOf(error: unknown): string {
  return error instanceof TRPCClientError
    ? error.message
    : "The server could not be reached: check your connection and retry.";
}

const STATUS_TEXT: Record<WebhookDelivery["status"], string> = {
  pending: "Pending",
  delivered: "Delivered",
  failed: "Failed",
};

function Deliveries({ webhook }: { webhook: Webhook }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [error, setError] = useState<string>();
  const log = useQuery({
    ...trpc.webhook.deliveries.queryOptions({ id: webhook.id, limit: 50 }),
    refetchInterval: 2000,
  });
  const redeliver = useMutation(
    trpc.webhook.redeliver.mutationOptions({
      onSuccess: () =>
        queryClient.invalidateQueries(trpc.webhook.deliveries.queryFilter({ id: webhook.id })),
    }),
  );
  if (log.isPending) return <p role="status">Loading deliveries…</p>;
  if (log.isError)
    return (
      <p className="alert" role="alert">
        The deliveries could not be loaded: {log.error.message}
      </p>
    );
  if (log.data.length === 0) return <p className="hint">No deliveries yet.</p>;
  return (
    <>
      {error && (
        <p className="alert" role="alert">
          {error}
        </p>
      )}
      <table aria-label={`Deliveries of webhook ${webhook.id}`}>
        <thead>
          <tr>
            <th>Event</th>
            <th>Status</th>
            <th>Response</th>
            <th>Attempts</th>
            <th>Next attempt</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {log.data.map((d) => (
            <tr key={d.id} data-testid={`delivery-${d.id}`}>
              <td>
                {d.action}{" "}
                <time className="hint" dateTime={d.created_at.toISOString()}>
                  {formatDateTime(d.created_at)}
                </time>
              </td>
              <td>{STATUS_TEXT[d.status]}</td>
              <td>{d.response_status ?? d.error ?? "—"}</td>
              <td>{d.attempts}</td>
              <td>
                {d.next_attempt_at ? (
                  <time dateTime={d.next_attempt_at.toISOString()}>
                    {formatDateTime(d.next_attempt_at)}
                  </time>
                ) : (
                  "—"
                )}
              </td>
              <td>
                <button
                  type="button"
                  className="btn"
                  disabled={redeliver.isPending}
                  onClick={async () => {
                    setError(undefined);
                    try {
                      await redeliver.mutateAsync({ id: webhook.id, delivery: d.id });
                    } catch (e) {
                      setError(messageOf(e));
                    }
                  }}
                >
                  Redeliver
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function WebhookRow({ webhook, projectId }: { webhook: Webhook; projectId: number }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [error, setError] = useState<string>();
  const refresh = () =>
    queryClient.invalidateQueries(trpc.webhook.list.queryFilter({ project: projectId }));
  const update = useMutation(trpc.webhook.update.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(trpc.webhook.delete.mutationOptions({ onSuccess: refresh }));
  async function run(action: () => Promise<unknown>) {
    setError(undefined);
    try {
      await action();
    } catch (e) {
      setError(messageOf(e));
    }
  }
  return (
    <li className="card stack" data-testid={`webhook-${webhook.id}`}>
      <div className="page-header">
        <div>
          <h3>{webhook.url}</h3>
          <p className="muted">
            {webhook.send_for_all_actions
              ? "Every event"
              : webhook.actions.join(", ") || "No event"}
            {webhook.send_payload ? "" : " · action only"}
          </p>
        </div>
        <div className="actions">
          <span className="badge" role="status" data-testid={`webhook-status-${webhook.id}`}>
            {webhook.is_active ? "On" : "Off"}
          </span>
          <button
            type="button"
            className="btn"
            disabled={update.isPending}
            onClick={() =>
              run(() => update.mutateAsync({ id: webhook.id, is_active: !webhook.is_active }))
            }
          >
            {webhook.is_active ? "Turn off" : "Turn on"}
          </button>
          <button
            type="button"
            className="btn"
            disabled={remove.isPending}
            onClick={() => run(() => remove.mutateAsync({ id: webhook.id }))}
          >
            Delete
          </button>
        </div>
      </div>
      {webhook.disabled_reason && (
        <p className="alert" role="alert" data-testid={`webhook-disabled-${webhook.id}`}>
          {webhook.disabled_reason}
        </p>
      )}
      {error && (
        <p className="alert" role="alert">
          {error}
        </p>
      )}
      <Deliveries webhook={webhook} />
    </li>
  );
}

function AddWebhook({ projectId }: { projectId: number }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [url, setUrl] = useState("");
  const [secret, setSecret] = useState<string>();
  const [error, setError] = useState<string>();
  const create = useMutation(
    trpc.webhook.create.mutationOptions({
      onSuccess: () =>
        queryClient.invalidateQueries(trpc.webhook.list.queryFilter({ project: projectId })),
    }),
  );
  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setError(undefined);
    setSecret(undefined);
    try {
      const created = await create.mutateAsync({ project: projectId, url: url.trim() });
      setSecret(created.secret);
      setUrl("");
    } catch (e) {
      setError(messageOf(e));
    }
  }
  return (
    <section className="card stack" aria-labelledby="add-webhook-heading">
      <h2 id="add-webhook-heading">Add a webhook</h2>
      <form className="stack" onSubmit={onSubmit} noValidate>
        {error && (
          <p className="alert" role="alert">
            {error}
          </p>
        )}
        <div className="field">
          <label htmlFor="webhook-url">URL</label>
          <input
            id="webhook-url"
            value={url}
            placeholder="https://hooks.example.com/taskport"
            onChange={(e) => setUrl(e.target.value)}
          />
        </div>
        <div className="actions">
          <button type="submit" className="btn btn-primary" disabled={create.isPending}>
            Add webhook
          </button>
        </div>
      </form>
      {secret && (
        <div className="stack" data-testid="webhook-secret">
          <p>
            Signing secret (shown once: verify deliveries with it, see the README's "Webhooks"):
          </p>
          <pre className="code">{secret}</pre>
        </div>
      )}
    </section>
  );
}

export function WebhooksManager({ projectId }: { projectId: number }) {
  const trpc = useTRPC();
  const list = useQuery({
    ...trpc.webhook.list.queryOptions({ project: projectId }),
    refetchInterval: 2000,
  });
  return (
    <>
      <AddWebhook projectId={projectId} />
      <section className="stack" aria-labelledby="webhooks-heading">
        <h2 id="webhooks-heading">Webhooks</h2>
        {list.isPending && <p role="status">Loading webhooks…</p>}
        {list.isError && (
          <p className="alert" role="alert">
            The webhooks could not be loaded: {list.error.message}
          </p>
        )}
        {list.data && list.data.length > 0 && (
          <ul className="stack" aria-label="Webhooks of this project">
            {list.data.map((webhook) => (
              <WebhookRow key={webhook.id} webhook={webhook} projectId={projectId} />
            ))}
          </ul>
        )}
      </section>
    </>
  );
}
