/* SPDX-License-Identifier: MIT */
#pragma once
/* slices.h - per-user aggregate limits (stub; issue 8). */
