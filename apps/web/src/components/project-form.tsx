"use client";
import { useMutation } from "@tanstack/react-query";
/** Creating and editing a project, checked in the browser with the server's own schema. */
import { ProjectCreateInput } from "@taskport/schema";
import { TRPCClientError } from "@trpc/client";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { type FormEvent, useState } from "react";
import { labelConfigFeedback } from "~/lib/label-config-feedback";
import { useTRPC } from "~/trpc/react";
import { describedBy, FieldError } from "./field-error";
import { LabelConfigEditor } from "./label-config-editor";

interface ProjectValues {
  id: number;
  title: string;
  description: string;
  label_config: string;
  maximum_annotations: number;
}

type Errors = Partial<
  Record<"title" | "description" | "label_config" | "maximum_annotations" | "form", string>
>;

const EXAMPLE_CONFIG = `<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text">
    <Choice value="Positive"/>
    <Choice value="Negative"/>
  </Choices>
</View>`;

function errorsFrom(error: unknown): Errors {
  if (error instanceof TRPCClientError) {
    const zod = error.data?.zodError as { fieldErrors?: Record<string, string[]> } | null;
    const fields = Object.fromEntries(
      Object.entries(zod?.fieldErrors ?? {}).map(([k, v]) => [k, v.join(" ")]),
    );
    return Object.keys(fields).length ? fields : { form: error.message };
  }
  return { form: "The server could not be reached: check your connection and retry." };
}

export function ProjectForm({ project }: { project?: ProjectValues }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [title, setTitle] = useState(project?.title ?? "");
  const [description, setDescription] = useState(project?.description ?? "");
  const [labelConfig, setLabelConfig] = useState(project?.label_config ?? EXAMPLE_CONFIG);
  const [maxAnnotations, setMaxAnnotations] = useState(String(project?.maximum_annotations ?? 1));
  const [errors, setErrors] = useState<Errors>({});
  const create = useMutation(trpc.project.create.mutationOptions());
  const update = useMutation(trpc.project.update.mutationOptions());
  const pending = create.isPending || update.isPending;

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const input = {
      title,
      description,
      label_config: labelConfig,
      maximum_annotations: Number(maxAnnotations),
    };
    const next: Errors = {};
    const parsed = ProjectCreateInput.safeParse(input);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const key = String(issue.path[0] ?? "form") as keyof Errors;
        next[key] ??= issue.message;
      }
    }
    const feedback = labelConfigFeedback(labelConfig);
    if (!feedback.ok) next.label_config ??= feedback.error;
    setErrors(next);
    if (Object.keys(next).length) {
      form.querySelector<HTMLElement>("[aria-invalid=true]")?.focus();
      return;
    }
    try {
      const saved = project
        ? await update.mutateAsync({ id: project.id, ...input })
        : await create.mutateAsync(input);
      router.push(`/projects/${saved.id}`);
      router.refresh();
    } catch (error) {
      setErrors(errorsFrom(error));
    }
  }

  return (
    <form onSubmit={onSubmit} noValidate className="stack">
      {errors.form && (
        <p className="alert" role="alert">
          {errors.form}
        </p>
      )}
      <div className="field">
        <label htmlFor="title">Title</label>
        <input
          id="title"
          name="title"
          value={title}
          onChange={(e) => setTitle(e.target.value)}
          maxLength={200}
          aria-required="true"
          aria-invalid={errors.title ? true : undefined}
          aria-describedby={describedBy(errors.title && "title-error")}
        />
        <FieldError id="title-error" message={errors.title} />
      </div>
      <div className="field">
        <label htmlFor="description">
          Description <span className="optional">(optional)</span>
        </label>
        <textarea
          id="description"
          name="description"
          rows={3}
          value={description}
          onChange={(e) => setDescription(e.target.value)}
          aria-invalid={errors.description ? true : undefined}
          aria-describedby={describedBy(errors.description && "description-error")}
        />
        <FieldError id="description-error" message={errors.description} />
      </div>
      <LabelConfigEditor
        value={labelConfig}
        onChange={setLabelConfig}
        serverError={errors.label_config}
      />
      <div className="field field-short">
        <label htmlFor="maximum_annotations">Maximum annotations per task</label>
        <input
          id="maximum_annotations"
          name="maximum_annotations"
          type="number"
          inputMode="numeric"
          min={1}
          max={1000}
          value={maxAnnotations}
          onChange={(e) => setMaxAnnotations(e.target.value)}
          aria-invalid={errors.maximum_annotations ? true : undefined}
          aria-describedby={describedBy(
            "maximum-annotations-hint",
            errors.maximum_annotations && "maximum-annotations-error",
          )}
        />
        <p id="maximum-annotations-hint" className="hint">
          New tasks get it as their overlap: how many annotations make a task labeled.
        </p>
        <FieldError id="maximum-annotations-error" message={errors.maximum_annotations} />
      </div>
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={pending}>
          {pending ? "Saving…" : project ? "Save changes" : "Create project"}
        </button>
        <Link href={project ? `/projects/${project.id}` : "/projects"} className="btn">
          Cancel
        </Link>
      </div>
    </form>
  );
}
