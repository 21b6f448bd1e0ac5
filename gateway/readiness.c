/* readiness.c - sd_notify(3) messages for systemd's Type=notify. */
#include "gateway/readiness.h"

#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "common/log.h"

static void send_state(const char *state)
{
    /* unset_environment 0: a reload or stop later still finds the socket. */
    int rc = sd_notify(0, state);
    if (rc < 0) {
        char why[64];
        snprintf(why, sizeof(why), "%s", strerror(-rc));
        ecl_log(ECL_LOG_WARN, "notify.failed", "socket", "NOTIFY_SOCKET", "error", why, NULL);
    }
}

void gateway_notify_ready(const char *site, int port)
{
    char state[256];
    snprintf(state, sizeof(state), "READY=1\nSTATUS=serving site %s on port %d", site, port);
    send_state(state);
}

void gateway_notify_reloading(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    char state[96];
    snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)now.tv_sec * 1000000ULL + (unsigned long long)now.tv_nsec / 1000);
    send_state(state);
}

void gateway_notify_reloaded(int ok)
{
    send_state(ok ? "READY=1\nSTATUS=serving; reloaded"
                  : "READY=1\nSTATUS=serving; the last reload was refused, nothing changed");
}

void gateway_notify_stopping(void)
{
    send_state("STOPPING=1\nSTATUS=stopping");
}
