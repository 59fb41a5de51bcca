#!/usr/bin/env bash
# Start a real, multi-process Cinder on this machine, run COMMAND against
# it, and stop everything again, whatever happens:
#
#     tools/deploy/run.sh [COMMAND [ARG...]]
#
# (tox -e deploy runs it with the tests of tests/deploy.) Without COMMAND
# it starts everything, prints how to reach it, and waits for Ctrl-C.
#
# Everything is private to one directory, $MD_DEPLOY_DIR (a fresh
# /tmp/md-deploy.XXXXXX, removed at the end), and listens on 127.0.0.1
# (or on a unix socket) only:
#   MariaDB     mariadbd, own datadir, unix socket only (skip-networking)
#   RabbitMQ    own node, own epmd, 127.0.0.1, own port
#   Redis       redis-server, 127.0.0.1: tooz for the cluster's locks
#   Ceph        mon, memstore OSD, mgr on 127.0.0.1, cephx
#               (tools/deploy/ceph_cluster.py): the RBD backend
#   Keystone    keystone under gunicorn (tools/deploy/keystone_wsgi.py)
#   network     a 404 answerer on 127.0.0.1 (tools/deploy/not_found.py),
#               the catalog's "network" endpoint, for Tempest
#   cinder-api, cinder-scheduler          as root
#   cinder-volume (backends file, lvm, cinder-lvm and the drop-in
#   drivers md-lvm, md-nfs, md-rbd) and two clustered
#   cinder-volume (backend shared, cluster md-cluster)
#                                         as md-cinder, through sudo,
#                                         cinder-rootwrap and privsep
# Processes are started in devstack's order, each one polled until it
# answers, and stopped by their own pid on exit or failure (trap).
#
# Needs root (loop devices, LVM), the Debian packages of bindep.txt and
# the Python environment tox -e deploy builds (tools/deploy/constraints.txt).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
venv=${VIRTUAL_ENV:?run from the deploy environment: tox -e deploy}
deploy_user=md-cinder
python=$venv/bin/python

if [ "$(id -u)" -ne 0 ]; then
    echo "tools/deploy/run.sh needs root (loop devices, LVM)" >&2
    exit 2
fi
getent passwd "$deploy_user" >/dev/null || {
    echo "no user $deploy_user: run tools/test-setup.sh" >&2; exit 2; }

D=$(mktemp -d /tmp/md-deploy.XXXXXX)
# md-cinder reads its configuration and works below $D.
chgrp "$deploy_user" "$D"
chmod 0750 "$D"
export MD_DEPLOY_DIR=$D
mkdir -p "$D/etc" "$D/log" "$D/run"
timings=$D/timings
: >"$timings"

pids=()          # every process we started, in start order
loops=()         # loop devices we attached
sudoers=""       # our sudoers file
vgs=()           # VGs we created
mounts=()        # bind mounts we made

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

now_ms() { date +%s%3N; }

# step NAME COMMAND...: run a setup step, recording its duration.
step() {
    local name=$1 start end
    shift
    start=$(now_ms)
    "$@"
    end=$(now_ms)
    printf '%-28s %6d ms\n' "$name" $((end - start)) >>"$timings"
    log "$name: $((end - start)) ms"
}

# start NAME COMMAND...: start a long-running process in the background,
# its output in $D/log/NAME.log; its pid is remembered for the stop.
start() {
    local name=$1
    shift
    "$@" >"$D/log/$name.log" 2>&1 &
    pids+=("$!")
    echo "$!" >"$D/run/$name.pid"
    log "started $name (pid $!)"
}

# wait_for WHAT TIMEOUT COMMAND...: poll COMMAND until it succeeds.
wait_for() {
    local what=$1 timeout=$2 deadline
    shift 2
    deadline=$(($(date +%s) + timeout))
    until "$@" >/dev/null 2>&1; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            log "$what not ready after $timeout s"
            return 1
        fi
        # A process of ours that died will never answer.
        for pid in "${pids[@]}"; do
            if ! kill -0 "$pid" 2>/dev/null; then
                log "process $pid exited while waiting for $what"
                return 1
            fi
        done
        sleep 0.5
    done
}

# descendants PID: every process below PID, deepest last.
descendants() {
    local child
    for child in $(pgrep -P "$1" || true); do
        echo "$child"
        descendants "$child"
    done
}

# stop_pid PID: SIGTERM, wait up to 20 s, then SIGKILL it and whatever it
# started (a service's workers would otherwise outlive it).
stop_pid() {
    local pid=$1 tree
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    tree=$(descendants "$pid")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 80); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.25
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid ignored SIGTERM for 20 s: SIGKILL"
        # shellcheck disable=SC2086
        kill -KILL "$pid" $tree 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$? pid i
    trap - EXIT INT TERM
    if [ "$rc" -ne 0 ]; then
        # The logs say why: show their ends while the services still run.
        for f in "$D"/log/*.log; do
            echo "==== $f (last 40 lines)" >&2
            tail -n 40 "$f" >&2 || true
        done
    fi
    if [ -f "$D/tempest-results.log" ]; then
        echo "==== tempest results" >&2
        cat "$D/tempest-results.log" >&2
    fi
    if [ -f "$D/client-calls.log" ]; then
        echo "==== client calls: $(wc -l <"$D/client-calls.log")" >&2
        cat "$D/client-calls.log" >&2
    fi
    log "stopping (exit status $rc)"
    # One at a time, newest first: each service stops while what it
    # depends on (database, broker) still answers.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        stop_pid "${pids[i]}"
    done
    # Children our processes started (privsep helpers) and that outlived
    # them: found by our directory in their command line.
    for pid in $(pgrep -f -- "$D" || true); do
        [ "$pid" = "$$" ] && continue
        log "leftover pid $pid: $(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null)"
        kill -KILL "$pid" 2>/dev/null || true
    done
    for mnt in "${mounts[@]}"; do
        umount "$mnt" 2>/dev/null || umount -l "$mnt" || true
    done
    for vg in "${vgs[@]}"; do
        LVM_SYSTEM_DIR=$D/lvm vgremove -ff -y "$vg" >/dev/null 2>&1 || true
    done
    for dev in "${loops[@]}"; do
        LVM_SYSTEM_DIR=$D/lvm pvremove -ff -y "$dev" >/dev/null 2>&1 || true
        losetup -d "$dev" 2>/dev/null || true
    done
    [ -n "$sudoers" ] && rm -f "$sudoers"
    if [ "${MD_DEPLOY_KEEP:-0}" = 1 ]; then
        log "kept $D (MD_DEPLOY_KEEP=1)"
    else
        rm -rf "$D"
    fi
    log "stopped"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# shellcheck source=tools/deploy/services.sh
. "$top/tools/deploy/services.sh"

total_start=$(now_ms)
step "storage (loop, VG, images)" setup_storage
step "nfs (bind mount)" setup_nfs
step "ceph" start_ceph
step "mariadb" start_mariadb
step "rabbitmq" start_rabbitmq
step "redis" start_redis
step "network 404 stub" start_network_stub
step "keystone" start_keystone
step "cinder config, db sync" configure_cinder
step "cinder-api" start_cinder_api
step "cinder-scheduler" start_cinder_scheduler
step "cinder-volume x3" start_cinder_volumes
step "volume types" create_volume_types
step "backends ready" wait_backends_ready
step "tempest workspace" setup_tempest
total_end=$(now_ms)
printf '%-28s %6d ms\n' "total start" $((total_end - total_start)) >>"$timings"
report_memory >>"$timings"
write_env
log "deployment ready in $((total_end - total_start)) ms"
cat "$timings" >&2

if [ $# -eq 0 ]; then
    log "ready: . $D/deploy.env; cinder service-list  (Ctrl-C stops)"
    # wait, not sleep: a signal then stops everything at once.
    while true; do sleep 3600 & wait $!; done
fi
# shellcheck disable=SC1091
set -a; . "$D/deploy.env"; set +a
"$@"
