# shellcheck shell=bash
# Process bookkeeping for scripts/rig: pid files, port checks, readiness, secrets, the env file.

# The word that must appear in /proc/PID/cmdline for a recorded PID to still be ours.
proc_pattern() {
  case $1 in
    postgres) echo postgres ;;
    registry*) echo docker-registry ;;
    token-server) echo rig-token-server ;;
    fcgiwrap) echo fcgiwrap ;;
    nginx) echo nginx ;;
    git-daemon) echo git-daemon ;;
  esac
}

port_var() {
  local c
  for c in "${COMPONENTS[@]}"; do
    [[ ${c%% *} == "$1" ]] && { echo "${c##* }"; return; }
  done
}

# alive NAME: the recorded PID runs and is still the program we started.
alive() {
  local pidfile=$RUN/$1.pid pid
  [[ -f $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$(proc_pattern "$1")"
}

# running NAME: the process launched for NAME has not exited. Unlike `alive`, it does not look
# at the command line: just after `launch`, the child may still be the forked shell or setsid,
# not yet the program (on a loaded machine, long enough for `alive` to call it dead).
running() {
  local pidfile=$RUN/$1.pid pid state
  [[ -f $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/stat ]] || return 1
  state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [[ -n $state && $state != Z ]]
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# While any component runs, its ports are the ones recorded at `up`, whatever the environment says.
load_recorded_ports() {
  [[ -f $RUN/ports ]] || return 0
  local c any=
  for c in "${COMPONENTS[@]}"; do
    alive "${c%% *}" && any=1
  done
  if [[ -n $any ]]; then
    # shellcheck source=/dev/null
    source "$RUN/ports"
  fi
}

check_ports() {
  local c name var bad='' seen=' '
  for c in "${COMPONENTS[@]}"; do
    name=${c%% *}
    var=${c##* }
    [[ $var == - ]] && continue
    [[ ${!var} =~ ^[0-9]+$ ]] || die "$var='${!var}' is not a port number"
    [[ $seen == *" ${!var} "* ]] && die "port ${!var} is given to two components; change $var"
    seen+="${!var} "
    alive "$name" && continue
    if port_open "${!var}"; then
      echo "rig: port ${!var} ($name) is taken by a process the rig did not start;" \
        "set $var (or RIG_PORT_BASE) to a free port" >&2
      bad=1
    fi
  done
  [[ -z $bad ]] || exit 1
  local out=
  for c in "${COMPONENTS[@]}"; do
    var=${c##* }
    [[ $var == - ]] && continue
    out+="$var=${!var}"$'\n'
  done
  printf '%s' "$out" >"$RUN/ports"
}

# launch NAME CMD...: start CMD in its own session (so `down` can stop its whole process group),
# output to .rig/log/NAME.log, PID to .rig/run/NAME.pid.
launch() {
  local name=$1
  shift
  setsid "$@" >>"$LOG/$name.log" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN/$name.pid"
}

# fcgiwrap listens on a unix socket (a TCP port would sit in TIME_WAIT after `down`, and
# fcgiwrap does not set SO_REUSEADDR); kept short enough for sun_path.
fcgi_socket() {
  local s=$RUN/fcgiwrap.sock
  ((${#s} < 100)) || s=/tmp/baton-rig-$(printf '%s' "$RIG_DIR" | sha256sum | cut -c1-12).sock
  echo "$s"
}

# ready NAME: its port accepts connections (fcgiwrap: its socket exists).
ready() {
  local var
  var=$(port_var "$1")
  if [[ $var == - ]]; then
    [[ -S $(fcgi_socket) ]]
  else
    port_open "${!var}"
  fi
}

wait_ready() {
  local name=$1 var port deadline
  var=$(port_var "$name")
  deadline=$((SECONDS + 60))
  until ready "$name"; do
    if ! running "$name"; then
      tail -n 20 "$LOG/$name.log" >&2 || true
      die "$name exited during start; its log is $LOG/$name.log"
    fi
    ((SECONDS < deadline)) || die "$name did not start listening within 60 s; see $LOG/$name.log"
    sleep 0.05
  done
  if [[ $name == postgres ]]; then
    port=${!var}
    until PGPASSWORD=$(secret pg) psql -h 127.0.0.1 -p "$port" -U baton -d postgres -qtAc 'select 1' \
      >/dev/null 2>&1; do
      ((SECONDS < deadline)) || die "postgres does not answer queries; see $LOG/$name.log"
      sleep 0.1
    done
  fi
}

# stop_component NAME: TERM (postgres: INT, fast shutdown) to the recorded process group, then
# KILL after 15 s. Nothing is signalled unless the recorded PID is still the program we started.
stop_component() {
  local name=$1 pid sig=TERM i
  if alive "$name"; then
    pid=$(<"$RUN/$name.pid")
    if [[ $name == postgres ]]; then
      kill -INT "$pid" 2>/dev/null || true
    else
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    fi
    for ((i = 0; i < 300; i++)); do
      alive "$name" || break
      sleep 0.05
    done
    if alive "$name"; then
      sig=KILL
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
      echo "rig: $name (pid $pid) ignored SIGTERM for 15 s; sent SIG$sig" >&2
    fi
  fi
  rm -f "$RUN/$name.pid"
}

secret() {
  cat "$RIG_DIR/secrets/$1"
}

make_secrets() {
  local s
  mkdir -p "$RIG_DIR/secrets"
  chmod 700 "$RIG_DIR/secrets"
  for s in pg registry-basic registry-token; do
    [[ -s $RIG_DIR/secrets/$s ]] || openssl rand -hex 16 >"$RIG_DIR/secrets/$s"
  done
}

write_env() {
  local tmp=$ENV_FILE.tmp
  cat >"$tmp" <<EOF
# Written by scripts/rig up; removed by scripts/rig down. KEY=VALUE, no quoting.
RIG_REGISTRY=127.0.0.1:$RIG_REGISTRY_PORT
RIG_REGISTRY_BASIC=127.0.0.1:$RIG_REGISTRY_BASIC_PORT
RIG_REGISTRY_BASIC_USER=baton
RIG_REGISTRY_BASIC_PASSWORD=$(secret registry-basic)
RIG_REGISTRY_TOKEN=127.0.0.1:$RIG_REGISTRY_TOKEN_PORT
RIG_REGISTRY_TOKEN_USER=baton
RIG_REGISTRY_TOKEN_PASSWORD=$(secret registry-token)
RIG_TOKEN_SERVER=127.0.0.1:$RIG_TOKEN_SERVER_PORT
RIG_TOKEN_REALM=http://127.0.0.1:$RIG_TOKEN_SERVER_PORT/token
RIG_HELM_V4=$BIN/helm-v4
RIG_HELM_V3=$BIN/helm-v3
RIG_SKOPEO=$(command -v skopeo)
RIG_PSQL=$(command -v psql)
RIG_HELM_REPO_URL=http://127.0.0.1:$RIG_HTTP_PORT/charts
RIG_HELM_REPO_DIR=$RIG_DIR/charts
RIG_HELM_OCI=oci://127.0.0.1:$RIG_REGISTRY_PORT/charts
RIG_CHART_NAME=$CHART_NAME
RIG_CHART_VERSION=$CHART_VERSION
RIG_GIT_HTTP_BASE=http://127.0.0.1:$RIG_HTTP_PORT/git
RIG_GIT_DAEMON_BASE=git://127.0.0.1:$RIG_GIT_DAEMON_PORT
RIG_GIT_ROOT=$RIG_DIR/git
RIG_GIT_BRANCH=$GIT_BRANCH
RIG_CHART_SOURCE_REPO=chart-source.git
RIG_CHART_SOURCE_DIR=$CHART_NAME
RIG_ARTIFACT_SOURCE_REPO=artifact-source.git
RIG_POSTGRES_URL=postgres://baton:$(secret pg)@127.0.0.1:$RIG_POSTGRES_PORT/baton
RIG_BASE_IMAGE=127.0.0.1:$RIG_REGISTRY_PORT/vendor/base:1.0
EOF
  mv "$tmp" "$ENV_FILE"
}
