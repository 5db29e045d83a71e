#!/bin/sh
# One-shot set-up of MinIO for sohoa (docker-compose.yml, service `minio-init`), run with MinIO's
# root credentials, which only this container and MinIO itself ever see:
#   1. the bucket, with object lock (possible only at creation) and versioning;
#   2. the policy `sohoa-app` (deploy/minio-app-policy.json): that bucket's objects and nothing else
#      (no bucket creation or deletion, no policy or user administration, no governance bypass);
#   3. the app's own user with that policy alone. The app never gets the root credentials.
# Safe to run again: an existing bucket is kept, the policy and the user's secret are updated.
set -eu
BUCKET=sohoa-records

if [ "$MINIO_APP_ACCESS_KEY" = "$MINIO_ROOT_USER" ]; then
  echo "minio-init: MINIO_APP_ACCESS_KEY must differ from MINIO_ROOT_USER (the app gets its own user)" >&2
  exit 1
fi
if [ "${#MINIO_APP_SECRET_KEY}" -lt 16 ] || [ "${#MINIO_ROOT_PASSWORD}" -lt 16 ]; then
  echo "minio-init: MINIO_ROOT_PASSWORD and MINIO_APP_SECRET_KEY need at least 16 characters" >&2
  exit 1
fi

mc alias set s http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null
mc ls "s/$BUCKET" >/dev/null 2>&1 || mc mb --with-lock "s/$BUCKET"
mc version enable "s/$BUCKET"
mc admin policy create s sohoa-app /deploy/minio-app-policy.json
mc admin user add s "$MINIO_APP_ACCESS_KEY" "$MINIO_APP_SECRET_KEY"
# `attach` refuses a policy that is already attached: that is the state we want.
mc admin policy attach s sohoa-app --user "$MINIO_APP_ACCESS_KEY" \
  || mc admin user info s "$MINIO_APP_ACCESS_KEY" | grep -q sohoa-app
echo "minio-init: bucket $BUCKET and user $MINIO_APP_ACCESS_KEY (policy sohoa-app) ready"
