# shellcheck shell=bash
# `scripts/image test`, sourced by scripts/image (uses its bh, exists, die, IMAGE, VERSION, ROOT).
#
# Checks what a platform team relies on, on the built image itself:
#   1. config: a numeric non-root user, entrypoint baton, cmd serve, the OCI labels
#   2. the root filesystem: no world-writable path except sticky directories (/tmp, /var/tmp),
#      unpacked size below MAX_SIZE_MB
#   3. the binary inside, chrooted into the image's filesystem as the image's user (with /proc and a
#      minimal /dev, in a private mount namespace, as a container runtime would give it):
#      `baton --version`, `git --version`, `baton check --offline` on crates/baton/examples/local.yaml
#      (and that it fails when a secret file is missing), `baton serve` answering /readyz,
#      checking the chart source (the rig's git over HTTP) with git, exiting 0 on SIGTERM
#   4. `scripts/image push` to the rig's registry: the pushed digest and labels are the built ones

ok() { echo "image test: ok: $*"; }
fail() { die "test failed: $*"; }

test_config() {
  local config user
  config=$(bh inspect --type image "$IMAGE" | jq '.OCIv1.config')
  user=$(jq -r '.User // ""' <<<"$config")
  [[ $user =~ ^[0-9]+(:[0-9]+)?$ ]] || fail "User is '$user', want numeric uid:gid (Kubernetes runAsNonRoot needs a number)"
  [[ ${user%%:*} != 0 ]] || fail "User is root ($user)"
  [[ $(jq -c '.Entrypoint' <<<"$config") == '["/usr/local/bin/baton"]' ]] ||
    fail "Entrypoint is $(jq -c '.Entrypoint' <<<"$config")"
  [[ $(jq -c '.Cmd' <<<"$config") == '["serve"]' ]] || fail "Cmd is $(jq -c '.Cmd' <<<"$config")"
  for l in title description version revision created source licenses; do
    [[ -n $(jq -r --arg l "org.opencontainers.image.$l" '.Labels[$l] // ""' <<<"$config") ]] ||
      fail "label org.opencontainers.image.$l missing"
  done
  [[ $(jq -r '.Labels["org.opencontainers.image.version"]' <<<"$config") == "$VERSION" ]] ||
    fail "version label is not $VERSION"
  IMAGE_USER=$user
  ok "config: user $user, entrypoint baton, cmd serve, OCI labels"
}

test_filesystem() {
  local mnt=$1 writable size
  writable=$(find "$mnt" -xdev -perm -o+w ! -type l ! \( -type d -perm -1000 \) -printf '/%P\n')
  [[ -z $writable ]] || fail "world-writable paths: $writable"
  size=$(du -sxm "$mnt" | cut -f1)
  ((size <= MAX_SIZE_MB)) || fail "root filesystem is $size MB, limit $MAX_SIZE_MB MB (BATON_IMAGE_MAX_MB)"
  ok "filesystem: no world-writable path but sticky dirs ($(find "$mnt" -xdev -type d -perm -1002 -printf '/%P ')), $size MB"
}

# Runs a command inside the image's filesystem as the image's user, in a private mount namespace
# with /proc and /dev/{null,zero,random,urandom}. `exec` all the way from the inner bash, so with
# PIDFILE set that file gets the command's own pid (to signal it).
in_image() {
  local mnt=$1
  shift
  # shellcheck disable=SC2016 # the inner script expands its own arguments
  unshare --mount --propagation private -- bash -c '
    set -e
    mnt=$1 user=$2
    shift 2
    if [ -n "${PIDFILE:-}" ]; then echo $$ >"$PIDFILE"; fi
    mount -t proc proc "$mnt/proc"
    mount -t tmpfs -o mode=0755,nosuid tmpfs "$mnt/dev"
    for d in "null 3" "zero 5" "random 8" "urandom 9"; do
      read -r n m <<<"$d"; mknod -m 0666 "$mnt/dev/$n" c 1 "$m"
    done
    exec chroot --userspec="$user" "$mnt" /usr/bin/env -i \
      PATH=/usr/local/bin:/usr/bin:/bin HOME=/var/lib/baton "$@"
  ' in_image "$mnt" "$IMAGE_USER" "$@"
}

test_binary() {
  local mnt=$1 out port pid job status dir=/tmp/image-test base=${RIG_PORT_BASE:-15000}
  out=$(in_image "$mnt" baton --version) || fail "baton --version: $out"
  [[ $out == "baton $VERSION" ]] || fail "baton --version printed '$out', want 'baton $VERSION'"
  out=$(in_image "$mnt" git --version) || fail "git --version: $out"
  ok "runs as $IMAGE_USER: $(in_image "$mnt" baton --version), $out"

  # The example config, with its state and secrets in a folder the image's user owns, and its
  # rig ports moved to this rig's (RIG_PORT_BASE): serve then polls the rig's git over HTTP and
  # its registry from inside the image.
  port=$((base + 90))
  mkdir -p "$mnt$dir/local-secrets"
  sed -e "s|^state:.*|state: sqlite://$dir/baton.db|" -e "s|^listen:.*|listen: 127.0.0.1:$port|" \
    -e "s|127.0.0.1:15000|127.0.0.1:$base|g" -e "s|127.0.0.1:15010|127.0.0.1:$((base + 10))|g" \
    "$ROOT/crates/baton/examples/local.yaml" >"$mnt$dir/baton.yaml"
  echo image-test-token >"$mnt$dir/local-secrets/api-tokens"
  echo baton-token >"$mnt$dir/local-secrets/jenkins-token"
  chown -R "$IMAGE_USER" "$mnt$dir"
  chmod -R go-rwx "$mnt$dir"

  mv "$mnt$dir/local-secrets/jenkins-token" "$mnt$dir/jenkins-token.away"
  if out=$(in_image "$mnt" baton --config "$dir/baton.yaml" check --offline 2>&1); then
    fail "baton check --offline passed without the Jenkins token file:\n$out"
  fi
  grep -q jenkins-token <<<"$out" || fail "check --offline did not name the missing file:\n$out"
  mv "$mnt$dir/jenkins-token.away" "$mnt$dir/local-secrets/jenkins-token"
  out=$(in_image "$mnt" baton --config "$dir/baton.yaml" check --offline 2>&1) ||
    fail "baton check --offline on examples/local.yaml:\n$out"
  ok "baton check --offline passes on examples/local.yaml and names a missing secret file"

  PIDFILE=$STORAGE/serve.pid in_image "$mnt" baton --config "$dir/baton.yaml" serve \
    --cache-dir "$dir/cache" >"$STORAGE/serve.log" 2>&1 &
  job=$!
  for _ in $(seq 1 50); do [[ -s $STORAGE/serve.pid ]] && break; sleep 0.1; done
  pid=$(cat "$STORAGE/serve.pid")
  for _ in $(seq 1 300); do
    curl -fsS --max-time 2 "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$STORAGE/serve.log" >&2; fail "baton serve exited before /readyz answered"; }
    sleep 0.1
  done
  out=$(curl -fsS --max-time 2 "http://127.0.0.1:$port/readyz") ||
    { kill "$pid"; cat "$STORAGE/serve.log" >&2; fail "baton serve did not answer /readyz within 30 s"; }
  # git inside the image, as its user: the chart source (the rig's git over HTTP) was checked.
  local checked=""
  for _ in $(seq 1 300); do
    checked=$(curl -fsS --max-time 2 "http://127.0.0.1:$port/metrics" |
      grep -E '^baton_source_checks_total\{source="chart-source:micro-gw",outcome="(baseline|changed|unchanged)"\}' || true)
    [[ -n $checked ]] && break
    sleep 0.1
  done
  kill -TERM "$pid"
  status=0
  wait "$job" || status=$?
  [[ -n $checked ]] || { cat "$STORAGE/serve.log" >&2; fail "no successful git check of the chart source within 30 s"; }
  ((status == 0)) || { cat "$STORAGE/serve.log" >&2; fail "baton serve exited $status on SIGTERM"; }
  ok "baton serve answered /readyz ($out), checked the chart source with git (${checked%% *}), exited 0 on SIGTERM"
}

# The rig (its git server for serve, its registry for push): started when not running, and then
# stopped again at exit.
rig_up() {
  if ! "$ROOT/scripts/rig" status >/dev/null 2>&1; then
    "$ROOT/scripts/rig" up >/dev/null
    RIG_STARTED=1
  fi
}

test_push() {
  local registry digest remote
  registry=$("$ROOT/scripts/rig" env | sed -n 's/^RIG_REGISTRY=//p')
  [[ -n $registry ]] || fail "scripts/rig env names no RIG_REGISTRY"
  BATON_IMAGE_TLS_VERIFY=false cmd_push "$registry/baton:$VERSION" >/dev/null
  digest=$(cat "$STORAGE/pushed.digest")
  remote=$(skopeo inspect --tls-verify=false "docker://$registry/baton:$VERSION")
  [[ $(jq -r .Digest <<<"$remote") == "$digest" ]] || fail "registry holds $(jq -r .Digest <<<"$remote"), pushed $digest"
  [[ $(jq -r '.Labels["org.opencontainers.image.version"]' <<<"$remote") == "$VERSION" ]] ||
    fail "pushed image lacks the version label"
  ok "pushed to $registry/baton:$VERSION ($digest)"
}

cmd_test() {
  local ctr mnt
  exists "$IMAGE" || die "$IMAGE is not built: run scripts/image build first"
  need curl:curl skopeo:skopeo
  test_config
  RIG_STARTED=""
  ctr=$(bh from --quiet "$IMAGE")
  # shellcheck disable=SC2064 # expand now: the trap must remove this container
  trap "bh rm $ctr >/dev/null; [[ -z \$RIG_STARTED ]] || '$ROOT/scripts/rig' down >/dev/null" EXIT
  rig_up
  mnt=$(bh mount "$ctr")
  test_filesystem "$mnt"
  test_binary "$mnt"
  test_push
  echo "image test: $IMAGE passed"
}
