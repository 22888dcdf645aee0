#!/usr/bin/env bash
# Make sure the PostgreSQL server the tests use is installed, running and reachable as
# postgresql://postgres@127.0.0.1:5432/test (Debian/Ubuntu; run as root or with sudo).
# Set WORKHORSE_TEST_POSTGRES_URL to use another server instead: then nothing is changed here.
set -euo pipefail

sudo_=""
if [ "$(id -u)" != 0 ]; then sudo_=sudo; fi

# Headless Chromium and its driver for the browser tests (tests/e2e), from Debian's packages:
# installed only when missing (Playwright drives it; it never downloads a browser of its own).
if [ ! -x /usr/bin/chromium ]; then
    echo "installing Chromium for the browser tests"
    $sudo_ apt-get update -qq
    $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# Prometheus (the server and promtool) from Debian's prometheus package, installed only when
# missing: promtool checks the configuration and alert rules in deploy/ (tests/deploy) and the
# metrics expositions (tests/api/test_metrics.py); the metrics acceptance test
# (tests/acceptance/test_prometheus.py) runs its own server with a temporary config and storage
# on a free loopback port. A server that systemd starts with the package is stopped and disabled.
if [ ! -x /usr/bin/prometheus ] || ! command -v promtool >/dev/null 2>&1; then
    echo "installing Prometheus and promtool (Debian's prometheus package) for the metrics tests"
    $sudo_ apt-get update -qq
    $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        prometheus >/dev/null
    if [ -d /run/systemd/system ]; then
        $sudo_ systemctl disable --now prometheus >/dev/null 2>&1 || true
    fi
fi

# PgBouncer (Debian's pgbouncer package), installed only when missing: the conformance suite and
# an acceptance scenario run through a private transaction-pooling PgBouncer that the tests start
# on a free loopback port (tests/pgbouncer.py). A server that the package starts is stopped.
if ! command -v pgbouncer >/dev/null 2>&1; then
    echo "installing PgBouncer for the connection-pooler tests"
    $sudo_ apt-get update -qq
    $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null
    if [ -d /run/systemd/system ]; then
        $sudo_ systemctl disable --now pgbouncer >/dev/null 2>&1 || true
    fi
fi

# NATS (with JetStream) and RabbitMQ for the event tests (tests/integration/test_sinks.py,
# tests/acceptance/test_consume.py and test_events_at_scale.py), from Debian's packages: installed
# when missing and started when nothing listens on their ports. A server that already answers is
# left alone (other test runs may be using it); the tests that restart a broker start their own.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if ! port_open 4222; then
    if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ]; then
        echo "installing nats-server for the event tests"
        $sudo_ apt-get update -qq
        $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
    fi
    nats_bin=$(command -v nats-server || echo /usr/sbin/nats-server)
    $sudo_ mkdir -p /var/lib/nats-server
    $sudo_ sh -c "nohup $nats_bin -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server \
        -l /var/log/nats-server.log >/dev/null 2>&1 &"
fi
if ! port_open 5672; then
    if [ ! -x /usr/sbin/rabbitmq-server ]; then
        echo "installing rabbitmq-server for the event tests"
        $sudo_ apt-get update -qq
        $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
    fi
    $sudo_ sh -c "nohup /usr/sbin/rabbitmq-server >/var/log/rabbitmq-server.out 2>&1 &"
    for _ in $(seq 1 60); do port_open 5672 && break; sleep 1; done
fi

if [ -n "${WORKHORSE_TEST_POSTGRES_URL:-}" ]; then
    exit 0
fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
as_postgres() { as_root su postgres -s /bin/sh -c "$1"; }
reachable() { psql -X -q -h 127.0.0.1 -p 5432 -U postgres -d test -c 'SELECT 1' >/dev/null 2>&1; }

if reachable; then
    exit 0
fi

if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    echo "installing PostgreSQL"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >/dev/null
fi

version=$(ls /etc/postgresql | sort -V | tail -1)
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi

if ! reachable; then
    # A fresh cluster: create the test database and let the local postgres role in over TCP.
    echo "configuring PostgreSQL $version for the tests"
    if [ -z "$(as_postgres "psql -XtAc \"SELECT 1 FROM pg_database WHERE datname = 'test'\"")" ]; then
        as_postgres "createdb test"
    fi
    hba=$(as_postgres "psql -XtAc 'SHOW hba_file'")
    if ! as_root grep -q '^host all postgres 127.0.0.1/32 trust' "$hba"; then
        as_root sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
        as_root sed -i '2i host all postgres ::1/128 trust' "$hba"
        as_postgres "psql -XtAc 'SELECT pg_reload_conf()'" >/dev/null
    fi
fi

reachable || { echo "PostgreSQL is still unreachable at 127.0.0.1:5432" >&2; exit 1; }
