/*
 * permissions-service.h - the permissions service
 * (sdk/include/ucd/permissions.h) over the core's permissions object
 * (permissions.h): the function table the daemon registers as core service
 * "permissions", with the core_model as its impl (the model knows the
 * permissions object, core_model_set_permissions, and resolves logins).
 */
#ifndef CORE_MODEL_PERMISSIONS_SERVICE_H
#define CORE_MODEL_PERMISSIONS_SERVICE_H

#include <ucd/permissions.h>

/* The table; static, valid for the process's life. */
const ucd_permissions_v1 *core_permissions_service_iface(void);

#endif /* CORE_MODEL_PERMISSIONS_SERVICE_H */
