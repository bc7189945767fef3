/* SPDX-License-Identifier: MIT */
/*
 * slots.c - the pure part of the GPU model: how slots are named and weighed,
 * and how to read what NVML wrote. See docs/ARCHITECTURE.md "GPU model".
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "gpu/slots.h"

int gpu_slot_format(char *buf, size_t size, unsigned gpu, int mig)
{
        int n;

        if (mig < 0)
                n = snprintf(buf, size, "%u", gpu);
        else
                n = snprintf(buf, size, "%u.%d", gpu, mig);
        if (n < 0 || (size_t)n >= size)
                return -ENOBUFS;
        return 0;
}

/* A decimal number without sign or leading zeros; advances *p. */
static int parse_index(const char **p, unsigned *ret)
{
        const char *s = *p;
        unsigned long v = 0;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        if (s[0] == '0' && s[1] >= '0' && s[1] <= '9')
                return -EINVAL;
        while (*s >= '0' && *s <= '9') {
                v = v * 10 + (unsigned long)(*s - '0');
                if (v > INT_MAX)
                        return -EINVAL;
                s++;
        }
        *p = s;
        *ret = (unsigned)v;
        return 0;
}

int gpu_slot_parse(const char *s, unsigned *ret_gpu, int *ret_mig)
{
        unsigned gpu, mig;

        if (!s || parse_index(&s, &gpu) < 0)
                return -EINVAL;
        if (*s == '\0') {
                *ret_gpu = gpu;
                *ret_mig = -1;
                return 0;
        }
        if (*s != '.')
                return -EINVAL;
        s++;
        if (parse_index(&s, &mig) < 0 || *s != '\0')
                return -EINVAL;
        *ret_gpu = gpu;
        *ret_mig = (int)mig;
        return 0;
}

double gpu_mig_weight(unsigned compute_slices, unsigned total_slices)
{
        if (total_slices == 0 || compute_slices == 0 || compute_slices > total_slices)
                return -1.0;
        return (double)compute_slices / (double)total_slices;
}

int gpu_profile_from_name(const char *device_name, char *buf, size_t size)
{
        const char *p = NULL, *q;
        size_t len;

        if (!device_name)
                return -ENOENT;
        /* The last " MIG " or a name that starts with "MIG ". */
        for (q = device_name; (q = strstr(q, "MIG ")); q++)
                if (q == device_name || q[-1] == ' ')
                        p = q + 4;
        if (!p)
                return -ENOENT;
        while (*p == ' ')
                p++;
        len = strcspn(p, " ");
        if (len == 0)
                return -ENOENT;
        if (len >= size)
                return -ENOBUFS;
        memcpy(buf, p, len);
        buf[len] = '\0';
        return 0;
}

/* "<digits><letter>" at *p, e.g. "3g"; advances past the letter. */
static int parse_count(const char **p, char letter, unsigned *ret)
{
        const char *s = *p;
        unsigned v = 0;

        if (*s < '1' || *s > '9')
                return -EINVAL;
        while (*s >= '0' && *s <= '9') {
                v = v * 10 + (unsigned)(*s - '0');
                if (v > 64)
                        return -EINVAL;
                s++;
        }
        if (*s != letter)
                return -EINVAL;
        *p = s + 1;
        *ret = v;
        return 0;
}

int gpu_profile_slices(const char *profile, unsigned *ret_gi_slices, unsigned *ret_compute_slices)
{
        const char *p = profile;
        unsigned c = 0, g;

        if (!p)
                return -EINVAL;
        /* "<c>c." comes first when the compute instance is smaller than its GPU instance. */
        const char *pc = strchr(p, 'c'), *pg = strchr(p, 'g');
        if (pc && pg && pc < pg) {
                if (parse_count(&p, 'c', &c) < 0 || *p++ != '.')
                        return -EINVAL;
        }
        if (parse_count(&p, 'g', &g) < 0)
                return -EINVAL;
        if (*p != '\0' && *p != '.' && *p != '+')
                return -EINVAL;
        if (c == 0)
                c = g;
        if (c > g)
                return -EINVAL;
        *ret_gi_slices = g;
        *ret_compute_slices = c;
        return 0;
}

int gpu_detect_process_stride(const unsigned char *a, const unsigned char *b, size_t size,
                              unsigned count)
{
        static const size_t strides[] = {16, 24, 32};
        size_t end = 0;

        if (count == 0)
                return -EPROTO;
        for (size_t i = size; i > 0; i--)
                if (a[i - 1] == b[i - 1]) {
                        end = i;
                        break;
                }
        for (size_t i = 0; i < sizeof(strides) / sizeof(strides[0]); i++) {
                size_t s = strides[i];
                if (s * count > size)
                        break;
                if (end == s * count)
                        return (int)s;
        }
        return -EPROTO;
}
