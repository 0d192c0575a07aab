#!/usr/bin/env bash
# Makes sure the servers the tests talk to answer on this machine, starting each one nothing
# answers for: Redis (127.0.0.1:6379), NATS (127.0.0.1:4222) and RabbitMQ (127.0.0.1:5672). Shared by every suite that
# needs them; tests never skip themselves when one is missing.
set -euo pipefail

answers() { timeout 1 bash -c "</dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# install COMMAND PACKAGE: Debian's package when the command is missing (a new machine).
install() {
  command -v "$1" >/dev/null || [ -x "/usr/sbin/$1" ] && return 0
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}

# wait_for NAME PORT [SECONDS]: up to SECONDS (30) for the server to answer after it was started.
wait_for() {
  for _ in $(seq 1 $((${3:-30} * 2))); do
    answers "$2" && return 0
    sleep 0.5
  done
  echo "ensure-services: $1 does not answer on 127.0.0.1:$2 after starting it" >&2
  exit 1
}

if ! answers 6379; then
  echo "ensure-services: starting Redis on 127.0.0.1:6379"
  install redis-server redis-server
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for Redis 6379
fi

if ! answers 4222; then
  echo "ensure-services: starting NATS on 127.0.0.1:4222"
  install nats-server nats-server
  mkdir -p /var/lib/nats-server
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  wait_for NATS 4222
fi

if ! answers 5672; then
  echo "ensure-services: starting RabbitMQ on 127.0.0.1:5672"
  install rabbitmq-server rabbitmq-server
  # The Erlang VM takes a while to boot on a small machine.
  RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 /usr/sbin/rabbitmq-server -detached
  wait_for RabbitMQ 5672 90
fi
