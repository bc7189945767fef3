/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * host-lookup.h - the classifier's lookups answered by this machine: user
 * names and uids through NSS (getpwuid_r/getpwnam_r), path owners with
 * lstat(2). ds01d's reconcile and `ds01 state` both use it.
 */
#include "docker/classify.h"

extern const struct classify_lookup classify_host_lookup;
