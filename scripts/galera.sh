#!/usr/bin/env bash
# A local 3-node MariaDB Galera cluster (synchronous multi-primary) as this project's own processes, on loopback
# only, for trying paysvc on Galera and for test/cluster/galera.test.ts. Not a production setup: three mariadbd on
# one machine, small buffers, rsync state transfer.
#
#   scripts/galera.sh start    initialise and start the missing nodes (node 1 bootstraps a new cluster when no node
#                              runs), wait until all three are Synced; idempotent. Prints one DATABASE_URL per node.
#   scripts/galera.sh stop     stop every node this data directory runs
#   scripts/galera.sh status   each node's wsrep state and the cluster size
#   scripts/galera.sh env      the DATABASE_URL of each node
#   scripts/galera.sh kill N   SIGKILL node N (a crash, for failover tests)
#
# Environment: PAYSVC_GALERA_DIR (data, default .data/galera), PAYSVC_GALERA_PORT (client port of node 1, default
# 3341; nodes 2 and 3 take the next two), PAYSVC_GALERA_GCOMM_PORT (group port of node 1, default 4571; IST listens
# 10 above it, SST 20 above).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${PAYSVC_GALERA_DIR:-$ROOT/.data/galera}"
PORT="${PAYSVC_GALERA_PORT:-3341}"
GCOMM="${PAYSVC_GALERA_GCOMM_PORT:-4571}"
PROVIDER="${PAYSVC_GALERA_PROVIDER:-/usr/lib/galera/libgalera_smm.so}"
DB_USER=paysvc
DB_PASS=paysvc
ADMIN_USER="$(id -un)"
NODES=(1 2 3)

say() { printf '[galera] %s\n' "$*" >&2; }
die() { printf '[galera] error: %s\n' "$*" >&2; exit 1; }

client_port() { echo $((PORT + $1 - 1)); }
gcomm_port() { echo $((GCOMM + $1 - 1)); }
ist_port() { echo $((GCOMM + 10 + $1 - 1)); }
sst_port() { echo $((GCOMM + 20 + $1 - 1)); }
dir_of() { echo "$DATA/node$1"; }
sock_of() { echo "$(dir_of "$1")/mysqld.sock"; }
pid_of() { cat "$(dir_of "$1")/mysqld.pid" 2>/dev/null || true; }

admin() { local n=$1; shift; mariadb --protocol=socket --socket="$(sock_of "$n")" -u"$ADMIN_USER" "$@"; }
node_up() { mariadb-admin --protocol=socket --socket="$(sock_of "$1")" -u"$ADMIN_USER" ping >/dev/null 2>&1; }
wsrep_var() { admin "$1" -N -B -e "SHOW GLOBAL STATUS LIKE '$2'" 2>/dev/null | cut -f2; }
synced() { [ "$(wsrep_var "$1" wsrep_local_state_comment)" = Synced ] && [ "$(wsrep_var "$1" wsrep_ready)" = ON ]; }
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

cluster_address() {
  local addrs=() n
  for n in "${NODES[@]}"; do addrs+=("127.0.0.1:$(gcomm_port "$n")"); done
  local IFS=,
  echo "gcomm://${addrs[*]}"
}

ensure_installed() {
  command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || die "mariadb-server is missing: sudo apt-get install -y mariadb-server"
  [ -e "$PROVIDER" ] || die "the Galera provider $PROVIDER is missing: sudo apt-get install -y galera-4"
  command -v rsync >/dev/null 2>&1 || die "rsync (the state transfer) is missing: sudo apt-get install -y rsync"
}

sst_method() { if command -v mariabackup >/dev/null 2>&1; then echo mariabackup; else echo rsync; fi; }

start_node() {
  local n=$1 bootstrap=$2 dir owner=()
  dir="$(dir_of "$n")"
  # As root, the nodes run as the mysql user (the state transfer's rsync daemon, started as root, drops to
  # 'nobody' and could not read a root-only data directory); otherwise as whoever runs this.
  if [ "$(id -u)" -eq 0 ]; then owner=(--user=mysql); fi
  if node_up "$n"; then say "node $n already up on 127.0.0.1:$(client_port "$n")"; return 0; fi
  local p
  for p in "$(client_port "$n")" "$(gcomm_port "$n")" "$(ist_port "$n")" "$(sst_port "$n")"; do
    port_taken "$p" && die "port $p (node $n) is taken by another process: stop it, or move with PAYSVC_GALERA_PORT / PAYSVC_GALERA_GCOMM_PORT"
  done
  mkdir -p "$dir"
  # The mysql user must reach its node's directory (a mktemp -d parent is root's alone).
  if [ "$(id -u)" -eq 0 ]; then chmod go+x "$DATA" && chown mysql: "$dir"; fi
  # The node that bootstraps gets fresh system tables; a joiner starts empty and receives everything from its
  # donor in the state transfer (rsync runs before InnoDB starts), which saves two installs.
  if $bootstrap && [ ! -d "$dir/db/mysql" ]; then
    mariadb-install-db "${owner[@]}" --datadir="$dir/db" --auth-root-authentication-method=socket \
      --auth-root-socket-user="$ADMIN_USER" --skip-test-db >"$dir/install.log" 2>&1 || die "mariadb-install-db failed: see $dir/install.log"
  fi
  mkdir -p "$dir/db"
  if [ "$(id -u)" -eq 0 ]; then chown -R mysql: "$dir"; fi
  local extra=()
  if $bootstrap; then
    extra+=(--wsrep-new-cluster)
    # A cluster that was stopped whole: the node that bootstraps must be allowed to (it stopped last or cleanly).
    [ -f "$dir/db/grastate.dat" ] && sed -i 's/^safe_to_bootstrap: 0/safe_to_bootstrap: 1/' "$dir/db/grastate.dat"
  fi
  say "starting node $n on 127.0.0.1:$(client_port "$n") (group port $(gcomm_port "$n"))$($bootstrap && echo ', new cluster')"
  # PATH: the state-transfer scripts run mariadbd's helpers (wsrep_sst_rsync, my_print_defaults) from /usr/bin.
  PATH="/usr/sbin:/usr/bin:$PATH" "$(command -v mariadbd || echo /usr/sbin/mariadbd)" --no-defaults "${owner[@]}" \
    --datadir="$dir/db" --socket="$(sock_of "$n")" --pid-file="$dir/mysqld.pid" --log-error="$dir/error.log" \
    --bind-address=127.0.0.1 --port="$(client_port "$n")" --skip-name-resolve --max-connections=300 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_bin --default-time-zone=+00:00 \
    --innodb-buffer-pool-size=64M --innodb-log-file-size=16M --innodb-flush-log-at-trx-commit=2 \
    --binlog-format=ROW --default-storage-engine=InnoDB --innodb-autoinc-lock-mode=2 \
    --wsrep-on=ON --wsrep-provider="$PROVIDER" --wsrep-cluster-name=paysvc-galera \
    --wsrep-cluster-address="$(cluster_address)" --wsrep-node-name="node$n" \
    --wsrep-node-address="127.0.0.1:$(gcomm_port "$n")" \
    --wsrep-provider-options="gmcast.listen_addr=tcp://127.0.0.1:$(gcomm_port "$n");ist.recv_addr=127.0.0.1:$(ist_port "$n");gcache.size=64M;evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S;evs.install_timeout=PT6S" \
    --wsrep-sst-method="$(sst_method)" --wsrep-sst-receive-address="127.0.0.1:$(sst_port "$n")" \
    --wsrep-slave-threads=2 "${extra[@]}" >/dev/null 2>&1 &
}

wait_synced() {
  local n=$1 dir i
  dir="$(dir_of "$n")"
  for i in $(seq 1 300); do
    node_up "$n" && synced "$n" && return 0
    # A joiner's mariadbd may exit when its state transfer fails; say so instead of waiting out the loop.
    if [ "$i" -gt 10 ] && [ -n "$(pid_of "$n")" ] && ! kill -0 "$(pid_of "$n")" 2>/dev/null; then break; fi
    sleep 0.2
  done
  die "node $n did not reach Synced: see $dir/error.log"
}

create_users() {
  # Users are replicated (the GRANT statements are), so one node is enough; IF NOT EXISTS keeps it idempotent.
  admin 1 <<SQL
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'localhost';
CREATE DATABASE IF NOT EXISTS paysvc CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
SQL
}

any_up() { local n; for n in "${NODES[@]}"; do node_up "$n" && return 0; done; return 1; }

start_all() {
  ensure_installed
  local n first=true waits=()
  if any_up; then first=false; fi
  for n in "${NODES[@]}"; do
    if $first; then
      start_node "$n" true && wait_synced "$n"
      first=false
    else
      # Joiners start together: their state transfers queue at the donor, their start-ups overlap.
      node_up "$n" || { start_node "$n" false; waits+=("$n"); }
    fi
  done
  for n in "${waits[@]}"; do wait_synced "$n"; done
  local size=0 i
  for i in $(seq 1 100); do
    size="$(wsrep_var 1 wsrep_cluster_size || true)"
    [ "$size" = 3 ] && synced 1 && synced 2 && synced 3 && break
    sleep 0.2
  done
  [ "$size" = 3 ] || die "the cluster has $size node(s), not 3: see $DATA/node*/error.log"
  create_users
  say "cluster of 3 synced"
  print_env
}

stop_node() {
  local n=$1 pid
  pid="$(pid_of "$n")"
  if node_up "$n"; then
    say "stopping node $n"
    mariadb-admin --protocol=socket --socket="$(sock_of "$n")" -u"$ADMIN_USER" shutdown >/dev/null 2>&1 || true
  fi
  # A node still joining answers no ping: stop its process by the pid it wrote.
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  return 0
}

stop_all() {
  # Nodes 2 and 3 together, node 1 last: it then stops with safe_to_bootstrap set, and the next start bootstraps
  # from it.
  stop_node 3 &
  stop_node 2 &
  wait
  stop_node 1
}

kill_node() {
  local n=$1 pid
  pid="$(pid_of "$n")"
  [ -n "$pid" ] || die "node $n has no pid file"
  say "killing node $n (pid $pid)"
  kill -9 "$pid" 2>/dev/null || true
}

print_env() {
  local n
  for n in "${NODES[@]}"; do echo "DATABASE_URL_$n=mysql://$DB_USER:$DB_PASS@127.0.0.1:$(client_port "$n")/paysvc"; done
}

status() {
  local n
  for n in "${NODES[@]}"; do
    if node_up "$n"; then
      echo "node $n: up 127.0.0.1:$(client_port "$n") $(wsrep_var "$n" wsrep_local_state_comment), cluster size $(wsrep_var "$n" wsrep_cluster_size)"
    else
      echo "node $n: down"
    fi
  done
}

case "${1:-}" in
  start) start_all ;;
  stop) stop_all ;;
  status) status ;;
  env) print_env ;;
  kill) [ -n "${2:-}" ] || die "usage: $0 kill 1|2|3"; kill_node "$2" ;;
  *) echo "usage: $0 start|stop|status|env|kill N" >&2; exit 2 ;;
esac
