import type { Metadata } from "next";
import Link from "next/link";
import { ProjectForm } from "~/components/project-form";
import { formatCount } from "~/lib/format";
import { loadProject } from "~/server/project";

export const metadata: Metadata = { title: "Edit project" };

export default async function EditProjectPage({ params }: { params: Promise<{ id: string }> }) {
  const project = await loadProject((await params).id, "/edit");
  const controls = Object.entries(project.parsed_label_config) as [
    string,
    { type: string; labels: string[] },
  ][];
  const facts: [string, string][] = [
    ["Created by", project.created_by?.email ?? "(deleted user)"],
    ["Tasks", formatCount(project.task_number)],
    ["Finished tasks", formatCount(project.finished_task_number)],
    ["Annotations", formatCount(project.total_annotations_number)],
    ["Skipped", formatCount(project.skipped_annotations_number)],
    ["Predictions", formatCount(project.total_predictions_number)],
    [
      "Control tags",
      controls.length
        ? controls
            .map(([name, c]) => `${name} (${c.type}: ${c.labels.join(", ") || "no labels"})`)
            .join("; ")
        : "none: the config has nothing to label with",
    ],
    ["Bulk labeling", project.config_suitable_for_bulk_annotation ? "possible" : "not possible"],
  ];
  return (
    <section className="card stack">
      <p className="breadcrumb">
        <Link href={`/projects/${project.id}`}>← {project.title}</Link>
      </p>
      <h1>Edit project</h1>
      <dl className="fields" aria-label="Project facts">
        {facts.map(([name, value]) => (
          <div key={name} className="field-row">
            <dt>{name}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      <ProjectForm project={project} />
    </section>
  );
}
