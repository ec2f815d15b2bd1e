#!/usr/bin/env bash
# Private Docker daemon for tests and fixture generation.
#
#   eval "$(.ci/dockerd.sh start)"   start a private dockerd, print `export DOCKER_HOST=...` lines
#   .ci/dockerd.sh env               print the export lines of the running private daemon
#   .ci/dockerd.sh status            exit 0 when the private daemon answers
#   .ci/dockerd.sh stop              stop it, unmount what it left, remove its temp dirs
#
# The daemon never touches /var/lib/docker, /var/run/docker.sock or the host network:
#   dockerd --data-root D --exec-root E -H unix://E/docker.sock --iptables=false --ip6tables=false \
#           --bridge=none --storage-driver=overlay2
# plus --pidfile E/docker.pid and --config-file <private empty json> so that neither the host's
# /var/run/docker.pid nor /etc/docker/daemon.json is used. overlay2 is tried first, then vfs.
# dockerd 20.10 starts its own managed containerd (socket under E/containerd/) when no
# --containerd is given; `start` checks that it is up and `stop` makes sure it is gone.
#
# Environment: OCITOOL_DOCKERD_STATE (state file), OCITOOL_DOCKERD_WAIT (seconds to wait for
# `docker version`, default 60), OCITOOL_DOCKERD_DRIVERS (default "overlay2 vfs").
# State lives in $OCITOOL_DOCKERD_STATE (default /tmp/ocitool-dockerd.state), a KEY=value file
# (no quoting; values never contain spaces) read back by `env`, `stop` and tests/peers.py.
# Several private daemons can run side by side with different OCITOOL_DOCKERD_STATE values.
# Messages go to stderr; only the export lines go to stdout.
set -euo pipefail

STATE="${OCITOOL_DOCKERD_STATE:-/tmp/ocitool-dockerd.state}"
WAIT_SECS="${OCITOOL_DOCKERD_WAIT:-60}"
# storage drivers tried in order (override only to test the fallback, e.g. "bogus vfs")
read -r -a DRIVERS <<<"${OCITOOL_DOCKERD_DRIVERS:-overlay2 vfs}"
DOCKER="${DOCKER:-docker}"

log() { printf 'dockerd.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

load_state() {
    [[ -f "$STATE" ]] || return 1
    local k v
    BASE="" ROOT="" EXEC="" PID="" DRIVER="" SOCK="" LOGFILE=""
    while IFS='=' read -r k v; do
        case "$k" in
            OCITOOL_DOCKERD_BASE) BASE="$v" ;;
            OCITOOL_DOCKERD_ROOT) ROOT="$v" ;;
            OCITOOL_DOCKERD_EXEC) EXEC="$v" ;;
            OCITOOL_DOCKERD_PID) PID="$v" ;;
            OCITOOL_DOCKERD_DRIVER) DRIVER="$v" ;;
            OCITOOL_DOCKERD_LOG) LOGFILE="$v" ;;
            DOCKER_HOST) SOCK="${v#unix://}" ;;
        esac
    done <"$STATE"
    [[ -n "$BASE" && -n "$PID" && -n "$SOCK" ]]
}

write_state() {
    local tmp="$STATE.tmp.$$"
    {
        echo "OCITOOL_DOCKERD_BASE=$BASE"
        echo "OCITOOL_DOCKERD_ROOT=$ROOT"
        echo "OCITOOL_DOCKERD_EXEC=$EXEC"
        echo "OCITOOL_DOCKERD_PID=$PID"
        echo "OCITOOL_DOCKERD_DRIVER=$DRIVER"
        echo "OCITOOL_DOCKERD_LOG=$LOGFILE"
        echo "DOCKER_HOST=unix://$SOCK"
    } >"$tmp"
    mv -f "$tmp" "$STATE"
}

print_env() {
    echo "export DOCKER_HOST=unix://$SOCK"
    echo "export OCITOOL_DOCKERD_STATE=$STATE"
    echo "export OCITOOL_DOCKERD_DRIVER=$DRIVER"
}

pid_is_dockerd() {
    [[ -n "${1:-}" && -r "/proc/$1/comm" ]] && [[ "$(cat "/proc/$1/comm" 2>/dev/null)" == dockerd ]]
}

answers() {
    DOCKER_HOST="unix://$1" timeout 10 "$DOCKER" version >/dev/null 2>&1
}

# Unmount everything mounted at or below $1, deepest first; lazy unmount as a last resort.
unmount_under() {
    local dir="$1" pass t left
    [[ -n "$dir" && "$dir" == /tmp/* ]] || die "refusing to unmount under '$dir'"
    for pass in 1 2 3 4 5; do
        mapfile -t left < <(findmnt -rn -o TARGET | awk -v d="$dir" 'index($0, d "/") == 1 || $0 == d' | sort -r)
        ((${#left[@]} == 0)) && return 0
        for t in "${left[@]}"; do
            t="$(printf '%b' "$t")"   # findmnt -r escapes blanks as \x20
            if ((pass < 3)); then
                umount "$t" 2>/dev/null || umount -R "$t" 2>/dev/null || true
            else
                umount -l "$t" 2>/dev/null || true
            fi
        done
    done
    mapfile -t left < <(findmnt -rn -o TARGET | awk -v d="$dir" 'index($0, d "/") == 1 || $0 == d')
    ((${#left[@]} == 0)) || { log "mounts still present under $dir: ${left[*]}"; return 1; }
}

kill_wait() { # pid name secs
    local pid="$1" name="$2" secs="$3" i
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < secs * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        # reap zombies of our own children, harmless otherwise
        [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" == Z ]] && return 0
        sleep 0.1
    done
    log "$name (pid $pid) ignored SIGTERM for ${secs}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
}

managed_containerd_pid() {
    local cpid=""
    [[ -r "$EXEC/containerd/containerd.pid" ]] && cpid="$(cat "$EXEC/containerd/containerd.pid" 2>/dev/null || true)"
    if [[ -n "$cpid" && -r "/proc/$cpid/comm" && "$(cat "/proc/$cpid/comm" 2>/dev/null)" == containerd ]]; then
        echo "$cpid"
    fi
}

cleanup_dirs() {
    [[ -n "${BASE:-}" && "$BASE" == /tmp/ocitool-dockerd.* && -d "$BASE" ]] || return 0
    unmount_under "$BASE" || die "not removing $BASE: mounts remain"
    rm -rf --one-file-system "$BASE"
}

launch() { # driver -> sets PID; returns 0 when the daemon answers
    local driver="$1" i
    mkdir -p "$ROOT" "$EXEC"
    echo '{}' >"$BASE/daemon.json"
    LOGFILE="$BASE/dockerd-$driver.log"
    setsid dockerd \
        --data-root "$ROOT" \
        --exec-root "$EXEC" \
        -H "unix://$SOCK" \
        --iptables=false --ip6tables=false --bridge=none \
        --storage-driver="$driver" \
        --pidfile "$EXEC/docker.pid" \
        --config-file "$BASE/daemon.json" \
        </dev/null >"$LOGFILE" 2>&1 &
    PID=$!
    DRIVER="$driver"
    write_state
    for ((i = 0; i < WAIT_SECS * 4; i++)); do
        if ! kill -0 "$PID" 2>/dev/null; then
            wait "$PID" 2>/dev/null || true
            log "dockerd --storage-driver=$driver exited early; last log lines:"
            tail -n 5 "$LOGFILE" | sed 's/^/    /' >&2
            return 1
        fi
        if [[ -S "$SOCK" ]] && answers "$SOCK"; then
            return 0
        fi
        sleep 0.25
    done
    log "dockerd --storage-driver=$driver did not answer 'docker version' within ${WAIT_SECS}s; last log lines:"
    tail -n 20 "$LOGFILE" | sed 's/^/    /' >&2
    kill_wait "$PID" dockerd 10
    return 2
}

cmd_start() {
    command -v dockerd >/dev/null || die "dockerd not found (apt-get install docker.io)"
    command -v "$DOCKER" >/dev/null || die "docker client not found"
    if load_state; then
        if pid_is_dockerd "$PID" && answers "$SOCK"; then
            log "private dockerd already running (pid $PID, driver $DRIVER)"
            print_env
            return 0
        fi
        log "stale state in $STATE; cleaning up"
        cmd_stop
    fi
    BASE="$(mktemp -d /tmp/ocitool-dockerd.XXXXXX)"
    ROOT="$BASE/data"
    EXEC="$BASE/exec"
    SOCK="$EXEC/docker.sock"
    local driver rc
    for driver in "${DRIVERS[@]}"; do
        rc=0
        launch "$driver" || rc=$?
        if ((rc == 0)); then
            echo "$driver" >"$BASE/storage-driver"
            local actual
            actual="$(DOCKER_HOST="unix://$SOCK" "$DOCKER" info --format '{{.Driver}}' 2>/dev/null || true)"
            [[ "$actual" == "$driver" ]] || log "warning: daemon reports storage driver '$actual'"
            if [[ ! -S "$EXEC/containerd/containerd.sock" ]]; then
                log "warning: no managed containerd socket at $EXEC/containerd/containerd.sock"
            fi
            log "private dockerd up: pid $PID, driver $driver, socket $SOCK, log $LOGFILE"
            print_env
            return 0
        fi
        # clean the failed attempt before the next driver: the data root is driver specific
        local cpid
        cpid="$(managed_containerd_pid)"
        kill_wait "$PID" dockerd 10
        [[ -n "$cpid" ]] && kill_wait "$cpid" containerd 10
        unmount_under "$BASE" || true
        rm -rf --one-file-system "$ROOT" "$EXEC"
        ((rc == 2)) && break   # it started but never answered: another driver will not help
    done
    local logs=("$BASE"/dockerd-*.log)
    log "could not start a private dockerd (logs: ${logs[*]})"
    die "private dockerd failed to start"
}

cmd_stop() {
    if ! load_state; then
        log "no private dockerd state at $STATE; nothing to stop"
        return 0
    fi
    local cpid
    cpid="$(managed_containerd_pid)"
    if pid_is_dockerd "$PID"; then
        kill_wait "$PID" dockerd 30
        wait "$PID" 2>/dev/null || true
    fi
    # the managed containerd normally exits with dockerd; make sure
    if [[ -n "$cpid" && -r "/proc/$cpid/comm" && "$(cat "/proc/$cpid/comm" 2>/dev/null)" == containerd ]]; then
        kill_wait "$cpid" containerd 10
    fi
    cleanup_dirs
    rm -f "$STATE"
    log "private dockerd stopped"
}

cmd_env() {
    load_state || die "no private dockerd state at $STATE (run: .ci/dockerd.sh start)"
    pid_is_dockerd "$PID" || die "private dockerd (pid $PID) is not running"
    print_env
}

cmd_status() {
    load_state || die "no private dockerd state at $STATE"
    pid_is_dockerd "$PID" && answers "$SOCK" || die "private dockerd (pid $PID) does not answer"
    log "running: pid $PID, driver $DRIVER, socket $SOCK"
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    env) cmd_env ;;
    status) cmd_status ;;
    *) echo "usage: $0 start|stop|env|status" >&2; exit 2 ;;
esac
