/*
 * calls-service.h - the calls service (sdk/include/ucd/calls.h) over the
 * model's legs and conversations: the function table the daemon registers as
 * core service "calls", with the core_model as its impl.
 */
#ifndef CORE_MODEL_CALLS_SERVICE_H
#define CORE_MODEL_CALLS_SERVICE_H

#include <ucd/calls.h>

/* The table; static, valid for the process's life. */
const ucd_calls_v1 *core_calls_service_iface(void);

#endif /* CORE_MODEL_CALLS_SERVICE_H */
