"""Label Studio's Python SDK against a running Taskport: S3 and local-folder import storages.

Runs with either SDK generation (see ls-sdk-flow.py), given an S3-API endpoint whose bucket
holds JSON task objects and a folder under the server's TASKPORT_LOCAL_FILES_ROOT holding
JSON task files (packages/api/scripts/ls-sdk-storage.sh prepares both and runs this):

    py 108 packages/api/scripts/ls-sdk-storage.py URL TOKEN S3_ENDPOINT BUCKET LOCAL_PATH
    py head packages/api/scripts/ls-sdk-storage.py URL TOKEN S3_ENDPOINT BUCKET LOCAL_PATH

Each step prints one line; a response that does not fit the SDK's model, or a sync that
duplicates a task, fails loudly.
"""
import importlib.util
import sys
import time

url, token, endpoint, bucket, local_path = sys.argv[1:6]

try:  # 2.x
    from label_studio_sdk import LabelStudio
except ImportError:  # 1.0.8
    from label_studio_sdk.client import LabelStudio

GENERATION = "2.x" if importlib.util.find_spec("label_studio_sdk.types.who_am_i_user") else "1.0.8"
print(f"SDK generation {GENERATION}")
ls = LabelStudio(base_url=url, api_key=token)


def step(name, value):
    print(f"{name}: {value}")


def wait_synced(resource, storage_id):
    """Polls the storage until its sync job ends, as Label Studio's own UI does."""
    for _ in range(600):
        storage = resource.get(id=storage_id)
        if storage.status in ("completed", "failed"):
            return storage
        time.sleep(0.1)
    raise SystemExit(f"sync of storage {storage_id} did not end")


def task_count(pid):
    return len(list(ls.tasks.list(project=pid)))


project = ls.projects.create(
    title="SDK storages", label_config='<View><Text name="text" value="$text"/></View>'
)
pid = project.id
step("projects.create", f"id={pid}")

s3 = ls.import_storage.s3
s3.validate(
    project=pid,
    bucket=bucket,
    s3endpoint=endpoint,
    aws_access_key_id="S3RVER",
    aws_secret_access_key="S3RVER",
    region_name="us-east-1",
)
step("import_storage.s3.validate", "ok")
created = s3.create(
    project=pid,
    title="tasks bucket",
    bucket=bucket,
    s3endpoint=endpoint,
    aws_access_key_id="S3RVER",
    aws_secret_access_key="S3RVER",
    region_name="us-east-1",
    use_blob_urls=False,
)
step(
    "import_storage.s3.create",
    f"id={created.id} bucket={created.bucket} secret returned={bool(getattr(created, 'aws_secret_access_key', None))}",
)
listed = s3.list(project=pid)
step("import_storage.s3.list", f"{len(listed)} storage(s)")
s3.sync(id=created.id)
done = wait_synced(s3, created.id)
first = task_count(pid)
step("import_storage.s3.sync", f"status={done.status} last_sync_count={done.last_sync_count} tasks={first}")
s3.sync(id=created.id)
again = wait_synced(s3, created.id)
second = task_count(pid)
step("import_storage.s3.sync again", f"status={again.status} tasks={second}")
if first == 0 or second != first:
    raise SystemExit(f"S3 sync made {first} then {second} tasks")
patched = s3.update(id=created.id, title="renamed bucket")
step("import_storage.s3.update", f"title={patched.title!r}")

local = ls.import_storage.local
local.validate(project=pid, path=local_path, use_blob_urls=False)
step("import_storage.local.validate", "ok")
folder = local.create(project=pid, title="tasks folder", path=local_path, use_blob_urls=False)
step("import_storage.local.create", f"id={folder.id} path={folder.path}")
local.sync(id=folder.id)
done = wait_synced(local, folder.id)
third = task_count(pid)
step("import_storage.local.sync", f"status={done.status} tasks={third}")
local.sync(id=folder.id)
wait_synced(local, folder.id)
fourth = task_count(pid)
step("import_storage.local.sync again", f"tasks={fourth}")
if third <= second or fourth != third:
    raise SystemExit(f"local sync made {third} then {fourth} tasks (from {second})")

local.delete(id=folder.id)
s3.delete(id=created.id)
step("import_storage delete", f"left={len(s3.list(project=pid)) + len(local.list(project=pid))}")
