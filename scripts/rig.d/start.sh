# shellcheck shell=bash
# One start_<component> function per rig component. Each writes its config under .rig/ and
# launches the process; scripts/rig waits for its port afterwards.

# Runs postgres as an unprivileged user when we are root (postgres refuses to run as root).
pg_as() {
  if [[ $(id -u) == 0 ]]; then
    echo setpriv --reuid=postgres --regid=postgres --init-groups
  fi
}

# The data folder: .rig/pg, unless the postgres user cannot reach .rig (a workspace under a
# private home folder); then a folder under /tmp named after the workspace.
pg_data_dir() {
  if [[ $(id -u) != 0 ]] || setpriv --reuid=postgres --regid=postgres --init-groups test -x "$RIG_DIR"; then
    echo "$RIG_DIR/pg"
  else
    echo "/tmp/baton-rig-pg-$(printf '%s' "$RIG_DIR" | sha256sum | cut -c1-12)"
  fi
}

start_postgres() {
  local bin data pw
  bin=$(pg_bin) || die "no PostgreSQL server found under /usr/lib/postgresql"
  if [[ $(id -u) == 0 ]] && ! id postgres >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --shell /usr/sbin/nologin postgres
  fi
  data=$(pg_data_dir)
  if [[ ! -s $data/PG_VERSION ]]; then
    rm -rf "$data"
    mkdir -p "$data"
    chmod 700 "$data"
    pw=$(mktemp)
    secret pg >"$pw"
    if [[ $(id -u) == 0 ]]; then
      chown postgres: "$data" "$pw"
    fi
    # shellcheck disable=SC2046
    $(pg_as) "$bin/initdb" -D "$data" -U baton --pwfile="$pw" --auth=scram-sha-256 -E UTF8 \
      --no-locale --no-sync >>"$LOG/postgres.log" 2>&1 ||
      { rm -f "$pw"; die "initdb failed; see $LOG/postgres.log"; }
    rm -f "$pw"
    cat >>"$data/postgresql.conf" <<EOF
# scripts/rig: a disposable test database
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 64MB
EOF
  fi
  # shellcheck disable=SC2046
  launch postgres $(pg_as) "$bin/postgres" -D "$data" -p "$RIG_POSTGRES_PORT"
}

# registry_start NAME PORT AUTH_YAML: docker-registry (distribution 2.8) with storage in .rig/NAME.
registry_start() {
  local name=$1 port=$2 auth=$3 dir=$RIG_DIR/$1
  mkdir -p "$dir/data"
  cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: baton-rig-$name
$auth
EOF
  launch "$name" docker-registry serve "$dir/config.yml"
}

start_registry() {
  registry_start registry "$RIG_REGISTRY_PORT" ""
}

start_registry_basic() {
  local dir=$RIG_DIR/registry-basic
  mkdir -p "$dir"
  htpasswd -iBc "$dir/htpasswd" baton <"$RIG_DIR/secrets/registry-basic" 2>/dev/null
  registry_start registry-basic "$RIG_REGISTRY_BASIC_PORT" "auth:
  htpasswd:
    realm: baton-rig
    path: $dir/htpasswd"
}

# RS256 key and self-signed certificate of the token server; the registry trusts the certificate.
token_keys() {
  local dir=$RIG_DIR/token
  mkdir -p "$dir"
  [[ -s $dir/cert.pem ]] && return 0
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -subj /CN=baton-rig-token \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" >>"$LOG/token-server.log" 2>&1 ||
    die "openssl could not make the token key; see $LOG/token-server.log"
}

start_token_server() {
  token_keys
  launch token-server python3 "$LIB/rig-token-server.py" \
    --port "$RIG_TOKEN_SERVER_PORT" --key "$RIG_DIR/token/key.pem" --cert "$RIG_DIR/token/cert.pem" \
    --user baton --password-file "$RIG_DIR/secrets/registry-token" \
    --issuer baton-rig-token-server --service baton-rig-registry
}

start_registry_token() {
  token_keys
  registry_start registry-token "$RIG_REGISTRY_TOKEN_PORT" "auth:
  token:
    realm: http://127.0.0.1:$RIG_TOKEN_SERVER_PORT/token
    service: baton-rig-registry
    issuer: baton-rig-token-server
    rootcertbundle: $RIG_DIR/token/cert.pem"
}

start_fcgiwrap() {
  local fcgi
  fcgi=$(command -v fcgiwrap || echo /usr/sbin/fcgiwrap)
  rm -f "$(fcgi_socket)"
  launch fcgiwrap "$fcgi" -c 8 -p "$(git_exec_path)/git-http-backend" -s "unix:$(fcgi_socket)"
}

# nginx: the classic Helm repo as static files (ETag, Last-Modified, 304) under /charts/, and
# git smart HTTP under /git/ through fcgiwrap + git http-backend (TCP_NODELAY is on by default).
start_nginx() {
  local dir=$RIG_DIR/nginx nginx user=
  nginx=$(command -v nginx || echo /usr/sbin/nginx)
  mkdir -p "$dir/tmp" "$RIG_DIR/charts" "$RIG_DIR/git"
  [[ $(id -u) == 0 ]] && user="user root;"
  cat >"$dir/nginx.conf" <<EOF
daemon off;
worker_processes 2;
$user
pid $dir/nginx.pid;
error_log $LOG/nginx.log warn;
events { worker_connections 512; }
http {
  access_log off;
  default_type application/octet-stream;
  types { text/yaml yaml; application/gzip tgz; }
  tcp_nodelay on;
  client_max_body_size 0;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  server {
    listen 127.0.0.1:$RIG_HTTP_PORT;
    location /charts/ {
      alias $RIG_DIR/charts/;
    }
    location ~ ^/git(/.*)\$ {
      fastcgi_pass unix:$(fcgi_socket);
      fastcgi_buffering off;
      fastcgi_param SCRIPT_FILENAME $(git_exec_path)/git-http-backend;
      fastcgi_param GIT_PROJECT_ROOT $RIG_DIR/git;
      fastcgi_param GIT_HTTP_EXPORT_ALL 1;
      # Serve partial clones as GitHub and GitLab do (--filter=blob:none, lazy blob fetches).
      fastcgi_param GIT_CONFIG_COUNT 2;
      fastcgi_param GIT_CONFIG_KEY_0 uploadpack.allowFilter;
      fastcgi_param GIT_CONFIG_VALUE_0 true;
      fastcgi_param GIT_CONFIG_KEY_1 uploadpack.allowAnySHA1InWant;
      fastcgi_param GIT_CONFIG_VALUE_1 true;
      # http-backend enables receive-pack (push) for requests with a REMOTE_USER.
      fastcgi_param REMOTE_USER rig;
      fastcgi_param PATH_INFO \$1;
      fastcgi_param QUERY_STRING \$query_string;
      fastcgi_param REQUEST_METHOD \$request_method;
      fastcgi_param CONTENT_TYPE \$content_type;
      fastcgi_param CONTENT_LENGTH \$content_length;
      fastcgi_param HTTP_CONTENT_ENCODING \$http_content_encoding;
      fastcgi_param GIT_PROTOCOL \$http_git_protocol;
      fastcgi_param REMOTE_ADDR \$remote_addr;
      fastcgi_param SERVER_PROTOCOL \$server_protocol;
    }
  }
}
EOF
  launch nginx "$nginx" -e "$LOG/nginx.log" -p "$dir" -c "$dir/nginx.conf"
}

start_git_daemon() {
  mkdir -p "$RIG_DIR/git"
  # Partial clones over git:// too (see the http-backend note above).
  GIT_CONFIG_COUNT=2 GIT_CONFIG_KEY_0=uploadpack.allowFilter GIT_CONFIG_VALUE_0=true \
    GIT_CONFIG_KEY_1=uploadpack.allowAnySHA1InWant GIT_CONFIG_VALUE_1=true \
    launch git-daemon "$(git_exec_path)/git-daemon" --reuseaddr --listen=127.0.0.1 \
    --port="$RIG_GIT_DAEMON_PORT" --base-path="$RIG_DIR/git" --export-all \
    --enable=receive-pack --informative-errors
}
