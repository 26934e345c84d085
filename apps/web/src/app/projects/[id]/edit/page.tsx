import type { Metadata } from "next";
import Link from "next/link";
import { ProjectForm } from "~/components/project-form";
import { loadProject } from "~/server/project";

export const metadata: Metadata = { title: "Edit project" };

export default async function EditProjectPage({ params }: { params: Promise<{ id: string }> }) {
  const project = await loadProject((await params).id, "/edit");
  return (
    <section className="card stack">
      <p className="breadcrumb">
        <Link href={`/projects/${project.id}`}>← {project.title}</Link>
      </p>
      <h1>Edit project</h1>
      <ProjectForm
        project={{
          id: project.id,
          title: project.title,
          description: project.description,
          label_config: project.label_config,
          maximum_annotations: project.maximum_annotations,
        }}
      />
    </section>
  );
}
