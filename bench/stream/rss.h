/*
 * rss.h - the peak memory of another process while something runs.
 *
 * A sampler thread reads /proc/<pid>/status every few milliseconds and keeps
 * the largest VmRSS (all resident pages, including the pages of files the
 * process has mapped and touched) and RssAnon (its heap and other anonymous
 * memory: what a stream's buffers cost) it saw.
 *
 *   rss_sampler *s;  rss_sampler_start(pid, &s, &err);
 *   ... run the streams ...
 *   rss_peak peak;  rss_sampler_stop(s, &peak);
 */
#ifndef ECLUSE_BENCH_STREAM_RSS_H
#define ECLUSE_BENCH_STREAM_RSS_H

#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

typedef struct rss_peak {
    uint64_t vm_rss_kib;   /* VmRSS */
    uint64_t rss_anon_kib; /* RssAnon */
    unsigned samples;      /* how many reads of the status file succeeded */
} rss_peak;

/* One reading of /proc/<pid>/status now. Errors: ECL_E_NOT_FOUND (no such
 * process), ECL_E_INPUT (the file lacks VmRSS or RssAnon). */
int rss_read(pid_t pid, rss_peak *out, ecl_err *err) ECL_WUR;

typedef struct rss_sampler rss_sampler;

/* Start sampling `pid` every `period_ms` (>= 1) on a new thread.
 * Errors: those of rss_read (the first sample is taken before the thread
 * starts), ECL_E_INTERNAL (no thread). */
int rss_sampler_start(pid_t pid, unsigned period_ms, rss_sampler **out, ecl_err *err) ECL_WUR;

/* Stop the thread, put the peaks in *out and free the sampler. */
void rss_sampler_stop(rss_sampler *s, rss_peak *out);

#endif
