/*
 * call-control-commands.c - ucctl's call-control test dialer: dial, answer,
 * hangup, hold, retrieve, transfer, consult-transfer, deflect, pickup, dtmf,
 * forward, dnd.
 *
 * Each command turns its words into a ucd_call_request on a line (actor
 * NULL: ucctl speaks for an admin) and hands it to the calls service's
 * control(), which resolves the line, checks its capability and asks the
 * driver; its message is the command's error, word for word. Only the words
 * that are ucctl's own (forward's type, dnd's on/off) are checked here.
 */
#include <string.h>

#include "call-control-commands.h"
#include "command-args.h"
#include "control.h"

typedef struct {
    const char *name;
    const char *usage;
    const char *help;
    int argc; /* words including the command */
    ucd_call_action action;
} call_op;

static const call_op ops[] = {
    {"dial", "dial LINE NUMBER", "make a call from LINE", 3, UCD_CALL_DIAL},
    {"answer", "answer LINE CALL", "answer a ringing call", 3, UCD_CALL_ANSWER},
    {"hangup", "hangup LINE CALL", "end a call", 3, UCD_CALL_HANGUP},
    {"hold", "hold LINE CALL", "put a call on hold", 3, UCD_CALL_HOLD},
    {"retrieve", "retrieve LINE CALL", "take a call off hold", 3, UCD_CALL_RETRIEVE},
    {"transfer", "transfer LINE CALL NUMBER", "blind transfer", 4, UCD_CALL_TRANSFER},
    {"consult-transfer", "consult-transfer LINE HELD ACTIVE",
     "connect the held call with the active one and leave", 4, UCD_CALL_CONSULT_TRANSFER},
    {"deflect", "deflect LINE CALL NUMBER", "send a ringing call elsewhere", 4, UCD_CALL_DEFLECT},
    {"pickup", "pickup LINE TARGET_LINE", "take a call ringing on TARGET_LINE", 3, UCD_CALL_PICKUP},
    {"dtmf", "dtmf LINE CALL DIGITS", "send DTMF digits", 4, UCD_CALL_DTMF},
    {"forward", "forward LINE unconditional|busy|no_answer NUMBER|off",
     "set or clear call forwarding", 4, UCD_CALL_FORWARD},
    {"dnd", "dnd LINE on|off", "do not disturb", 3, UCD_CALL_DND},
};

/* ucd_forward_type (pbx.h) of a word; -1 when unknown. */
static int forward_type(const char *word)
{
    static const char *const types[] = {"unconditional", "busy", "no_answer"};
    for (int t = 0; t < (int)G_N_ELEMENTS(types); t++)
        if (strcmp(word, types[t]) == 0)
            return t;
    return -1;
}

/* The request `argv` asks for, or FALSE after replying what is wrong. */
static gboolean build_request(const call_op *op, const char *const *argv, ucd_call_request *req,
                              ucd_reply *r)
{
    *req = (ucd_call_request){.struct_size = sizeof *req, .action = op->action, .line = argv[1]};
    switch (op->action) {
    case UCD_CALL_DIAL:
        req->number = argv[2];
        break;
    case UCD_CALL_TRANSFER:
    case UCD_CALL_DEFLECT:
        req->call_id = argv[2];
        req->number = argv[3];
        break;
    case UCD_CALL_CONSULT_TRANSFER:
        req->call_id = argv[2];
        req->other_call_id = argv[3];
        break;
    case UCD_CALL_PICKUP:
        req->target = argv[2];
        break;
    case UCD_CALL_DTMF:
        req->call_id = argv[2];
        req->digits = argv[3];
        break;
    case UCD_CALL_FORWARD:
        if (forward_type(argv[2]) < 0) {
            core_reply_error(r, "forward: type '%s' is none of unconditional, busy, no_answer",
                             argv[2]);
            return FALSE;
        }
        req->forward_type = (uint32_t)forward_type(argv[2]);
        req->number = strcmp(argv[3], "off") == 0 ? NULL : argv[3];
        break;
    case UCD_CALL_DND:
        if (strcmp(argv[2], "on") != 0 && strcmp(argv[2], "off") != 0) {
            core_reply_error(r, "dnd: say on or off, not '%s'", argv[2]);
            return FALSE;
        }
        req->on = strcmp(argv[2], "on") == 0;
        break;
    default: /* answer, hangup, hold, retrieve */
        req->call_id = argv[2];
        break;
    }
    return TRUE;
}

static int cmd_call_control(int argc, const char *const *argv, ucd_reply *r, void *ud)
{
    core_model_commands *c = ud;
    const call_op *op = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(ops) && !op; i++)
        if (strcmp(ops[i].name, argv[0]) == 0)
            op = &ops[i];
    ucd_call_request req;
    ucd_service s;
    if (!op)
        return command_fail(r, UCD_E_INVALID, "unknown call-control command '%s'", argv[0]);
    if (argc != op->argc)
        return command_fail(r, UCD_E_INVALID, "usage: %s", op->usage);
    if (!build_request(op, argv, &req, r))
        return UCD_E_INVALID;
    if (!core_service(c, UCD_CALLS_SERVICE, UCD_CALLS_MAJOR, &s, r))
        return UCD_E_UNAVAILABLE;
    ucd_call_result res = {.struct_size = sizeof res};
    int rc = ((const ucd_calls_v1 *)s.iface)->control(s.impl, &req, &res);
    if (rc != UCD_OK)
        return command_fail(r, rc, "%s", res.message[0] ? res.message : ucd_strerror(rc));
    if (op->action == UCD_CALL_DIAL && res.call_id[0])
        core_reply_field(r, "call_id", res.call_id);
    core_reply_text(r, "%s: accepted by %s", op->name, res.driver);
    return UCD_OK;
}

void call_control_register(core_control *ctl, core_model_commands *c)
{
    for (size_t i = 0; i < G_N_ELEMENTS(ops); i++)
        core_control_register(ctl, "core", ops[i].name, ops[i].usage, ops[i].help, cmd_call_control,
                              c);
}
