# shellcheck shell=bash
# First-`up` content: the base image, the chart (classic repo + OCI) and the two git repos.
# Each step leaves a marker in .rig/seeded/ so a second `up` does nothing.

helm4() {
  HELM_CONFIG_HOME=$RIG_DIR/helm-home/config HELM_CACHE_HOME=$RIG_DIR/helm-home/cache \
    HELM_DATA_HOME=$RIG_DIR/helm-home/data "$BIN/helm-v4" "$@"
}

sha256_of() {
  sha256sum "$1" | cut -d' ' -f1
}

# push_seed_image REF SEED [USER:PASSWORD]: a one-layer linux/amd64 OCI image whose only file,
# /seed, holds SEED; built byte-for-byte reproducibly, so the digest depends on SEED alone.
push_seed_image() {
  local ref=$1 seed=$2 creds=${3:-} tmp layer config manifest
  tmp=$(mktemp -d "$RIG_DIR/image.XXXXXX")
  mkdir -p "$tmp/root" "$tmp/oci/blobs/sha256"
  printf '%s\n' "$seed" >"$tmp/root/seed"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --mode=0644 \
    -cf "$tmp/layer.tar" -C "$tmp/root" seed
  gzip -n -9 -c "$tmp/layer.tar" >"$tmp/layer.tar.gz"
  layer=$(sha256_of "$tmp/layer.tar.gz")
  cp "$tmp/layer.tar.gz" "$tmp/oci/blobs/sha256/$layer"
  printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/seed"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$(sha256_of "$tmp/layer.tar")" >"$tmp/config.json"
  config=$(sha256_of "$tmp/config.json")
  cp "$tmp/config.json" "$tmp/oci/blobs/sha256/$config"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%d}]}' \
    "$config" "$(stat -c %s "$tmp/config.json")" "$layer" "$(stat -c %s "$tmp/layer.tar.gz")" \
    >"$tmp/manifest.json"
  manifest=$(sha256_of "$tmp/manifest.json")
  cp "$tmp/manifest.json" "$tmp/oci/blobs/sha256/$manifest"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$tmp/oci/oci-layout"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":"seed"}}]}' \
    "$manifest" "$(stat -c %s "$tmp/manifest.json")" >"$tmp/oci/index.json"
  local args=(--insecure-policy copy --quiet --dest-tls-verify=false)
  [[ -n $creds ]] && args+=(--dest-creds "$creds")
  if ! skopeo "${args[@]}" "oci:$tmp/oci:seed" "docker://$ref" >"$tmp/skopeo.log" 2>&1; then
    cat "$tmp/skopeo.log" >&2
    rm -rf "$tmp"
    die "skopeo could not push $ref"
  fi
  rm -rf "$tmp"
  echo "sha256:$manifest"
}

seed_chart() {
  local src=$RIG_DIR/chart-src/$CHART_NAME tgz
  tgz=$RIG_DIR/charts/$CHART_NAME-$CHART_VERSION.tgz
  if [[ ! -f $RIG_DIR/seeded/chart ]]; then
    rm -rf "$src"
    mkdir -p "$src/templates" "$RIG_DIR/charts"
    cat >"$src/Chart.yaml" <<EOF
apiVersion: v2
name: $CHART_NAME
description: Chart seeded by baton's test rig
type: application
version: $CHART_VERSION
appVersion: "$CHART_VERSION"
EOF
    cat >"$src/values.yaml" <<'EOF'
replicaCount: 1
image:
  repository: registry.internal:5000/acme/petstore
  tag: latest
EOF
    cat >"$src/templates/configmap.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-settings
data:
  image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
  replicas: "{{ .Values.replicaCount }}"
EOF
    helm4 package "$src" -d "$RIG_DIR/charts" >>"$LOG/seed.log" 2>&1 ||
      die "helm package failed; see $LOG/seed.log"
    helm4 repo index "$RIG_DIR/charts" >>"$LOG/seed.log" 2>&1 ||
      die "helm repo index failed; see $LOG/seed.log"
    touch "$RIG_DIR/seeded/chart"
  fi
  if [[ ! -f $RIG_DIR/seeded/chart-oci ]]; then
    helm4 push "$tgz" "oci://127.0.0.1:$RIG_REGISTRY_PORT/charts" --plain-http >>"$LOG/seed.log" 2>&1 ||
      die "helm push to the registry failed; see $LOG/seed.log"
    touch "$RIG_DIR/seeded/chart-oci"
  fi
}

# seed_git_repo NAME FILE CONTENT [FILE CONTENT...]: a bare repo in .rig/git with one commit on
# $GIT_BRANCH holding those files.
seed_git_repo() {
  local name=$1 bare=$RIG_DIR/git/$1 work
  shift
  rm -rf "$bare"
  git init -q --bare --initial-branch="$GIT_BRANCH" "$bare"
  work=$(mktemp -d "$RIG_DIR/seed-git.XXXXXX")
  git init -q --initial-branch="$GIT_BRANCH" "$work"
  while (($#)); do
    mkdir -p "$(dirname "$work/$1")"
    printf '%s' "$2" >"$work/$1"
    shift 2
  done
  git -C "$work" add -A
  git -C "$work" -c user.name="baton rig" -c user.email=rig@baton.invalid -c commit.gpgsign=false \
    commit -q -m "Seed $name"
  git -C "$work" push -q "$bare" "HEAD:refs/heads/$GIT_BRANCH"
  rm -rf "$work"
}

# The Dockerfile names the base image with the registry's port: seed again when the port moved.
seed_git() {
  [[ $(cat "$RIG_DIR/seeded/git" 2>/dev/null) == "$RIG_REGISTRY_PORT" ]] && return 0
  local env d=$CHART_NAME values=()
  for env in dev staging prod; do
    values+=("$d/values-$env.yaml" "environment: $env
replicaCount: 1
image:
  tag: \"1.0.0\"
")
  done
  seed_git_repo chart-source.git README.md "Values for the $CHART_NAME chart, one file per environment.
" "${values[@]}"
  seed_git_repo artifact-source.git Dockerfile "FROM 127.0.0.1:$RIG_REGISTRY_PORT/vendor/base:1.0
COPY app /app
" app "petstore
"
  echo "$RIG_REGISTRY_PORT" >"$RIG_DIR/seeded/git"
}

seed_database() {
  [[ -f $RIG_DIR/seeded/database ]] && return 0
  PGPASSWORD=$(secret pg) psql -h 127.0.0.1 -p "$RIG_POSTGRES_PORT" -U baton -d postgres -qtA \
    -v ON_ERROR_STOP=1 -c 'CREATE DATABASE baton' >>"$LOG/seed.log" 2>&1 ||
    die "could not create the database baton; see $LOG/seed.log"
  touch "$RIG_DIR/seeded/database"
}

seed_all() {
  mkdir -p "$RIG_DIR/seeded"
  seed_database
  if [[ ! -f $RIG_DIR/seeded/base-image ]]; then
    push_seed_image "127.0.0.1:$RIG_REGISTRY_PORT/vendor/base:1.0" base-1.0 >/dev/null
    touch "$RIG_DIR/seeded/base-image"
  fi
  seed_chart
  seed_git
}
