import type { Metadata } from "next";
import Link from "next/link";
import { loadProject } from "~/server/project";
import { ImportForm } from "./import-form";

export const metadata: Metadata = { title: "Import tasks" };

export default async function ImportPage({ params }: { params: Promise<{ id: string }> }) {
  const project = await loadProject((await params).id, "/import");
  return (
    <section className="card stack">
      <p className="breadcrumb">
        <Link href={`/projects/${project.id}`}>← {project.title}</Link>
      </p>
      <h1>Import tasks</h1>
      <p className="muted">
        JSON (an array of tasks), JSON Lines, CSV or TSV with a header row, or plain text with one
        task per line. An import is all or nothing: one bad item and nothing is created. For very
        large files use <code>taskport import</code>, which sends them in resumable chunks.
      </p>
      <ImportForm projectId={project.id} />
    </section>
  );
}
