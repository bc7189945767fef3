#!/usr/bin/env bash
# docker-harness.sh - gives the integration tests a real Docker engine.
#
#   docker-harness.sh ensure           Debian's docker.io installed, a dockerd
#                                      answering on /var/run/docker.sock with a
#                                      runc-backed "nvidia" runtime, and the test
#                                      image ds01-test-busybox:latest (docker
#                                      import of busybox-static, label
#                                      ds01.test=true). Idempotent. Also
#                                      removes containers named
#                                      ds01test-<pid>-... whose process is gone.
#   docker-harness.sh run CMD [ARG...] ensure, then exec CMD (how CTest runs
#                                      the Docker tests).
#   docker-harness.sh cleanup PREFIX   removes (-f -v) every container whose
#                                      name starts with PREFIX (tests name theirs
#                                      ds01test-<pid>-...).
#
# Sourced, it only defines ds01_docker_ensure and ds01_docker_cleanup (and the
# DS01_TEST_DOCKER_* variables) and changes no shell option of the caller.
# Nothing is ever pulled: no registry is reachable from the test machines.
# Installing packages and starting dockerd need root; a user who can already
# reach a suitable engine needs nothing.
# shellcheck shell=bash

DS01_TEST_DOCKER_SOCKET=${DS01_TEST_DOCKER_SOCKET:-/var/run/docker.sock}
DS01_TEST_DOCKER_IMAGE=${DS01_TEST_DOCKER_IMAGE:-ds01-test-busybox:latest}
DS01_TEST_DOCKERD_LOG=${DS01_TEST_DOCKERD_LOG:-/var/log/ds01-test-dockerd.log}
DS01_TEST_DOCKERD_CONFIG=${DS01_TEST_DOCKERD_CONFIG:-/etc/docker/daemon.json}
export DS01_TEST_DOCKER_SOCKET DS01_TEST_DOCKER_IMAGE

_h_say() { echo "docker-harness: $*"; }
_h_die() {
        echo "docker-harness: error: $*" >&2
        return 1
}

# The docker CLI against our socket, whatever DOCKER_HOST or contexts say.
_h_docker() { docker -H "unix://$DS01_TEST_DOCKER_SOCKET" "$@"; }

_h_is_root() { [ "$(id -u)" -eq 0 ]; }

# _h_apt_install PACKAGE...: installs what is missing (root only).
_h_apt_install() {
        _h_is_root || {
                _h_die "package(s) $* missing and not root; install them: apt-get install $*"
                return 1
        }
        _h_say "installing $*"
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
                >/tmp/ds01-harness-apt.log 2>&1; then
                # The package lists may be stale or absent on a fresh machine.
                DEBIAN_FRONTEND=noninteractive apt-get update -qq >>/tmp/ds01-harness-apt.log 2>&1
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                        "$@" >>/tmp/ds01-harness-apt.log 2>&1 || {
                        tail -n 20 /tmp/ds01-harness-apt.log >&2
                        _h_die "apt-get install $* failed (log: /tmp/ds01-harness-apt.log)"
                        return 1
                }
        fi
}

_h_pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

_h_engine_answers() { _h_docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# _h_wait_engine SECONDS [PID]: polls `docker version` every 200 ms; fails when
# SECONDS pass or when PID (the dockerd we started) dies.
_h_wait_engine() {
        local secs=$1 pid=${2:-} i
        for ((i = 0; i < secs * 5; i++)); do
                _h_engine_answers && return 0
                if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
                        return 1
                fi
                sleep 0.2
        done
        return 1
}

_h_has_nvidia_runtime() {
        _h_docker info --format '{{json .Runtimes}}' 2>/dev/null | jq -e 'has("nvidia")' >/dev/null 2>&1
}

# Writes our settings into daemon.json: a fresh file, or the nvidia runtime
# (and the cgroupfs driver when no driver is set) merged into an existing one.
_h_write_daemon_json() {
        local f=$DS01_TEST_DOCKERD_CONFIG tmp
        mkdir -p "$(dirname "$f")" || return 1
        if [ ! -s "$f" ]; then
                _h_say "writing $f"
                cat >"$f" <<'EOF'
{
  "runtimes": { "nvidia": { "path": "runc" } },
  "exec-opts": ["native.cgroupdriver=cgroupfs"]
}
EOF
                return
        fi
        command -v jq >/dev/null || _h_apt_install jq || return 1
        jq -e . "$f" >/dev/null 2>&1 || {
                _h_die "$f is not valid JSON; fix it or move it away"
                return 1
        }
        if jq -e '(.runtimes // {}) | has("nvidia")' "$f" >/dev/null; then
                return 0
        fi
        _h_say "adding the runc-backed nvidia runtime to $f"
        tmp=$(mktemp "$f.XXXXXX") || return 1
        if ! jq '.runtimes = ((.runtimes // {}) + {"nvidia": {"path": "runc"}})
                 | if any((.["exec-opts"] // [])[]; startswith("native.cgroupdriver")) then .
                   else .["exec-opts"] = ((.["exec-opts"] // []) + ["native.cgroupdriver=cgroupfs"])
                   end' "$f" >"$tmp"; then
                rm -f "$tmp"
                _h_die "could not rewrite $f"
                return 1
        fi
        chmod 0644 "$tmp" && mv "$tmp" "$f"
}

_h_dockerd_pid() { pgrep -x dockerd | head -n 1; }

_h_start_dockerd() {
        local pid
        _h_is_root || {
                _h_die "no Docker engine answers at $DS01_TEST_DOCKER_SOCKET and starting one needs root"
                return 1
        }
        _h_write_daemon_json || return 1
        if [ -d /run/systemd/system ] && systemctl cat docker.service >/dev/null 2>&1; then
                _h_say "starting docker.service"
                systemctl start docker.service || true
                if _h_wait_engine 60; then
                        return 0
                fi
                _h_say "docker.service did not answer; starting dockerd by hand"
        fi
        _h_say "starting dockerd (log: $DS01_TEST_DOCKERD_LOG)"
        # Own session, no inherited descriptors: it outlives this test, does
        # not hold CTest's output pipe open, nor our lock (fd 9).
        setsid dockerd --config-file "$DS01_TEST_DOCKERD_CONFIG" \
                -H "unix://$DS01_TEST_DOCKER_SOCKET" </dev/null >>"$DS01_TEST_DOCKERD_LOG" 2>&1 9>&- &
        pid=$!
        if ! _h_wait_engine 60 "$pid"; then
                echo "--- last lines of $DS01_TEST_DOCKERD_LOG" >&2
                tail -n 25 "$DS01_TEST_DOCKERD_LOG" >&2
                _h_die "dockerd did not answer within 60 s"
                return 1
        fi
        _h_say "dockerd $pid answers: $(_h_docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"
}

_h_ensure_nvidia_runtime() {
        local pid i
        _h_has_nvidia_runtime && return 0
        _h_is_root || {
                _h_die "the running dockerd has no 'nvidia' runtime and adding one needs root"
                return 1
        }
        _h_write_daemon_json || return 1
        pid=$(_h_dockerd_pid)
        [ -n "$pid" ] || {
                _h_die "the engine lacks the nvidia runtime and no dockerd process is visible to reload"
                return 1
        }
        _h_say "reloading dockerd $pid (SIGHUP) for the nvidia runtime"
        kill -HUP "$pid"
        for ((i = 0; i < 50; i++)); do
                _h_has_nvidia_runtime && return 0
                sleep 0.2
        done
        _h_die "dockerd did not register the nvidia runtime after SIGHUP; see $DS01_TEST_DOCKERD_CONFIG"
}

_h_image_ok() {
        [ "$(_h_docker image inspect --format '{{index .Config.Labels "ds01.test"}}' \
                "$DS01_TEST_DOCKER_IMAGE" 2>/dev/null)" = "true" ]
}

_h_build_image() {
        local root tools t rc
        if ! _h_pkg_installed busybox-static; then
                _h_apt_install busybox-static || return 1
        fi
        [ -x /bin/busybox ] || {
                _h_die "/bin/busybox missing although busybox-static is installed"
                return 1
        }
        root=$(mktemp -d /tmp/ds01-busybox-root.XXXXXX) || return 1
        mkdir -p "$root"/{bin,etc,tmp,proc,sys,dev,root}
        chmod 1777 "$root/tmp"
        cp /bin/busybox "$root/bin/busybox"
        tools="sh sleep cat echo true false env ls id top ps kill mkdir rm printf test [ wc grep
               head tail hostname date stat touch dd uname nproc free df seq yes sync chmod"
        for t in $tools; do
                ln -s busybox "$root/bin/$t"
        done
        printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' \
                >"$root/etc/passwd"
        printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
        _h_say "importing $DS01_TEST_DOCKER_IMAGE from busybox-static"
        tar -C "$root" --numeric-owner --owner=0 --group=0 -cf - . |
                _h_docker import --change 'LABEL ds01.test=true' --change 'CMD ["sh"]' \
                        --change 'ENV PATH=/bin' - "$DS01_TEST_DOCKER_IMAGE" >/dev/null
        rc=$?
        rm -rf "$root"
        [ $rc -eq 0 ] || {
                _h_die "docker import of $DS01_TEST_DOCKER_IMAGE failed"
                return 1
        }
}

# Containers named ds01test-<pid>-... whose test process is gone (killed by
# a timeout before its teardown ran).
_h_remove_stale() {
        local id name pid n=0
        while read -r id name; do
                [[ $name =~ ^ds01test-([0-9]+)- ]] || continue
                pid=${BASH_REMATCH[1]}
                kill -0 "$pid" 2>/dev/null && continue
                _h_docker rm -f -v "$id" >/dev/null 2>&1 && n=$((n + 1))
        done < <(_h_docker ps -a --no-trunc --format '{{.ID}} {{.Names}}' 2>/dev/null)
        [ $n -eq 0 ] || _h_say "removed $n stale container(s) of test processes that are gone"
}

_h_ensure_locked() {
        if ! command -v dockerd >/dev/null 2>&1; then
                _h_apt_install docker.io || return 1
        fi
        command -v docker >/dev/null 2>&1 || {
                _h_die "no docker CLI on PATH although docker.io is installed"
                return 1
        }
        command -v jq >/dev/null || _h_apt_install jq || return 1

        if _h_engine_answers; then
                _h_say "engine answers at $DS01_TEST_DOCKER_SOCKET"
        elif [ -n "$(_h_dockerd_pid)" ] && _h_wait_engine 60; then
                # A dockerd that was still starting.
                _h_say "engine answers at $DS01_TEST_DOCKER_SOCKET (after waiting)"
        else
                _h_start_dockerd || return 1
        fi
        _h_ensure_nvidia_runtime || return 1
        _h_say "runtimes: $(_h_docker info --format '{{json .Runtimes}}' | jq -c 'keys')"

        _h_remove_stale

        if _h_image_ok; then
                _h_say "image $DS01_TEST_DOCKER_IMAGE present"
        else
                _h_build_image || return 1
                _h_image_ok || {
                        _h_die "image $DS01_TEST_DOCKER_IMAGE lacks the label ds01.test=true after import"
                        return 1
                }
                _h_say "image $DS01_TEST_DOCKER_IMAGE built"
        fi
}

# ds01_docker_ensure: see the top of the file. 0, or 1 with a message on stderr.
ds01_docker_ensure() {
        local lock=/run/lock/ds01-docker-harness.lock rc
        [ -w /run/lock ] || lock=${TMPDIR:-/tmp}/ds01-docker-harness.$(id -u).lock
        # Parallel tests: one of them installs/starts/imports, the others wait.
        (
                flock -w 300 9 || {
                        _h_die "could not take $lock within 300 s"
                        exit 1
                }
                _h_ensure_locked
        ) 9>>"$lock"
        rc=$?
        return $rc
}

# ds01_docker_cleanup PREFIX: removes the containers whose name starts with
# PREFIX. Refuses an empty or too short prefix (it would match others' containers).
ds01_docker_cleanup() {
        local prefix=${1:-} id name n=0
        [ ${#prefix} -ge 4 ] || {
                _h_die "cleanup needs a name prefix of at least 4 characters"
                return 1
        }
        while read -r id name; do
                [ -n "$id" ] || continue
                if [[ $name == "$prefix"* ]]; then
                        _h_docker rm -f -v "$id" >/dev/null 2>&1 && n=$((n + 1))
                fi
        done < <(_h_docker ps -a --no-trunc --format '{{.ID}} {{.Names}}' 2>/dev/null)
        _h_say "removed $n container(s) named $prefix*"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
        set -uo pipefail
        case "${1:-}" in
        ensure)
                ds01_docker_ensure
                ;;
        run)
                shift
                [ $# -gt 0 ] || {
                        echo "usage: $0 run CMD [ARG...]" >&2
                        exit 2
                }
                ds01_docker_ensure || exit 1
                exec "$@"
                ;;
        cleanup)
                ds01_docker_cleanup "${2:-}"
                ;;
        *)
                echo "usage: $0 ensure | run CMD [ARG...] | cleanup PREFIX" >&2
                exit 2
                ;;
        esac
fi
