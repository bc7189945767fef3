# ds01-gpu-awareness.sh - /etc/profile.d: hide the GPUs from interactive shells
# of users who may not use them on the host, and say how to get one.
# shellcheck shell=sh
#
# On this server GPUs are used through ds01 containers (`ds01 container deploy
# NAME --gpus 1`, or docker through ds01's proxy), not by programs started on
# the host. An admin may grant bare-metal access (`ds01 access status`). This
# optional file is the login deterrent for everyone else:
#
#  - CUDA_VISIBLE_DEVICES="" is exported, so CUDA programs started from the
#    shell see no GPU;
#  - libds01-gpu-notice.so is prepended to LD_PRELOAD; when CUDA then fails to
#    initialise, it prints once per process how to get a GPU the right way.
#    It never changes what CUDA returns (src/preload/ds01-gpu-notice.c).
#
# This is a DETERRENT and a signpost, NOT a security boundary: a user can
# unset both variables, or start programs from a shell that never read this
# file. The enforcement is ds01d's scan of host processes using GPUs
# (bare_metal_access.policy: report, warn or stop; GET /v1/hostprocs in
# docs/API.md); this file only spares honest users that surprise.
#
# Only in interactive shells (case $- in *i*): scripts, cron jobs, `ssh host
# cmd` and IDE back-ends are left alone. Not for root. Nothing at all when the
# ds01 command is not on PATH, or when DS01_GPU_AWARENESS=off is already in the
# environment (an admin's opt-out, e.g. in /etc/environment). Users whose
# `ds01 access status --quiet` exits 0 (a grant, or exempt) keep their
# environment; any other exit, a timeout (2 s, when the `timeout` command
# exists) included, counts as no grant.
#
# DS01_GPU_NOTICE_LIB overrides the library path (default
# /usr/lib/x86_64-linux-gnu/ds01/libds01-gpu-notice.so). It is added only when
# the path is absolute, has no ':' or blank (LD_PRELOAD separators), names an
# existing file and is not already in LD_PRELOAD, so nested shells do not
# stack it.
#
# POSIX sh (dash, bash, busybox sh); defines nothing but CUDA_VISIBLE_DEVICES
# and LD_PRELOAD (its helper variables are unset at the end).

case $- in
*i*)
        if [ "${DS01_GPU_AWARENESS-}" != off ] && [ "$(id -u 2>/dev/null)" != 0 ] &&
                command -v ds01 >/dev/null 2>&1; then
                if command -v timeout >/dev/null 2>&1; then
                        timeout 2 ds01 access status --quiet </dev/null >/dev/null 2>&1
                else
                        ds01 access status --quiet </dev/null >/dev/null 2>&1
                fi
                _ds01_gpu_rc=$?
                if [ "$_ds01_gpu_rc" != 0 ]; then
                        CUDA_VISIBLE_DEVICES=
                        export CUDA_VISIBLE_DEVICES
                        _ds01_gpu_lib=${DS01_GPU_NOTICE_LIB:-/usr/lib/x86_64-linux-gnu/ds01/libds01-gpu-notice.so}
                        case $_ds01_gpu_lib in
                        *[:[:space:]]* | "" | [!/]*) ;;
                        *)
                                case " ${LD_PRELOAD-} " in
                                *[:[:space:]]"$_ds01_gpu_lib"[:[:space:]]*) ;;
                                *)
                                        if [ -f "$_ds01_gpu_lib" ]; then
                                                LD_PRELOAD=$_ds01_gpu_lib${LD_PRELOAD:+:$LD_PRELOAD}
                                                export LD_PRELOAD
                                        fi
                                        ;;
                                esac
                                ;;
                        esac
                fi
                unset _ds01_gpu_rc _ds01_gpu_lib
        fi
        ;;
esac
