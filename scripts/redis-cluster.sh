#!/usr/bin/env bash
# A local Redis Cluster for development and tests: 3 masters and 3 replicas (one each), on loopback only, as
# this project's own processes (Debian's redis-server in cluster mode), beside the single Redis of services.sh.
#
#   scripts/redis-cluster.sh start    start the six nodes and create the cluster when it does not exist; idempotent
#   scripts/redis-cluster.sh stop     stop every node this folder's cluster runs (its data stays for the next start)
#   scripts/redis-cluster.sh status   each node's role and slots, and the cluster's state
#   scripts/redis-cluster.sh env      print REDIS_CLUSTER_NODES for paysvc
#
# Environment:
#   REDIS_CLUSTER_DIR              data folder (default $PAYSVC_DATA_DIR/redis-cluster, i.e. .data/redis-cluster)
#   REDIS_CLUSTER_PORT             first port (default 7101): nodes listen on it and the next five; each node's
#                                  cluster bus listens 10000 above its port
#   REDIS_CLUSTER_NODE_TIMEOUT_MS  how long a master may be unreachable before its replica takes over (default 2000)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${REDIS_CLUSTER_DIR:-${PAYSVC_DATA_DIR:-$ROOT/.data}/redis-cluster}"
BASE="${REDIS_CLUSTER_PORT:-7101}"
NODE_TIMEOUT="${REDIS_CLUSTER_NODE_TIMEOUT_MS:-2000}"
PORTS=()
for i in 0 1 2 3 4 5; do PORTS+=($((BASE + i))); done

say() { printf '[redis-cluster] %s\n' "$*" >&2; }
die() { printf '[redis-cluster] error: %s\n' "$*" >&2; exit 1; }

cli() { local port="$1"; shift; redis-cli -h 127.0.0.1 -p "$port" "$@"; }
node_up() { cli "$1" ping 2>/dev/null | grep -q PONG; }
# Whether the Redis on this port is this folder's node (another checkout's or test's must be left alone).
node_ours() { [ -d "$DIR/$1" ] && [ "$(cli "$1" config get dir 2>/dev/null | sed -n 2p)" = "$(cd "$DIR/$1" && pwd -P)" ]; }
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
info_field() { cli "$1" cluster info 2>/dev/null | tr -d '\r' | sed -n "s/^$2://p"; }
nodes_list() { local IFS=,; printf '%s' "${PORTS[*]/#/127.0.0.1:}"; }

start_node() {
  local port="$1" dir="$DIR/$1"
  if node_up "$port"; then
    node_ours "$port" || die "port $port is taken by another Redis: stop it, or choose other ports with REDIS_CLUSTER_PORT=…"
    return 0
  fi
  port_taken "$port" && die "port $port is taken by another process: choose other ports with REDIS_CLUSTER_PORT=…"
  port_taken $((port + 10000)) && die "port $((port + 10000)) (the cluster bus of $port) is taken: choose other ports with REDIS_CLUSTER_PORT=…"
  mkdir -p "$dir"
  # noeviction: BullMQ must never lose keys to eviction. replica-validity-factor 0: a replica always takes over
  # from a dead master, however long since it last heard from it (a dev cluster prefers availability).
  redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --maxmemory-policy noeviction \
    --save "" --appendonly yes \
    --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout "$NODE_TIMEOUT" \
    --cluster-announce-ip 127.0.0.1 --cluster-replica-validity-factor 0 >/dev/null
}

wait_for() {
  local what="$1" tries="$2"; shift 2
  for _ in $(seq 1 "$tries"); do "$@" && return 0; sleep 0.1; done
  die "$what"
}

all_up() { for p in "${PORTS[@]}"; do node_up "$p" || return 1; done; }
cluster_ok() {
  for p in "${PORTS[@]}"; do
    [ "$(info_field "$p" cluster_state)" = ok ] && [ "$(info_field "$p" cluster_known_nodes)" = 6 ] || return 1
  done
}

start_all() {
  command -v redis-server >/dev/null 2>&1 || die "redis-server is missing: run 'sudo apt-get install -y redis-server'"
  mkdir -p "$DIR"
  for p in "${PORTS[@]}"; do start_node "$p"; done
  wait_for "a node did not start: see $DIR/<port>/redis.log" 100 all_up
  if [ "$(info_field "$BASE" cluster_slots_assigned)" = 0 ]; then
    say "creating the cluster on ports ${PORTS[0]}-${PORTS[5]} (3 masters, 3 replicas)"
    # shellcheck disable=SC2046
    redis-cli --cluster create $(nodes_list | tr , ' ') --cluster-replicas 1 --cluster-yes >"$DIR/create.log" 2>&1 ||
      die "redis-cli --cluster create failed: see $DIR/create.log"
  else
    say "cluster on ports ${PORTS[0]}-${PORTS[5]} already exists"
  fi
  # A restarted cluster needs a few node timeouts to agree again; a new one, a moment to spread its config.
  wait_for "the cluster did not reach cluster_state:ok (stop it, remove $DIR, start again)" 300 cluster_ok
}

stop_all() {
  for p in "${PORTS[@]}"; do
    if node_up "$p" && node_ours "$p"; then
      cli "$p" shutdown nosave >/dev/null 2>&1 || true
    elif [ -f "$DIR/$p/redis.pid" ]; then
      # A node that stopped answering (stopped with SIGSTOP, say) but still runs from this folder.
      local pid; pid="$(cat "$DIR/$p/redis.pid")"
      if tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q "redis-server 127.0.0.1:$p"; then kill -9 "$pid" 2>/dev/null || true; fi
    fi
    rm -f "$DIR/$p/redis.pid"
  done
  say "stopped the nodes on ports ${PORTS[0]}-${PORTS[5]}"
}

status() {
  for p in "${PORTS[@]}"; do
    if node_up "$p"; then
      local role; role="$(cli "$p" role 2>/dev/null | head -1)"
      echo "127.0.0.1:$p up $role $(cli "$p" cluster nodes 2>/dev/null | awk '/myself/ { s = ""; for (i = 9; i <= NF; i++) s = s " " $i; print "slots" (s == "" ? " -" : s) }')"
    else
      echo "127.0.0.1:$p down"
    fi
  done
  for p in "${PORTS[@]}"; do
    if node_up "$p"; then echo "cluster_state: $(info_field "$p" cluster_state)"; return 0; fi
  done
  echo "cluster_state: down"
}

case "${1:-}" in
  start) start_all; echo "REDIS_CLUSTER_NODES=$(nodes_list)" ;;
  stop) stop_all ;;
  status) status ;;
  env) echo "REDIS_CLUSTER_NODES=$(nodes_list)" ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
