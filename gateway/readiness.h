/*
 * readiness.h - telling the service manager what state the gateway is in.
 *
 * Under systemd (Type=notify), the unit waits for READY=1 before it counts
 * the gateway as started, and hears RELOADING=1 ... READY=1 around a SIGHUP
 * reload and STOPPING=1 at a stop. Messages go to the datagram socket named
 * in NOTIFY_SOCKET (libsystemd's sd_notify); without that variable (run by
 * hand, or by a test harness) each call does nothing.
 *
 * A message that cannot be sent is logged as a warning and the gateway goes
 * on: readiness is news for the service manager, not a condition of serving.
 */
#ifndef ECLUSE_GATEWAY_READINESS_H
#define ECLUSE_GATEWAY_READINESS_H

/* The gateway listens and its audit trail is open: READY=1 with its status. */
void gateway_notify_ready(const char *site, int port);

/* A SIGHUP reload begins: RELOADING=1 (with MONOTONIC_USEC, as systemd asks). */
void gateway_notify_reloading(void);

/* A reload ended, done or refused: READY=1 again, the status saying which. */
void gateway_notify_reloaded(int ok);

/* A stop begins: STOPPING=1. */
void gateway_notify_stopping(void);

#endif
