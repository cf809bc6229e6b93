/*
 * contact-bench.h - what the contact sources' benchmarks share: a sink that
 * only counts, the process's memory figures and the load average every
 * figure in docs/PERFORMANCE.md is printed with.
 */
#ifndef UCD_CONTACT_BENCH_H
#define UCD_CONTACT_BENCH_H

#include <stdint.h>

#include <ucd/contacts.h>

typedef struct counting_sink {
    uint64_t added, skipped, numbers;
} counting_sink;

/* The sink's functions; a counting_sink is the sink_impl. It never
 * cancels and ignores progress. */
extern const ucd_contact_sink counting_sink_iface;

/* A field of /proc/PID/status ("VmHWM", "VmRSS") in KiB; `pid` "self" for
 * this process. -1 when unknown. */
long bench_proc_kib(const char *pid, const char *field);

/* Resets this process's peak RSS (VmHWM) to its RSS now, so the next peak
 * is one run's (Linux's /proc/self/clear_refs). */
void bench_reset_peak(void);

/* The line of /proc/loadavg, without its line end (free with g_free). */
char *bench_loadavg(void);

#endif /* UCD_CONTACT_BENCH_H */
