# ds01-docker-host.sh - /etc/profile.d: point Docker clients at ds01's proxy.
# shellcheck shell=sh
#
# Sourced through /etc/profile by login shells, interactive or not (ssh
# logins, VS Code Remote-SSH, `bash -l`, `su - user`; other shells only if
# they read /etc/profile). Sets
#     DOCKER_HOST=unix:///run/ds01/docker.sock
# so that the docker CLI, docker compose, the Docker SDKs and VS Code reach
# Docker through ds01d, which knows the caller from the kernel and applies
# their limits. Users are not in the docker group: the real socket
# (/var/run/docker.sock) refuses them, and this variable is only a
# convenience; nothing in ds01's security depends on it.
#
# Not for root (uid 0): admins pass through the proxy unchanged anyway, and
# root's tools keep talking to the engine directly. Only when the proxy socket
# exists (ds01d runs). A DOCKER_HOST the user set is kept, unless it names the
# real socket, which would only fail for them.
#
# POSIX sh (dash, bash, zsh in sh mode); defines nothing but DOCKER_HOST.
# Commands run over ssh without a login shell (`ssh host docker ps`) do not
# read this file: for those, put the line in ~/.bashrc, or set it system-wide
# in /etc/environment (pam_env; root included, which is harmless).

if [ -S /run/ds01/docker.sock ] && [ "$(id -u 2>/dev/null)" != 0 ]; then
        case "${DOCKER_HOST-}" in
        "" | unix:///var/run/docker.sock | unix:///run/docker.sock)
                DOCKER_HOST=unix:///run/ds01/docker.sock
                export DOCKER_HOST
                ;;
        esac
fi
