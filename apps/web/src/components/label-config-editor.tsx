"use client";
/** The label config textarea with its live verdict: valid or not, and the data keys tasks need. */
import { useDeferredValue } from "react";
import { labelConfigFeedback } from "~/lib/label-config-feedback";
import { describedBy, FieldError } from "./field-error";

export function LabelConfigEditor({
  value,
  onChange,
  serverError,
}: {
  value: string;
  onChange: (value: string) => void;
  serverError?: string;
}) {
  // Parsing waits for a pause in typing on slow machines instead of delaying each keystroke.
  const deferred = useDeferredValue(value);
  const feedback = labelConfigFeedback(deferred);
  return (
    <div className="field">
      <label htmlFor="label_config">Label config</label>
      <textarea
        id="label_config"
        name="label_config"
        className="code"
        rows={8}
        spellCheck={false}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={!feedback.ok || serverError ? true : undefined}
        aria-describedby={describedBy("label-config-feedback", serverError && "label-config-error")}
      />
      <div
        id="label-config-feedback"
        role="status"
        aria-live="polite"
        className={feedback.ok ? "feedback feedback-ok" : "feedback feedback-bad"}
        data-testid="label-config-feedback"
      >
        <p>{feedback.summary}</p>
        {feedback.ok && feedback.keys.length > 0 && (
          <ul className="key-list" aria-label="Required data keys">
            {feedback.keys.map((k) => (
              <li key={k.key}>
                <code>{k.key}</code> <span className="muted">read by {k.readBy.join(", ")}</span>
              </li>
            ))}
          </ul>
        )}
      </div>
      <FieldError id="label-config-error" message={serverError} />
    </div>
  );
}
