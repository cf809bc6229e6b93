/*
 * presence-service.h - the presence service (sdk/include/ucd/presence.h) over
 * the model's presence: the function table the daemon registers as core
 * service "presence", with the core_model as its impl.
 */
#ifndef CORE_MODEL_PRESENCE_SERVICE_H
#define CORE_MODEL_PRESENCE_SERVICE_H

#include <ucd/presence.h>

/* The table; static, valid for the process's life. */
const ucd_presence_v1 *core_presence_service_iface(void);

#endif /* CORE_MODEL_PRESENCE_SERVICE_H */
