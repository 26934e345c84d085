"use client";
import { useMutation } from "@tanstack/react-query";
/**
 * Creating and editing a project, checked in the browser with the server's own schema. Editing
 * also shows Label Studio's project settings (instructions, the labeling stream, overlap,
 * predictions, pinning).
 */
import {
  PROJECT_SAMPLING,
  type Project,
  ProjectCreateInput,
  ProjectUpdateInput,
  SKIP_QUEUE,
} from "@taskport/schema";
import { TRPCClientError } from "@trpc/client";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { type FormEvent, useState } from "react";
import { labelConfigFeedback } from "~/lib/label-config-feedback";
import { useTRPC } from "~/trpc/react";
import { describedBy, FieldError } from "./field-error";
import { LabelConfigEditor } from "./label-config-editor";

/** The settings the edit form shows, taken from the project as the server answers it. */
export type ProjectSettings = Pick<
  Project,
  | "expert_instruction"
  | "show_instruction"
  | "show_skip_button"
  | "enable_empty_annotation"
  | "show_annotation_history"
  | "show_collab_predictions"
  | "reveal_preannotations_interactively"
  | "evaluate_predictions_automatically"
  | "show_overlap_first"
  | "show_ground_truth_first"
  | "annotator_evaluation_enabled"
  | "is_published"
  | "is_draft"
  | "color"
  | "sampling"
  | "skip_queue"
  | "overlap_cohort_percentage"
  | "min_annotations_to_start_training"
  | "model_version"
  | "task_data_login"
  | "task_data_password"
  | "pinned_at"
>;

interface ProjectValues extends ProjectSettings {
  id: number;
  title: string;
  description: string | null;
  label_config: string;
  maximum_annotations: number;
}

type Errors = Partial<Record<string, string>>;

type Flag = {
  [K in keyof ProjectSettings]: ProjectSettings[K] extends boolean ? K : never;
}[keyof ProjectSettings];

const FLAGS: [Flag, string][] = [
  ["show_instruction", "Show the instructions before labeling"],
  ["show_skip_button", "Allow skipping tasks"],
  ["enable_empty_annotation", "Allow empty annotations"],
  ["show_annotation_history", "Show annotation history to annotators"],
  ["show_collab_predictions", "Show predictions to annotators"],
  ["reveal_preannotations_interactively", "Reveal pre-annotations interactively"],
  ["evaluate_predictions_automatically", "Retrieve predictions when a task loads"],
  ["show_overlap_first", "Show tasks with overlap first"],
  ["show_ground_truth_first", "Show ground truth tasks first"],
  ["annotator_evaluation_enabled", "Evaluate annotators against ground truth"],
  ["is_published", "Published to annotators"],
  ["is_draft", "Draft"],
];

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
  const [settings, setSettings] = useState(() => project && settingsOf(project));
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
    const changes = settings && project ? settingsInput(settings, project) : {};
    const next: Errors = {};
    const parsed = project
      ? ProjectUpdateInput.safeParse({ id: project.id, ...input, ...changes })
      : ProjectCreateInput.safeParse(input);
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
        ? await update.mutateAsync({ id: project.id, ...input, ...changes })
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
      {settings && <SettingsFields settings={settings} onChange={setSettings} errors={errors} />}
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

interface SettingsState extends Omit<ProjectSettings, "pinned_at"> {
  pinned: boolean;
}

function settingsOf(project: ProjectValues): SettingsState {
  const { pinned_at, ...rest } = project;
  return { ...pickSettings(rest), pinned: pinned_at !== null };
}

function pickSettings(
  project: Omit<ProjectSettings, "pinned_at">,
): Omit<ProjectSettings, "pinned_at"> {
  return {
    expert_instruction: project.expert_instruction,
    show_instruction: project.show_instruction,
    show_skip_button: project.show_skip_button,
    enable_empty_annotation: project.enable_empty_annotation,
    show_annotation_history: project.show_annotation_history,
    show_collab_predictions: project.show_collab_predictions,
    reveal_preannotations_interactively: project.reveal_preannotations_interactively,
    evaluate_predictions_automatically: project.evaluate_predictions_automatically,
    show_overlap_first: project.show_overlap_first,
    show_ground_truth_first: project.show_ground_truth_first,
    annotator_evaluation_enabled: project.annotator_evaluation_enabled,
    is_published: project.is_published,
    is_draft: project.is_draft,
    color: project.color,
    sampling: project.sampling,
    skip_queue: project.skip_queue,
    overlap_cohort_percentage: project.overlap_cohort_percentage,
    min_annotations_to_start_training: project.min_annotations_to_start_training,
    model_version: project.model_version,
    task_data_login: project.task_data_login,
    task_data_password: project.task_data_password,
  };
}

/** The settings to send: the form's values, with pinning as a date (kept when unchanged). */
function settingsInput(settings: SettingsState, project: ProjectValues) {
  const { pinned, ...rest } = settings;
  return {
    ...rest,
    overlap_cohort_percentage: Number(rest.overlap_cohort_percentage),
    min_annotations_to_start_training: Number(rest.min_annotations_to_start_training),
    pinned_at: pinned ? (project.pinned_at ?? new Date()) : null,
  };
}

function SettingsFields({
  settings,
  onChange,
  errors,
}: {
  settings: SettingsState;
  onChange: (next: SettingsState) => void;
  errors: Errors;
}) {
  const set = <K extends keyof SettingsState>(key: K, value: SettingsState[K]) =>
    onChange({ ...settings, [key]: value });
  const text = (
    key: "model_version" | "task_data_login" | "task_data_password",
    label: string,
    type = "text",
  ) => (
    <div className="field">
      <label htmlFor={key}>{label}</label>
      <input
        id={key}
        name={key}
        type={type}
        autoComplete="off"
        value={settings[key] ?? ""}
        onChange={(e) => set(key, e.target.value)}
        aria-invalid={errors[key] ? true : undefined}
        aria-describedby={describedBy(errors[key] && `${key}-error`)}
      />
      <FieldError id={`${key}-error`} message={errors[key]} />
    </div>
  );
  const number = (
    key: "overlap_cohort_percentage" | "min_annotations_to_start_training",
    label: string,
    max: number,
  ) => (
    <div className="field field-short">
      <label htmlFor={key}>{label}</label>
      <input
        id={key}
        name={key}
        type="number"
        inputMode="numeric"
        min={0}
        max={max}
        value={String(settings[key])}
        onChange={(e) => set(key, e.target.value === "" ? Number.NaN : Number(e.target.value))}
        aria-invalid={errors[key] ? true : undefined}
        aria-describedby={describedBy(errors[key] && `${key}-error`)}
      />
      <FieldError id={`${key}-error`} message={errors[key]} />
    </div>
  );
  return (
    <fieldset className="stack settings">
      <legend>Settings</legend>
      <div className="field">
        <label htmlFor="expert_instruction">
          Instructions for annotators <span className="optional">(HTML)</span>
        </label>
        <textarea
          id="expert_instruction"
          name="expert_instruction"
          rows={4}
          value={settings.expert_instruction ?? ""}
          onChange={(e) => set("expert_instruction", e.target.value)}
          aria-invalid={errors.expert_instruction ? true : undefined}
          aria-describedby={describedBy(
            "expert-instruction-hint",
            errors.expert_instruction && "expert_instruction-error",
          )}
        />
        <p id="expert-instruction-hint" className="hint">
          Scripts, frames, forms and event handlers are removed when saved.
        </p>
        <FieldError id="expert_instruction-error" message={errors.expert_instruction} />
      </div>
      <div className="checks">
        <label className="check">
          <input
            type="checkbox"
            name="pinned"
            checked={settings.pinned}
            onChange={(e) => set("pinned", e.target.checked)}
          />
          Pinned (listed first)
        </label>
        {FLAGS.map(([key, label]) => (
          <label key={key} className="check">
            <input
              type="checkbox"
              name={key}
              checked={settings[key]}
              onChange={(e) => set(key, e.target.checked)}
            />
            {label}
          </label>
        ))}
      </div>
      <div className="field field-short">
        <label htmlFor="color">Color</label>
        <input
          id="color"
          name="color"
          type="color"
          value={settings.color}
          onChange={(e) => set("color", e.target.value.toUpperCase())}
        />
        <FieldError id="color-error" message={errors.color} />
      </div>
      <div className="field">
        <label htmlFor="sampling">Task sampling</label>
        <select
          id="sampling"
          name="sampling"
          value={settings.sampling}
          onChange={(e) => set("sampling", e.target.value as SettingsState["sampling"])}
        >
          {PROJECT_SAMPLING.map((value) => (
            <option key={value} value={value}>
              {value}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="skip_queue">Skipped tasks</label>
        <select
          id="skip_queue"
          name="skip_queue"
          value={settings.skip_queue}
          onChange={(e) => set("skip_queue", e.target.value as SettingsState["skip_queue"])}
        >
          {SKIP_QUEUE.map((value) => (
            <option key={value} value={value}>
              {SKIP_QUEUE_LABELS[value]}
            </option>
          ))}
        </select>
      </div>
      {number("overlap_cohort_percentage", "Tasks with full overlap (%)", 100)}
      {number("min_annotations_to_start_training", "Annotations before training starts", 1_000_000)}
      {text("model_version", "Model version")}
      {text("task_data_login", "Task data login")}
      {text("task_data_password", "Task data password", "password")}
    </fieldset>
  );
}

const SKIP_QUEUE_LABELS: Record<(typeof SKIP_QUEUE)[number], string> = {
  REQUEUE_FOR_ME: "Requeue for the same annotator",
  REQUEUE_FOR_OTHERS: "Requeue for other annotators",
  IGNORE_SKIPPED: "Ignore skipped (a skip completes the task)",
};
