/*
 * call-control.h - call control through the model: the one place that turns
 * a ucd_call_request (sdk/include/ucd/calls.h) into a call of a PBX driver.
 *
 * Every front end (ucctl, the calls service's control(), the client API to
 * come) asks here, so a request is checked the same way whoever sends it:
 * the line (or the user's line) is resolved through the directory, the actor's
 * permission is checked, the driver must be running and the line must have
 * the action's capability; only then is the driver asked. The messages in
 * ucd_call_result are the ones ucctl prints.
 */
#ifndef CORE_MODEL_CALL_CONTROL_H
#define CORE_MODEL_CALL_CONTROL_H

#include <ucd/calls.h>

#include "model.h"

/* Runs one call-control request on the main loop. The line is req->line
 * ("DRIVER/ADDRESS", or an address unique over all drivers), or when that is
 * NULL one of req->user's lines (id or login): for actions on a call the line
 * that carries req->call_id, else the first line in the order the user's
 * directory entry lists them that has the action's capability. When both are
 * given the line must be the user's. PICKUP's target is a line or a user
 * (the call ringing on one of their lines). req->actor NULL acts as an admin;
 * a user (id or login) may act on their own lines, and on another user's only
 * PICKUP (permission level TEAM on the target's user) and FORWARD and DND
 * (PERSONAL on the line's user), as the permissions object given to
 * core_model_set_permissions() says (none: nothing on another's line). Returns UCD_OK once the
 * driver accepted the request, else UCD_E_INVALID (the request: struct sizes, action, missing or
 * bad fields, an ambiguous address), UCD_E_NOT_FOUND (line, user, call),
 * UCD_E_DENIED (the actor, or the PBX refused), UCD_E_UNSUPPORTED (the
 * capability), UCD_E_UNAVAILABLE (driver not running, PBX unreachable) or a
 * driver's other answer. `res` may be NULL; else its struct_size must be at
 * least the 1.0 size, and it gets the line and driver acted on, DIAL's new
 * call id when the driver gives one, and on failure a message for people.
 * A larger req->struct_size (a newer caller) is accepted: only the members
 * known here are read. */
int core_call_control(core_model *m, const ucd_call_request *req, ucd_call_result *res);

#endif /* CORE_MODEL_CALL_CONTROL_H */
