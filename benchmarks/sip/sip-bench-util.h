/*
 * sip-bench-util.h - what the two pbx-sip benchmarks that run the real ucd
 * share: the latency-tap's output, stopping ucd while this process keeps
 * answering SIP, and reading a process's memory from /proc.
 */
#ifndef SIP_BENCH_UTIL_H
#define SIP_BENCH_UTIL_H

#include "harness.h"

#include <glib.h>

/* One line of the latency-tap fixture's file (benchmarks/sip/latency-tap.c). */
typedef enum tap_kind { TAP_START, TAP_CALL, TAP_LINE } tap_kind;

typedef struct tap_record {
    gint64 t_ns; /* CLOCK_MONOTONIC when the bus delivered the event */
    tap_kind kind;
    char *name;  /* the conversation id (TAP_CALL) or the line (TAP_LINE) */
    guint state; /* ucd_call_state or ucd_line_state */
} tap_record;

/* CLOCK_MONOTONIC in nanoseconds: the clock the tap stamps with. */
gint64 bench_now_ns(void);

/* Reads the tap's file: an array of tap_record, in the order written
 * (g_ptr_array_unref frees it). NULL when the file cannot be read. */
GPtrArray *tap_read(const char *path);

/* "PREFIX0001;PREFIX0002;..." for COUNT lines (g_free). */
char *bench_line_list(const char *prefix, int count);

/* The `[module latency-tap]` section writing to DIR/tap.txt; its path in *path. */
char *bench_tap_section(harness *h, char **path);

/* Stops ucd with SIGTERM while the default main context keeps running, so a
 * SIP server in this process can still answer the driver's un-SUBSCRIBEs.
 * Returns ucd's exit status (-1 when it had to be killed). */
int bench_stop_ucd(harness *h);

/* A "VmRSS"/"VmHWM"-like field of /proc/PID/status in KiB, -1 when unknown. */
long bench_proc_kib(harness *h, const char *field);

#endif
