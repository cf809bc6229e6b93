/*
 * host.h - the host table: the one `ucd_host` (sdk/include/ucd/host.h) the
 * core hands to every plugin's init hook, and taking back what a module got
 * through it.
 *
 * host.c implements each function of the table on top of the core's parts
 * (log, config, bus, worker pool, control socket, the module manager's service
 * registry) and records whatever a plugin creates (subscriptions, timers, fd
 * watches, services, work queues, commands, counters) on the calling module
 * instance. That record is what lets core_host_release() remove it all when
 * the module stops, so that no callback runs into a plugin after its fini.
 * The module manager (modules.c) is the only caller of the release; the
 * core's own commands use the table's reply functions.
 */
#ifndef CORE_HOST_H
#define CORE_HOST_H

#include <ucd/host.h>

/* The host table, UCD_ABI_MAJOR.UCD_HOST_MINOR; valid for the process's life. */
const ucd_host *core_host_table(void);

/* Removes what module `p` still holds: subscriptions, commands, timers, fd
 * watches and services at once; then frees its work queues after running
 * what was submitted to them, and waits for its other pending work items
 * (dispatching the main context meanwhile, so done callbacks run). Counters
 * stay until the instance is freed. Main loop only; called after the stop
 * hook, before fini (and after an init that failed or declined). */
void core_host_release(ucd_plugin *p);

#endif /* CORE_HOST_H */
