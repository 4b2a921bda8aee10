# Sourced by scripts/test: starts PostgreSQL, MariaDB and Redis on loopback if they are down,
# and waits until each answers. The test suite runs against these real servers.
set -euo pipefail

_wait_for() { # name, command
  for _ in $(seq 1 60); do
    if eval "$2" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "error: $1 did not come up" >&2
  return 1
}

if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  echo "== starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  _wait_for PostgreSQL "pg_isready -h 127.0.0.1 -p 5432"
fi

if ! mariadb-admin -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1; then
  echo "== starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  _wait_for MariaDB "mariadb-admin -h 127.0.0.1 -P 3306 -u root ping"
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "== starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  _wait_for Redis "redis-cli -h 127.0.0.1 -p 6379 ping"
fi

# The browser tests drive headless Chromium; they skip where it cannot be installed.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing chromium (for the browser tests)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
    || echo "warning: chromium could not be installed; the browser tests will be skipped" >&2
fi
