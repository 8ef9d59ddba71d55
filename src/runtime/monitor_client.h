/* monitor_client.h — what attach.c and logs.c share: waiting on a
 * container's monitor without polling. Internal to src/runtime/. */
#ifndef BERTH_RUNTIME_MONITOR_CLIENT_H
#define BERTH_RUNTIME_MONITOR_CLIENT_H

#include "runtime/internal.h"

/* A connection to the monitor of the container in state_dir that receives no
 * output, only the EXIT frame (QUIET). -1 when no monitor listens. Wait for
 * POLLIN on it, then call rt_monitor_watch_ended. */
int rt_monitor_watch(const char *state_dir);
/* Consumes what the watch has to read; true once the monitor sent EXIT or
 * hung up (it writes exit.json before either). */
bool rt_monitor_watch_ended(int sock);

#endif
