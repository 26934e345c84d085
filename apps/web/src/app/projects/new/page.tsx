import type { Metadata } from "next";
import { ProjectForm } from "~/components/project-form";
import { requireActor } from "~/server/session";

export const metadata: Metadata = { title: "New project" };

export default async function NewProjectPage() {
  await requireActor("/projects/new");
  return (
    <section className="card stack">
      <h1>New project</h1>
      <ProjectForm />
    </section>
  );
}
