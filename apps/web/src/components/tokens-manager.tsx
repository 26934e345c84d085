"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
/** API tokens: create one (its secret shown once, with a ready curl command), list, revoke. */
import type { RouterOutputs } from "@taskport/api";
import { TokenCreateInput } from "@taskport/schema";
import { TRPCClientError } from "@trpc/client";
import { type FormEvent, useRef, useState } from "react";
import { formatDateTime } from "~/lib/format";
import { useTRPC } from "~/trpc/react";
import { CopyButton } from "./copy-button";
import { describedBy, FieldError } from "./field-error";

type Created = RouterOutputs["token"]["create"];
type Kind = Created["kind"];

/** A command that works as pasted: a key goes in `Authorization: Token`, a PAT is exchanged first. */
export function curlExample(origin: string, kind: Kind, token: string): string {
  if (kind === "key") {
    return `curl -s ${origin}/api/trpc/project.list \\\n  -H "Authorization: Token ${token}"`;
  }
  return [
    `ACCESS=$(curl -s -X POST ${origin}/api/token/refresh/ \\`,
    `  -H "Content-Type: application/json" \\`,
    `  -d '{"refresh": "${token}"}' | sed -E 's/.*"access": *"([^"]+)".*/\\1/')`,
    `curl -s ${origin}/api/trpc/project.list -H "Authorization: Bearer $ACCESS"`,
  ].join("\n");
}

function messageOf(error: unknown): string {
  return error instanceof TRPCClientError
    ? error.message
    : "The server could not be reached: check your connection and retry.";
}

export function TokensManager() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const list = useQuery(trpc.token.list.queryOptions());
  const invalidate = () => queryClient.invalidateQueries(trpc.token.list.queryFilter());
  const create = useMutation(trpc.token.create.mutationOptions({ onSuccess: invalidate }));
  const revoke = useMutation(trpc.token.revoke.mutationOptions({ onSuccess: invalidate }));
  const [name, setName] = useState("");
  const [kind, setKind] = useState<Kind>("key");
  const [nameError, setNameError] = useState<string>();
  const [formError, setFormError] = useState<string>();
  const [created, setCreated] = useState<{ token: Created; curl: string } | null>(null);
  const [revokeError, setRevokeError] = useState<string>();
  const secretRef = useRef<HTMLDivElement>(null);
  const nameRef = useRef<HTMLInputElement>(null);

  async function onCreate(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setFormError(undefined);
    const parsed = TokenCreateInput.safeParse({ name, kind });
    if (!parsed.success) {
      setNameError("Give the token a name (up to 200 characters), e.g. where it will be used.");
      nameRef.current?.focus();
      return;
    }
    setNameError(undefined);
    try {
      const token = await create.mutateAsync(parsed.data);
      setCreated({ token, curl: curlExample(window.location.origin, token.kind, token.token) });
      setName("");
      requestAnimationFrame(() => secretRef.current?.focus());
    } catch (error) {
      setFormError(messageOf(error));
    }
  }

  async function onRevoke(id: number) {
    setRevokeError(undefined);
    try {
      await revoke.mutateAsync({ id });
    } catch (error) {
      setRevokeError(messageOf(error));
    }
  }

  return (
    <>
      <section className="card stack" aria-labelledby="new-token-heading">
        <h2 id="new-token-heading">New token</h2>
        <form onSubmit={onCreate} noValidate className="stack">
          {formError && (
            <p className="alert" role="alert">
              {formError}
            </p>
          )}
          <div className="field">
            <label htmlFor="token-name">Name</label>
            <input
              ref={nameRef}
              id="token-name"
              value={name}
              onChange={(e) => setName(e.target.value)}
              maxLength={200}
              aria-required="true"
              aria-invalid={nameError ? true : undefined}
              aria-describedby={describedBy(nameError && "token-name-error")}
            />
            <FieldError id="token-name-error" message={nameError} />
          </div>
          <div className="field">
            <label htmlFor="token-kind">Kind</label>
            <select
              id="token-kind"
              value={kind}
              onChange={(e) => setKind(e.target.value as Kind)}
              aria-describedby="token-kind-hint"
            >
              <option value="key">API key (Authorization: Token …)</option>
              <option value="pat">Personal access token (JWT, Label Studio SDK)</option>
            </select>
            <p id="token-kind-hint" className="hint">
              A personal access token is exchanged at /api/token/refresh/ for access tokens that
              last five minutes.
            </p>
          </div>
          <div className="actions">
            <button type="submit" className="btn btn-primary" disabled={create.isPending}>
              {create.isPending ? "Creating…" : "Create token"}
            </button>
          </div>
        </form>
        {created && (
          <div
            ref={secretRef}
            tabIndex={-1}
            className="success stack"
            role="status"
            aria-labelledby="secret-heading"
          >
            <h3 id="secret-heading">Token “{created.token.name}” created</h3>
            <p>Copy it now: it is shown only once and cannot be recovered.</p>
            <div className="secret">
              <code id="new-token" data-testid="new-token">
                {created.token.token}
              </code>
              <CopyButton text={created.token.token} label="Copy the token" targetId="new-token" />
            </div>
            <p>Try it:</p>
            <pre id="curl-example" data-testid="curl-example">
              {created.curl}
            </pre>
            <div className="actions">
              <CopyButton
                text={created.curl}
                label="Copy the curl command"
                targetId="curl-example"
              />
              <button type="button" className="btn btn-small" onClick={() => setCreated(null)}>
                Done, hide the token
              </button>
            </div>
          </div>
        )}
      </section>
      <section className="card stack" aria-labelledby="tokens-heading">
        <h2 id="tokens-heading">Your tokens</h2>
        {revokeError && (
          <p className="alert" role="alert">
            {revokeError}
          </p>
        )}
        {list.isPending ? (
          <p role="status">Loading tokens…</p>
        ) : list.isError ? (
          <p className="alert" role="alert">
            The tokens could not be loaded: {list.error.message}
          </p>
        ) : list.data.length === 0 ? (
          <p className="empty">No tokens yet: create one above to call the API from scripts.</p>
        ) : (
          <div className="table-wrap">
            <table className="data-table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Created</th>
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.data.map((token) => (
                  <tr key={token.id}>
                    <td>{token.name}</td>
                    <td>{token.kind === "key" ? "API key" : "Personal access token"}</td>
                    <td>
                      <time dateTime={token.created_at.toISOString()}>
                        {formatDateTime(token.created_at)}
                      </time>
                    </td>
                    <td>
                      {token.revoked_at ? (
                        <>
                          revoked{" "}
                          <time dateTime={token.revoked_at.toISOString()}>
                            {formatDateTime(token.revoked_at)}
                          </time>
                        </>
                      ) : (
                        "active"
                      )}
                    </td>
                    <td>
                      {!token.revoked_at && (
                        <button
                          type="button"
                          className="btn btn-small btn-danger"
                          aria-label={`Revoke ${token.name}`}
                          disabled={revoke.isPending && revoke.variables?.id === token.id}
                          onClick={() => onRevoke(token.id)}
                        >
                          Revoke
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
