#!/usr/bin/env bash
# Runs ls-sdk-storage.py with both Label Studio SDK generations against a Taskport started here
# (API only, on a fresh PGlite folder, or on DATABASE_URL when set), with an s3rver bucket and a
# local folder of JSON tasks. Usage: ls-sdk-storage.sh PATH/TO/ls-sdk/py
set -euo pipefail
PY=${1:?usage: ls-sdk-storage.sh PATH/TO/ls-sdk/py}
cd "$(dirname "$0")/../../.."
WORK=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -- -"$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT

setsid node --openssl-legacy-provider packages/api/scripts/s3-server.mjs "$WORK/s3" > "$WORK/s3.out" &
PIDS+=($!)
for _ in $(seq 1 100); do [ -s "$WORK/s3.out" ] && break; sleep 0.1; done
ENDPOINT=$(sed -n 's/.*"endpoint":"\([^"]*\)".*/\1/p' "$WORK/s3.out")

# Three JSON task objects in a bucket, two JSON task files in a local folder.
(cd packages/api && ENDPOINT=$ENDPOINT node --input-type=module -e '
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
const s3 = new S3Client({ endpoint: process.env.ENDPOINT, region: "us-east-1", forcePathStyle: true,
  credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
await s3.send(new CreateBucketCommand({ Bucket: "sdk-tasks" }));
for (const n of [1, 2, 3])
  await s3.send(new PutObjectCommand({ Bucket: "sdk-tasks", Key: `task-${n}.json`,
    Body: JSON.stringify({ text: `object ${n}` }), ContentType: "application/json" }));
')
mkdir -p "$WORK/files/tasks"
for n in 1 2; do printf '{"text": "file %s"}' "$n" > "$WORK/files/tasks/file-$n.json"; done

PORT=$((20000 + RANDOM % 20000))
TOKEN=sdk_storage_token_0123456789
PGLITE_DIR="$WORK/pglite" PORT=$PORT TASKPORT_API_ONLY=1 TASKPORT_LOCAL_FILES_ROOT="$WORK/files" \
  TASKPORT_OUTBOUND_ALLOW_NETWORKS=127.0.0.0/8 \
  TASKPORT_ADMIN_EMAIL=sdk@example.com TASKPORT_ADMIN_PASSWORD=sdk-password-123 \
  TASKPORT_ADMIN_TOKEN=$TOKEN setsid pnpm --filter @taskport/web start > "$WORK/server.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done

for generation in 108 head; do
  "$PY" "$generation" packages/api/scripts/ls-sdk-storage.py "http://127.0.0.1:$PORT" "$TOKEN" \
    "$ENDPOINT" sdk-tasks "$WORK/files/tasks"
done
