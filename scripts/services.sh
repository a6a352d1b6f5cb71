#!/usr/bin/env bash
# Local MariaDB and Redis for development and tests, without Docker.
# Data lives under .data/ (git-ignored); both listen on loopback only.
# When the Debian packages are missing and cannot be installed (not root) but a Docker engine answers, the
# same two servers run from docker-compose.yml instead (MySQL 8.4 and Redis 7, published on the same loopback
# ports by docker-compose.dev.yml).
#
#   scripts/services.sh start    install (when root and missing), initialise and start both; idempotent
#   scripts/services.sh stop     stop both
#   scripts/services.sh status   say what runs where
#   scripts/services.sh env      print the environment the service and tests use
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${PAYSVC_DATA_DIR:-$ROOT/.data}"
MYSQL_PORT="${PAYSVC_MYSQL_PORT:-3307}"
REDIS_PORT="${PAYSVC_REDIS_PORT:-6380}"
DB_USER=paysvc
DB_PASS=paysvc
MYSQL_SOCK="$DATA/mariadb/mysqld.sock"
# Admin connections use unix_socket auth: mariadb-install-db gives the OS user who runs this script an account
# of the same name (root for root), so this works for non-root developers too.
ADMIN_USER="$(id -un)"

say() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] error: %s\n' "$*" >&2; exit 1; }

ensure_installed() {
  local missing=() clients=()
  command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  # Not a service: the strict reflection client the tests run (test/strict-client) needs Google's protobuf
  # runtime on Debian's Python.
  /usr/bin/python3 -c 'import grpc, google.protobuf' >/dev/null 2>&1 || clients+=(python3-grpcio python3-protobuf)
  # Nor these: the console's browser tests (test/console) drive Debian's chromium; test/cluster starts a Galera
  # cluster of its own (galera-4, with rsync for its state transfers).
  command -v chromium >/dev/null 2>&1 || clients+=(chromium)
  [ -e /usr/lib/galera/libgalera_smm.so ] || clients+=(galera-4)
  command -v rsync >/dev/null 2>&1 || clients+=(rsync)
  [ ${#missing[@]} -eq 0 ] && [ ${#clients[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    [ ${#clients[@]} -gt 0 ] && say "warning: some tests (reflection, console, Galera) need 'sudo apt-get install -y ${clients[*]}'"
    [ ${#missing[@]} -eq 0 ] && return 0
    if docker_available; then USE_DOCKER=true; return 0; fi
    die "missing ${missing[*]}: run 'sudo apt-get install -y ${missing[*]}' (or install Docker and run this again)"
  fi
  missing+=("${clients[@]}")
  say "installing ${missing[*]} from Debian packages (one time)…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # Debian's postinst tries to start the system services; we run our own instances instead. The policy is
  # removed again afterwards, so later apt runs on this machine start their services as usual.
  local policy_created=false
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    policy_created=true
  fi
  apt-get install -y -qq "${missing[@]}" >/dev/null
  if $policy_created; then rm -f /usr/sbin/policy-rc.d; fi
}

USE_DOCKER=false
DOCKER_MARK="$DATA/docker-mode"
docker_available() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }
compose() {
  PAYSVC_MYSQL_PORT="$MYSQL_PORT" PAYSVC_REDIS_PORT="$REDIS_PORT" \
    docker compose -f "$ROOT/docker-compose.yml" -f "$ROOT/docker-compose.dev.yml" "$@"
}
start_docker() {
  say "MariaDB/Redis packages are missing; starting MySQL and Redis with Docker (docker-compose.dev.yml)…"
  mkdir -p "$DATA" && touch "$DOCKER_MARK"
  compose up -d --wait mysql redis >&2 || die "docker compose up failed: see 'docker compose logs mysql redis'"
}

mariadbd_bin() { command -v mariadbd 2>/dev/null || echo /usr/sbin/mariadbd; }

mysql_up() { mariadb-admin --protocol=socket --socket="$MYSQL_SOCK" -u"$ADMIN_USER" ping >/dev/null 2>&1; }
redis_up() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }
# Whether the Redis on REDIS_PORT is this checkout's (its dir is our $DATA/redis), not another checkout's.
redis_ours() {
  [ -d "$DATA/redis" ] &&
    [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" config get dir 2>/dev/null | sed -n 2p)" = "$(cd "$DATA/redis" && pwd -P)" ]
}
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_mariadb() {
  if mysql_up; then say "MariaDB already up on 127.0.0.1:$MYSQL_PORT"; return 0; fi
  if port_taken "$MYSQL_PORT"; then
    die "port $MYSQL_PORT is taken by another process (another checkout's MariaDB?): stop it, or use another port with PAYSVC_MYSQL_PORT=…"
  fi
  mkdir -p "$DATA/mariadb"
  local owner=(); [ "$(id -u)" -eq 0 ] && owner=(--user=root)
  if [ ! -d "$DATA/mariadb/db/mysql" ]; then
    say "initialising MariaDB data directory in $DATA/mariadb/db"
    mariadb-install-db "${owner[@]}" --datadir="$DATA/mariadb/db" --auth-root-authentication-method=socket \
      --auth-root-socket-user="$ADMIN_USER" --skip-test-db >"$DATA/mariadb/install.log" 2>&1 || die "mariadb-install-db failed: see $DATA/mariadb/install.log"
  fi
  say "starting MariaDB on 127.0.0.1:$MYSQL_PORT"
  "$(mariadbd_bin)" --no-defaults "${owner[@]}" --datadir="$DATA/mariadb/db" --socket="$MYSQL_SOCK" \
    --pid-file="$DATA/mariadb/mysqld.pid" --bind-address=127.0.0.1 --port="$MYSQL_PORT" \
    --log-error="$DATA/mariadb/error.log" --character-set-server=utf8mb4 --collation-server=utf8mb4_bin \
    --default-time-zone=+00:00 --innodb-buffer-pool-size=256M --innodb-autoinc-lock-mode=2 --max-connections=500 --skip-name-resolve >/dev/null 2>&1 &
  for _ in $(seq 1 100); do mysql_up && break; sleep 0.2; done
  mysql_up || die "MariaDB did not start: see $DATA/mariadb/error.log"
  mariadb --protocol=socket --socket="$MYSQL_SOCK" -u"$ADMIN_USER" <<SQL
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'localhost';
CREATE DATABASE IF NOT EXISTS paysvc CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
FLUSH PRIVILEGES;
SQL
}

start_redis() {
  if redis_up; then
    redis_ours || die "port $REDIS_PORT is taken by another Redis (not the one in $DATA/redis): stop it, or use another port with PAYSVC_REDIS_PORT=…"
    say "Redis already up on 127.0.0.1:$REDIS_PORT"; return 0
  fi
  if port_taken "$REDIS_PORT"; then
    die "port $REDIS_PORT is taken by another process: stop it, or use another port with PAYSVC_REDIS_PORT=…"
  fi
  mkdir -p "$DATA/redis"
  say "starting Redis on 127.0.0.1:$REDIS_PORT"
  # noeviction: BullMQ must never lose keys to eviction.
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$DATA/redis" --daemonize yes \
    --pidfile "$DATA/redis/redis.pid" --logfile "$DATA/redis/redis.log" --maxmemory-policy noeviction \
    --save "" --appendonly yes >/dev/null
  for _ in $(seq 1 50); do redis_up && break; sleep 0.1; done
  redis_up || die "Redis did not start: see $DATA/redis/redis.log"
}

stop_all() {
  if [ -e "$DOCKER_MARK" ]; then say "stopping the Docker MySQL and Redis"; compose stop mysql redis >&2 || true; rm -f "$DOCKER_MARK"; return 0; fi
  if mysql_up; then say "stopping MariaDB"; mariadb-admin --protocol=socket --socket="$MYSQL_SOCK" -u"$ADMIN_USER" shutdown || true; fi
  # Only our own Redis: the port alone does not tell, and another checkout's must keep running.
  if redis_up && redis_ours; then say "stopping Redis"; redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true; fi
}

print_env() {
  echo "DATABASE_URL=mysql://$DB_USER:$DB_PASS@127.0.0.1:$MYSQL_PORT/paysvc"
  echo "REDIS_URL=redis://127.0.0.1:$REDIS_PORT"
}

case "${1:-}" in
  start)
    ensure_installed
    if $USE_DOCKER; then start_docker; else start_mariadb; start_redis; fi
    print_env ;;
  stop) stop_all ;;
  status)
    if mysql_up; then echo "mariadb: up 127.0.0.1:$MYSQL_PORT"; else echo "mariadb: down"; fi
    if redis_up; then echo "redis: up 127.0.0.1:$REDIS_PORT"; else echo "redis: down"; fi ;;
  env) print_env ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
