/*
 * cpu.h - the CPU time the whole machine spent while something ran.
 *
 * Every process of a measurement (the gateways, the reader threads, the
 * kernel's network work) shares the same cores, so the figure that explains
 * a throughput is the machine's busy time per byte moved, read from the
 * first line of /proc/stat (user, nice, system, irq, softirq and steal
 * ticks are busy; idle and iowait are not).
 *
 *   cpu_ticks a, b;  cpu_ticks_read(&a, &err);  run();  cpu_ticks_read(&b, &err);
 *   double busy = cpu_busy_seconds(&a, &b);    // core-seconds, all cores
 */
#ifndef ECLUSE_BENCH_STREAM_CPU_H
#define ECLUSE_BENCH_STREAM_CPU_H

#include <stdint.h>

#include "common/err.h"

typedef struct cpu_ticks {
    uint64_t busy; /* ticks of all cores, since boot */
    uint64_t all;
} cpu_ticks;

/* Now. Errors: ECL_E_NOT_FOUND (no /proc/stat), ECL_E_INPUT (its first line
 * is not "cpu" and at least eight counters). */
int cpu_ticks_read(cpu_ticks *out, ecl_err *err) ECL_WUR;

/* Core-seconds of busy time from a to b. */
double cpu_busy_seconds(const cpu_ticks *a, const cpu_ticks *b);

/* Cores online. */
int cpu_count(void);

#endif
