"""Label Studio's Python SDK against a running Taskport: projects, tasks and the current user.

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


# SDK 2.x builds its models without validating them; validate the raw answers against its
# Label Studio (community) models too.
if GENERATION == "2.x":
    import httpx
    from label_studio_sdk.types.project import Project
    from label_studio_sdk.types.version_response import VersionResponse
    from label_studio_sdk.types.who_am_i_user import WhoAmIUser

    http = httpx.Client(base_url=url, headers={"Authorization": f"Token {token}"})
    checks = [
        (Project, f"/api/projects/{pid}/"),
        (WhoAmIUser, "/api/current-user/whoami"),
        (VersionResponse, "/api/version"),
    ]
    for model, path in checks:
        answer = http.get(path)
        answer.raise_for_status()
        model.model_validate(answer.json())
        step(f"validated {path}", model.__name__)
    for item in http.get("/api/projects/").json()["results"]:
        Project.model_validate(item)
    step("validated /api/projects/", "every result is a Project")

print("flow complete")
