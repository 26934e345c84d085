"use client";
/** Unexpected failures: a message and a retry, never the error's details (they stay in the server log). */
export default function ErrorPage({ reset }: { error: Error; reset: () => void }) {
  return (
    <section className="card stack" role="alert">
      <h1>Something went wrong</h1>
      <p>The page could not be shown. Retry, and if it keeps failing, check the server log.</p>
      <p>
        <button type="button" className="btn" onClick={reset}>
          Retry
        </button>
      </p>
    </section>
  );
}
