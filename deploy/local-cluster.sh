#!/usr/bin/env bash
# A local serving cluster on loopback: PostgreSQL (the shared model registry), N ModelServer replicas and nginx as the
# round-robin load balancer in front of them. Every part runs from its own state folder, on its own ports, with its
# own pid file: the system's PostgreSQL cluster and nginx are not touched.
#
#   deploy/local-cluster.sh up     [options]   start everything (reuses the state folder's database when present)
#   deploy/local-cluster.sh down   [--state DIR] [--purge]   stop everything (--purge also deletes the state folder)
#   deploy/local-cluster.sh status [--state DIR]             report each part; exit code 0 only when all are up
#   deploy/local-cluster.sh start-replica I [--state DIR]    (re)start replica I (1-based), e.g. after it died
#
# Options of `up`:
#   --state DIR        state folder (default $NEURALCORE_CLUSTER_STATE, else /tmp/neuralcore-local-cluster)
#   --replicas N       serving replicas (default 2, at most 16)
#   --port P           nginx port (default 8400); replicas use --base-port .. base+N-1 (default 8401),
#   --base-port P      PostgreSQL --pg-port (default 8432); all bind 127.0.0.1 only
#   --pg-port P
#   --model FILE       a model file (Module.Save) to register as --name with alias production when the registry lacks
#   --name NAME        the model (default fashion-mlp); without --model, the first replica trains the Fashion-MNIST
#                      MLP on an empty registry (--epochs, default 1) and registers it as fashion-mlp
#   --epochs E
#   --app PATH         the ModelServer executable (default: samples/ModelServer published to STATE/app)
#   --max-fails F      nginx passive health check: failures before a replica is taken out (default 1)
#   --fail-timeout S   ... and for how long, in seconds (default 3)
#   -- ARGS            further ModelServer options for every replica (e.g. --max-batch-size 32)
#
# Inference is open to anonymous callers on loopback; management routes need the key `up` creates in STATE/admin.key.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
export PATH=$PATH:/usr/sbin:/sbin   # nginx
pg_bin=/usr/lib/postgresql/15/bin
verb=${1:-}
[[ -n "$verb" ]] && shift

state=${NEURALCORE_CLUSTER_STATE:-/tmp/neuralcore-local-cluster}
replicas=2 lb_port=8400 base_port=8401 pg_port=8432 model_file= model_name=fashion-mlp epochs=1 app= max_fails=1 fail_timeout=3
purge=0 replica_index=
extra=()

die() { echo "local-cluster: $*" >&2; exit 2; }
is_port() { [[ "$1" =~ ^[1-9][0-9]{0,4}$ && "$1" -le 65535 ]]; }

if [[ "$verb" == start-replica ]]; then
  replica_index=${1:-}
  [[ "$replica_index" =~ ^[1-9][0-9]?$ ]] || die "start-replica needs a replica number (1, 2, ...), not '${replica_index}'"
  shift
fi
while (( $# > 0 )); do
  case "$1" in
    --state) state=${2:?--state needs a folder}; shift 2 ;;
    --replicas) replicas=${2:?}; shift 2 ;;
    --port) lb_port=${2:?}; shift 2 ;;
    --base-port) base_port=${2:?}; shift 2 ;;
    --pg-port) pg_port=${2:?}; shift 2 ;;
    --model) model_file=${2:?}; shift 2 ;;
    --name) model_name=${2:?}; shift 2 ;;
    --epochs) epochs=${2:?}; shift 2 ;;
    --app) app=${2:?}; shift 2 ;;
    --max-fails) max_fails=${2:?}; shift 2 ;;
    --fail-timeout) fail_timeout=${2:?}; shift 2 ;;
    --purge) purge=1; shift ;;
    --) shift; extra=("$@"); break ;;
    *) die "unknown option '$1' (see the comment at the top of $0)" ;;
  esac
done
state=$(mkdir -p "$state" && cd "$state" && pwd)
env_file=$state/cluster.env

# ------------------------------------------------------------------ helpers

# alive PIDFILE: the process exists and is not a zombie (a killed replica whose parent has not reaped it yet).
alive() {
  [[ -s "$1" ]] || return 1
  local stat
  stat=$(cat "/proc/$(cat "$1")/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ "${stat:0:1}" != Z ]]
}

# stop_pid FILE SIGNAL: signals the process in FILE, waits up to 15 s for it to exit (then SIGKILL), removes FILE.
stop_pid() {
  local file=$1 signal=$2 pid i
  [[ -s "$file" ]] || { rm -f "$file"; return 0; }
  pid=$(cat "$file")
  if alive "$file"; then
    kill "-$signal" "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do alive "$file" || break; sleep 0.1; done
    if alive "$file"; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.2; fi
  fi
  rm -f "$file"
}

http_code() { curl -s -o /dev/null -m 2 -w '%{http_code}' "$@" || true; }

# wait_ready URL SECONDS PIDFILE LOG
wait_ready() {
  local url=$1 limit=$2 pidfile=$3 log=$4 deadline=$((SECONDS + $2))
  until [[ "$(http_code "$url")" == 200 ]]; do
    if [[ -n "$pidfile" ]] && ! alive "$pidfile"; then echo "local-cluster: the process behind $url exited; its log ($log):" >&2; tail -n 20 "$log" >&2; return 1; fi
    (( SECONDS < deadline )) || { echo "local-cluster: $url not ready within $limit s; log ($log):" >&2; tail -n 20 "$log" >&2; return 1; }
    sleep 0.2
  done
}

as_postgres() {
  # initdb and postgres refuse to run as root: run them as the postgres user there.
  if (( EUID == 0 )); then runuser -u postgres -- "$@"; else "$@"; fi
}

need_packages() {
  local missing=()
  [[ -x $pg_bin/initdb ]] || missing+=(postgresql)
  command -v nginx >/dev/null || missing+=(nginx)
  command -v curl >/dev/null || missing+=(curl)
  (( ${#missing[@]} == 0 )) && return 0
  (( EUID == 0 )) || die "missing Debian packages: ${missing[*]} (install them as root)"
  apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends "${missing[@]}" >/dev/null
}

connection_string() { echo "Host=127.0.0.1;Port=$pg_port;Username=neuralcore;Password=$(cat "$state/pg/password");Database=registry"; }

start_replica() {
  local i=$1 port=$(( base_port + $1 - 1 ))
  local pidfile=$state/replica-$i.pid log=$state/replica-$i.log
  alive "$pidfile" && { echo "replica $i already running (pid $(cat "$pidfile"))"; return 0; }
  # setsid: the replica outlives this script and is not hit by signals sent to its process group.
  NEURALCORE_REGISTRY_DATABASE=$(connection_string) setsid "$app" --urls "http://127.0.0.1:$port" --registry "$state/registry" \
    --allow-anonymous-inference --epochs "$epochs" "${extra[@]}" >>"$log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  # The first start on an empty registry trains the sample model: allow for it.
  wait_ready "http://127.0.0.1:$port/v2/health/ready" 900 "$pidfile" "$log"
  echo "replica $i: http://127.0.0.1:$port (pid $(cat "$pidfile"))"
}

write_nginx_conf() {
  local conf=$state/nginx/nginx.conf i servers=""
  for ((i = 1; i <= replicas; i++)); do
    servers+="        server 127.0.0.1:$(( base_port + i - 1 )) max_fails=$max_fails fail_timeout=${fail_timeout}s;"$'\n'
  done
  mkdir -p "$state/nginx/tmp"
  cp "$repo/deploy/nginx/neuralcore-proxy.conf" "$state/nginx/"
  sed -e "s|@STATE@|$state/nginx|g" -e "s|@PORT@|$lb_port|g" "$repo/deploy/nginx/local-cluster.conf.in" \
    | awk -v servers="$servers" '{ if ($0 ~ /@SERVERS@/) printf "%s", servers; else print }' > "$conf"
}

# ------------------------------------------------------------------ verbs

up() {
  is_port "$lb_port" && is_port "$base_port" && is_port "$pg_port" || die "ports must be 1 to 65535"
  [[ "$replicas" =~ ^[1-9][0-9]?$ && "$replicas" -le 16 ]] || die "--replicas must be 1 to 16, not '$replicas'"
  [[ "$epochs" =~ ^[1-9][0-9]*$ ]] || die "--epochs must be a positive number, not '$epochs'"
  [[ "$max_fails" =~ ^[0-9]+$ && "$fail_timeout" =~ ^[1-9][0-9]*$ ]] || die "--max-fails and --fail-timeout must be whole numbers"
  local f
  for f in "$state/nginx/nginx.pid" "$state"/replica-*.pid; do
    alive "$f" && die "a cluster is already up in $state (run '$0 down --state $state' first)"
  done
  if [[ -f "$state/pg/data/postmaster.pid" ]] && as_postgres "$pg_bin/pg_ctl" -D "$state/pg/data" status >/dev/null 2>&1; then
    die "a cluster is already up in $state (run '$0 down --state $state' first)"
  fi
  need_packages
  chmod 755 "$state"
  # A failed start stops whatever it had started.
  trap 'rc=$?; if (( rc != 0 )); then echo "local-cluster: up failed; stopping what was started" >&2; down >&2; fi' EXIT

  if [[ -z "$app" ]]; then
    echo "Publishing samples/ModelServer (Release) to $state/app"
    dotnet publish "$repo/samples/ModelServer" -c Release -o "$state/app" -nologo -v quiet >/dev/null
    app=$state/app/ModelServer
  fi
  [[ -x "$app" ]] || die "--app $app is not an executable"
  app=$(cd "$(dirname "$app")" && pwd)/$(basename "$app")

  # The settings down/status/start-replica read back.
  printf 'replicas=%q\nlb_port=%q\nbase_port=%q\npg_port=%q\napp=%q\nepochs=%q\nmax_fails=%q\nfail_timeout=%q\nextra=(%s)\n' \
    "$replicas" "$lb_port" "$base_port" "$pg_port" "$app" "$epochs" "$max_fails" "$fail_timeout" "$( (( ${#extra[@]} == 0 )) || printf '%q ' "${extra[@]}")" > "$env_file"

  # PostgreSQL: its own cluster in STATE/pg/data, listening on 127.0.0.1:pg_port and a socket in STATE/pg.
  mkdir -p "$state/pg"
  if [[ ! -f "$state/pg/data/PG_VERSION" ]]; then
    (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$state/pg/password")
    (( EUID == 0 )) && chown -R postgres: "$state/pg"
    as_postgres "$pg_bin/initdb" -D "$state/pg/data" -U neuralcore --pwfile="$state/pg/password" \
      --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 >"$state/pg/initdb.log" 2>&1 \
      || { cat "$state/pg/initdb.log" >&2; exit 1; }
  fi
  as_postgres "$pg_bin/pg_ctl" -D "$state/pg/data" -l "$state/pg/postgresql.log" -w -t 60 \
    -o "-p $pg_port -k $state/pg -c listen_addresses=127.0.0.1" start >/dev/null
  PGPASSWORD=$(cat "$state/pg/password") psql -q -h 127.0.0.1 -p "$pg_port" -U neuralcore -d postgres -v ON_ERROR_STOP=1 <<'SQL'
SELECT 'CREATE DATABASE registry' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'registry')\gexec
SQL
  echo "postgresql: 127.0.0.1:$pg_port (data $state/pg/data)"

  mkdir -p "$state/registry"
  if [[ -n "$model_file" ]]; then
    local db
    db=$(connection_string)
    if ! NEURALCORE_REGISTRY_DATABASE=$db "$app" --registry "$state/registry" list | grep -q "^$model_name "; then
      NEURALCORE_REGISTRY_DATABASE=$db "$app" --registry "$state/registry" register "$model_name" "$model_file" --alias production
    fi
  fi
  if [[ ! -s "$state/admin.key" ]]; then
    (umask 077; NEURALCORE_REGISTRY_DATABASE=$(connection_string) "$app" --registry "$state/registry" \
      keys create --name "cluster-admin-$(date +%s)" --scopes manage,read,infer | tail -n 1 > "$state/admin.key")
  fi

  # The first replica alone (on an empty registry it trains and registers the sample model), then the others.
  local i starters=()
  start_replica 1
  for ((i = 2; i <= replicas; i++)); do start_replica "$i" & starters+=($!); done
  for i in "${starters[@]}"; do wait "$i"; done

  write_nginx_conf
  nginx -t -q -c "$state/nginx/nginx.conf" -p "$state/nginx/" -e "$state/nginx/error.log"
  nginx -c "$state/nginx/nginx.conf" -p "$state/nginx/" -e "$state/nginx/error.log"
  wait_ready "http://127.0.0.1:$lb_port/v2/health/ready" 30 "" "$state/nginx/error.log"
  echo "nginx: http://127.0.0.1:$lb_port -> $replicas replica(s) (config $state/nginx/nginx.conf)"
  trap - EXIT
  echo "Cluster up. Management key: $state/admin.key. Stop it with: $0 down --state $state"
}

load_env() {
  [[ -f "$env_file" ]] || die "no cluster state in $state (run '$0 up' first)"
  # shellcheck disable=SC1090
  source "$env_file"
}

down() {
  if [[ -f "$env_file" ]]; then
    load_env
    [[ -s "$state/nginx/nginx.pid" ]] && stop_pid "$state/nginx/nginx.pid" QUIT
    local f
    for f in "$state"/replica-*.pid; do [[ -e "$f" ]] && stop_pid "$f" TERM; done
    if [[ -f "$state/pg/data/postmaster.pid" ]]; then
      as_postgres "$pg_bin/pg_ctl" -D "$state/pg/data" -m fast -w -t 60 stop >/dev/null || true
    fi
    echo "Cluster in $state stopped."
  else
    echo "No cluster state in $state."
  fi
  if (( purge == 1 )); then rm -rf "$state"; echo "Removed $state."; fi
}

status() {
  load_env
  local ok=0 i port pid
  if [[ -f "$state/pg/data/postmaster.pid" ]] && as_postgres "$pg_bin/pg_ctl" -D "$state/pg/data" status >/dev/null 2>&1; then
    echo "postgresql  127.0.0.1:$pg_port  running (pid $(head -n 1 "$state/pg/data/postmaster.pid"))"
  else
    echo "postgresql  127.0.0.1:$pg_port  stopped"; ok=3
  fi
  for ((i = 1; i <= replicas; i++)); do
    port=$(( base_port + i - 1 ))
    if alive "$state/replica-$i.pid"; then
      pid=$(cat "$state/replica-$i.pid")
      if [[ "$(http_code "http://127.0.0.1:$port/v2/health/ready")" == 200 ]]; then echo "replica $i   127.0.0.1:$port  ready (pid $pid)"
      else echo "replica $i   127.0.0.1:$port  running but not ready (pid $pid)"; ok=3; fi
    else
      echo "replica $i   127.0.0.1:$port  stopped"; ok=3
    fi
  done
  if alive "$state/nginx/nginx.pid"; then
    echo "nginx       127.0.0.1:$lb_port  running (pid $(cat "$state/nginx/nginx.pid")), /v2/health/ready: $(http_code "http://127.0.0.1:$lb_port/v2/health/ready")"
  else
    echo "nginx       127.0.0.1:$lb_port  stopped"; ok=3
  fi
  return $ok
}

case "$verb" in
  up) up ;;
  down) down ;;
  status) status ;;
  start-replica)
    load_env
    (( replica_index <= replicas )) || die "the cluster has $replicas replica(s), not $replica_index"
    start_replica "$replica_index" ;;
  *) die "usage: $0 up|down|status|start-replica I [options] (see the comment at the top of the script)" ;;
esac
