"""Label Studio's Python SDK against a running Taskport: projects, tasks, the current user,
imports, file uploads, import records, annotations and predictions.

Runs with either SDK generation (1.0.8, which validates every response with pydantic, or 2.x),
see ../shared/tools/ls-sdk/README.md:

    py 108 packages/api/scripts/ls-sdk-flow.py http://127.0.0.1:PORT TOKEN
    py head packages/api/scripts/ls-sdk-flow.py http://127.0.0.1:PORT TOKEN

Each step prints one line; a step whose response does not fit the SDK's model fails loudly.
"""
import sys

url, token = sys.argv[1], sys.argv[2]

try:  # 2.x
    from label_studio_sdk import LabelStudio
except ImportError:  # 1.0.8
    from label_studio_sdk.client import LabelStudio

import importlib.util

# Only the 2.x generation has a whoami model of its own.
GENERATION = "2.x" if importlib.util.find_spec("label_studio_sdk.types.who_am_i_user") else "1.0.8"
print(f"SDK generation {GENERATION}")

CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices>
</View>"""
ls = LabelStudio(base_url=url, api_key=token)


def step(name, value):
    print(f"{name}: {value}")


project = ls.projects.create(
    title="SDK flow",
    label_config=CONFIG,
    expert_instruction="<b>Be kind</b><script>alert(1)</script>",
    color="#FF4C25",
    maximum_annotations=1,
)
step("projects.create", f"id={project.id} title={project.title!r} color={project.color}")
pid = project.id

projects = list(ls.projects.list())
mine = [p for p in projects if p.id == pid][0]
step(
    "projects.list",
    f"{len(projects)} project(s); created_by={mine.created_by.email} "
    f"parsed controls={sorted(mine.parsed_label_config)}",
)

got = ls.projects.get(id=pid)
step(
    "projects.get",
    f"instruction={got.expert_instruction!r} config_has_control_tags={got.config_has_control_tags} "
    f"bulk={got.config_suitable_for_bulk_annotation} queue_total={got.queue_total}",
)

updated = ls.projects.update(id=pid, title="SDK flow, renamed", show_instruction=True)
step("projects.update", f"title={updated.title!r} show_instruction={updated.show_instruction}")

if hasattr(ls.projects, "validate_config"):
    checked = ls.projects.validate_config(id=pid, label_config=CONFIG)
else:
    checked = ls.projects.validate_label_config(id=pid, label_config=CONFIG)
step("projects.validate", f"label_config valid ({len(checked.label_config)} characters)")

for text in ("great", "awful"):
    ls.tasks.create(project=pid, data={"text": text})
tasks = list(ls.tasks.list(project=pid))
step("tasks.list", f"{len(tasks)} task(s), inner_ids={[t.inner_id for t in tasks]}")

only = list(ls.tasks.list(project=pid, fields="task_only", include="id,data"))
step("tasks.list include=id,data", f"{[dict(id=t.id, data=t.data) for t in only]}")

me = ls.users.whoami()
step("users.whoami", f"id={me.id} email={me.email} username={me.username}")

key = ls.users.get_token()
step("users.get_token", "the key presented" if getattr(key, "token", None) == token else key)

if hasattr(ls, "versions"):
    version = ls.versions.get()
    step("versions.get", f"release={version.release} edition={version.edition}")


# Imports and uploads: a JSON body through the SDK, files through its legacy client (the one
# that posts files), the uploads list and record.
import os
import tempfile

media = ls.projects.create(title="SDK uploads", label_config='<View><Image name="img" value="$image"/></View>')
mid = media.id
imported = ls.projects.import_tasks(
    id=mid, request=[{"image": "https://example.com/a.png"}], return_task_ids=True
)
step(
    "projects.import_tasks (JSON)",
    f"task_count={imported.task_count} found_formats={imported.found_formats} "
    f"data_columns={imported.data_columns} file_upload_ids={imported.file_upload_ids}",
)

from label_studio_sdk._legacy.client import Client

legacy = Client(url=url, api_key=token).get_project(mid)
folder = tempfile.mkdtemp()
png = os.path.join(folder, "cat.png")
with open(png, "wb") as f:
    f.write(bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"))
task_ids = legacy.import_tasks(png)
step("legacy Project.import_tasks (a .png file)", f"task_ids={task_ids}")
task = ls.tasks.get(id=task_ids[0])
step("tasks.get", f"data={task.data} file_upload={task.file_upload}")

uploads = ls.files.list(id=mid, all_=True)
step("files.list all", f"{[(u.id, u.file, u.size) for u in uploads]}")
one = ls.files.get(id=uploads[0].id)
step("files.get", f"id={one.id} file={one.file}")
ls.files.download(filename=one.file.split("/", 1)[1])
step("files.download", "200")

if GENERATION == "2.x":
    import httpx as _httpx

    raw = _httpx.post(
        f"{url}/api/projects/{mid}/import",
        headers={"Authorization": f"Token {token}"},
        files={"file": ("rows.csv", b"image\nhttps://example.com/b.png\n")},
    ).json()
    from label_studio_sdk.types.file_upload import FileUpload as FileUploadModel

    listed = _httpx.get(
        f"{url}/api/projects/{mid}/file-uploads?all=true",
        headers={"Authorization": f"Token {token}"},
    ).json()
    for item in listed:
        FileUploadModel.model_validate(item)
    step("validated the file uploads list", f"{len(listed)} FileUpload(s)")
    status = ls.tasks.create_many_status(id=mid, import_pk=raw["import"])
    step(
        "tasks.create_many_status",
        f"status={status.status} task_count={status.task_count} found_formats={status.found_formats} "
        f"file_upload_ids={status.file_upload_ids}",
    )

ls.files.delete(id=uploads[0].id)
ls.files.delete_many(id=mid)
step("files.delete, files.delete_many", f"left={len(ls.files.list(id=mid, all_=True))}")


# SDK 2.x builds its models without validating them; validate the raw answers against its
# Label Studio (community) models too.
if GENERATION == "2.x":
    import httpx
    from label_studio_sdk.types.project import Project
    from label_studio_sdk.types.version_response import VersionResponse
    from label_studio_sdk.types.who_am_i_user import WhoAmIUser

    http = httpx.Client(base_url=url, headers={"Authorization": f"Token {token}"})
    from label_studio_sdk.projects.types.import_tasks_projects_response import (
        ImportTasksProjectsResponse,
    )
    from label_studio_sdk.types.project_import import ProjectImport

    checks = [
        (Project, f"/api/projects/{pid}/"),
        (ProjectImport, f"/api/projects/{mid}/imports/{raw['import']}/"),
        (WhoAmIUser, "/api/current-user/whoami"),
        (VersionResponse, "/api/version"),
    ]
    for model, path in checks:
        answer = http.get(path)
        answer.raise_for_status()
        model.model_validate(answer.json())
        step(f"validated {path}", model.__name__)
    ImportTasksProjectsResponse.model_validate(raw)
    step("validated the import answer", "ImportTasksProjectsResponse")
    for item in http.get("/api/projects/").json()["results"]:
        Project.model_validate(item)
    step("validated /api/projects/", "every result is a Project")

# Annotations and predictions: create, list, get, update, delete, and the task detail with them.
choices = '<View><Text name="text" value="$text"/><Choices name="s" toName="text"><Choice value="pos"/></Choices></View>'
region = [{"id": "r1", "from_name": "s", "to_name": "text", "type": "choices", "value": {"choices": ["pos"]}}]
labeled = ls.projects.create(title="SDK annotations", label_config=choices)
target = ls.tasks.create(data={"text": "hi"}, project=labeled.id)
made = ls.annotations.create(id=target.id, result=region, lead_time=1.5)
step("annotations.create", f"id {made.id}, completed_by {made.completed_by}")
step("annotations.list", [a.id for a in ls.annotations.list(id=target.id)])
step("annotations.get", ls.annotations.get(id=made.id).result == region)
step("annotations.update", f"ground_truth {ls.annotations.update(id=made.id, ground_truth=True).ground_truth}")
guess = ls.predictions.create(task=target.id, result=region, score=0.5, model_version="m1")
step("predictions.create", f"id {guess.id}, score {guess.score}")
step("predictions.list", [p.id for p in ls.predictions.list(task=target.id)])
step("predictions.get", ls.predictions.get(id=guess.id).model_version)
step("predictions.update", ls.predictions.update(id=guess.id, model_version="m2").model_version)
detail = ls.tasks.get(id=str(target.id))
step("tasks.get", f"{len(detail.annotations)} annotation(s), {len(detail.predictions)} prediction(s), is_labeled {detail.is_labeled}")
ls.predictions.delete(id=guess.id)
ls.annotations.delete(id=made.id)
detail = ls.tasks.get(id=str(target.id))
step("deleted both", f"total_annotations {detail.total_annotations}, total_predictions {detail.total_predictions}")
ls.projects.delete(id=labeled.id)

print("flow complete")
