/* cpu.c - machine-wide busy time from /proc/stat (see cpu.h). */
#include "bench/stream/cpu.h"

#include <stdio.h>
#include <unistd.h>

int cpu_ticks_read(cpu_ticks *out, ecl_err *err)
{
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL)
        return ecl_fail(err, ECL_E_NOT_FOUND, "/proc/stat: cannot open it");
    unsigned long long v[8];
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n != 8)
        return ecl_fail(err, ECL_E_INPUT, "/proc/stat: the first line is not 'cpu' and 8 counters");
    /* user nice system idle iowait irq softirq steal */
    out->busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    out->all = out->busy + v[3] + v[4];
    return 0;
}

double cpu_busy_seconds(const cpu_ticks *a, const cpu_ticks *b)
{
    long hz = sysconf(_SC_CLK_TCK);
    return (double)(b->busy - a->busy) / (double)(hz > 0 ? hz : 100);
}

int cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}
