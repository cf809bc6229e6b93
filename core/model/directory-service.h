/*
 * directory-service.h - the directory service (sdk/include/ucd/directory.h)
 * over the model's directory: the function table the daemon registers as
 * core service "directory", with the core_model as its impl.
 */
#ifndef CORE_MODEL_DIRECTORY_SERVICE_H
#define CORE_MODEL_DIRECTORY_SERVICE_H

#include <ucd/directory.h>

/* The table; static, valid for the process's life. */
const ucd_directory_v1 *core_directory_service_iface(void);

#endif /* CORE_MODEL_DIRECTORY_SERVICE_H */
