/* rss.c - peak VmRSS / RssAnon of a process (see rss.h). */
#include "bench/stream/rss.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int rss_read(pid_t pid, rss_peak *out, ecl_err *err)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return ecl_fail(err, ECL_E_NOT_FOUND, "%s: %s", path, strerror(errno));
    int have_vm = 0, have_anon = 0;
    unsigned long long v;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "VmRSS: %llu kB", &v) == 1) {
            out->vm_rss_kib = v;
            have_vm = 1;
        } else if (sscanf(line, "RssAnon: %llu kB", &v) == 1) {
            out->rss_anon_kib = v;
            have_anon = 1;
        }
    }
    fclose(f);
    if (!have_vm || !have_anon)
        return ecl_fail(err, ECL_E_INPUT, "%s: no %s line", path, have_vm ? "RssAnon" : "VmRSS");
    out->samples = 1;
    return 0;
}

struct rss_sampler {
    pid_t pid;
    unsigned period_ms;
    pthread_t thread;
    pthread_mutex_t lock;
    int stop;
    rss_peak peak;
};

static void keep_peak(rss_peak *peak, const rss_peak *now)
{
    if (now->vm_rss_kib > peak->vm_rss_kib)
        peak->vm_rss_kib = now->vm_rss_kib;
    if (now->rss_anon_kib > peak->rss_anon_kib)
        peak->rss_anon_kib = now->rss_anon_kib;
    peak->samples++;
}

static void *sample(void *arg)
{
    rss_sampler *s = arg;
    struct timespec pause = {0, (long)s->period_ms * 1000000L};
    for (;;) {
        pthread_mutex_lock(&s->lock);
        int stop = s->stop;
        pthread_mutex_unlock(&s->lock);
        if (stop)
            return NULL;
        rss_peak now;
        /* The process may have gone away: keep what was seen. */
        if (rss_read(s->pid, &now, NULL) == 0) {
            pthread_mutex_lock(&s->lock);
            keep_peak(&s->peak, &now);
            pthread_mutex_unlock(&s->lock);
        }
        nanosleep(&pause, NULL);
    }
}

int rss_sampler_start(pid_t pid, unsigned period_ms, rss_sampler **out, ecl_err *err)
{
    rss_sampler *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    s->pid = pid;
    s->period_ms = period_ms ? period_ms : 1;
    if (rss_read(pid, &s->peak, err) != 0) {
        free(s);
        return -1;
    }
    pthread_mutex_init(&s->lock, NULL);
    if (pthread_create(&s->thread, NULL, sample, s) != 0) {
        pthread_mutex_destroy(&s->lock);
        free(s);
        return ecl_fail(err, ECL_E_INTERNAL, "cannot start the sampler thread");
    }
    *out = s;
    return 0;
}

void rss_sampler_stop(rss_sampler *s, rss_peak *out)
{
    pthread_mutex_lock(&s->lock);
    s->stop = 1;
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    *out = s->peak;
    pthread_mutex_destroy(&s->lock);
    free(s);
}
