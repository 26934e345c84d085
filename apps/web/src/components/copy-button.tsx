"use client";
/** Copies a text; where the Clipboard API is missing (plain HTTP), selects it for Ctrl+C instead. */
import { useState } from "react";

export function CopyButton({
  text,
  label,
  targetId,
}: {
  text: string;
  label: string;
  targetId: string;
}) {
  const [status, setStatus] = useState("");
  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      setStatus("Copied.");
    } catch {
      const target = document.getElementById(targetId);
      if (target) window.getSelection()?.selectAllChildren(target);
      setStatus("Selected: press Ctrl+C (⌘C) to copy.");
    }
  }
  return (
    <>
      <button type="button" className="btn btn-small" onClick={copy} aria-label={label}>
        Copy
      </button>
      <span role="status" aria-live="polite" className="hint">
        {status}
      </span>
    </>
  );
}
