/*
 * sim-api.c - the "pbx" service table (ucd_pbx_v1): checks, then sim-calls.c.
 *
 * Every function checks in the same order, so one mistake gives one error:
 *   arguments missing                     UCD_E_INVALID
 *   unknown line                          UCD_E_NOT_FOUND
 *   line lacks the capability             UCD_E_UNSUPPORTED
 *   line out of service, module stopped   UCD_E_UNAVAILABLE
 *   unknown call, or a call on another line  UCD_E_NOT_FOUND
 *   call in the wrong state               UCD_E_INVALID
 * Accepted requests return UCD_OK at once; their events follow from the main
 * loop (sim_done), never from inside the call.
 */
#include <string.h>

#include "sim.h"

/* What a line in limited_lines can do; other lines can do everything but conferences. */
#define SIM_CAPS_LIMITED (UCD_PBX_CAP_MONITOR | UCD_PBX_CAP_DIAL | UCD_PBX_CAP_HANGUP)
#define SIM_CAPS_FULL                                                                              \
    (UCD_PBX_CAP_MONITOR | UCD_PBX_CAP_DIAL | UCD_PBX_CAP_ANSWER | UCD_PBX_CAP_HANGUP |            \
     UCD_PBX_CAP_HOLD | UCD_PBX_CAP_TRANSFER_BLIND | UCD_PBX_CAP_TRANSFER_CONSULT |                \
     UCD_PBX_CAP_DEFLECT | UCD_PBX_CAP_PICKUP | UCD_PBX_CAP_DTMF | UCD_PBX_CAP_FORWARD |           \
     UCD_PBX_CAP_DND)

/* Finds the line and checks it may do `cap` now. */
static int check_line(sim *s, const char *address, uint64_t cap, sim_line **out)
{
    if (address == NULL)
        return UCD_E_INVALID;
    sim_line *line = sim_line_find(s, address);
    if (line == NULL)
        return UCD_E_NOT_FOUND;
    if ((line->caps & cap) != cap)
        return UCD_E_UNSUPPORTED;
    if (line->offline || !s->running)
        return UCD_E_UNAVAILABLE;
    sim_clock_sync(s);
    *out = line;
    return UCD_OK;
}

/* Finds a call on the line, in `state` (or in either of two states). */
static int check_call(sim *s, const sim_line *line, const char *call_id, uint32_t state,
                      uint32_t other_state, sim_leg **out)
{
    if (call_id == NULL)
        return UCD_E_INVALID;
    sim_leg *leg = sim_leg_find(s, call_id);
    if (leg == NULL || leg->line != line)
        return UCD_E_NOT_FOUND;
    if (leg->state != state && leg->state != other_state)
        return UCD_E_INVALID;
    *out = leg;
    return UCD_OK;
}

static int valid_number(const char *number)
{
    return number != NULL && *number != '\0' && strlen(number) < 64;
}

/* The first live call on the line: hangup accepts every state but final ones. */
static int check_live_call(sim *s, const sim_line *line, const char *call_id, sim_leg **out)
{
    if (call_id == NULL)
        return UCD_E_INVALID;
    sim_leg *leg = sim_leg_find(s, call_id);
    if (leg == NULL || leg->line != line)
        return UCD_E_NOT_FOUND;
    *out = leg; /* legs in the table are live */
    return UCD_OK;
}

static int api_list_lines(void *impl, ucd_pbx_line_cb cb, void *user_data)
{
    sim *s = impl;

    if (cb == NULL)
        return UCD_E_INVALID;
    for (guint i = 0; i < s->lines->len; i++) {
        sim_line *line = g_ptr_array_index(s->lines, i);
        const ucd_pbx_line info = {
            .struct_size = sizeof(info),
            .state = line->shown_state,
            .address = line->address,
            .number = line->address,
            .name = line->name,
            .capabilities = line->caps,
        };
        if (cb(&info, user_data) != 0)
            break;
    }
    return UCD_OK;
}

static uint64_t api_capabilities(void *impl, const char *address)
{
    sim_line *line = sim_line_find(impl, address);
    return line != NULL ? line->caps : 0;
}

static void copy_call_id(const sim_leg *leg, char *call_id, size_t size)
{
    if (call_id != NULL && size > 0)
        g_strlcpy(call_id, leg->call_id, size);
}

static int api_dial(void *impl, const char *address, const char *number, char *call_id,
                    size_t call_id_size)
{
    sim *s = impl;
    sim_line *line;
    int rc = check_line(s, address, UCD_PBX_CAP_DIAL, &line);

    if (rc != UCD_OK)
        return rc;
    if (!valid_number(number) || strcmp(number, address) == 0)
        return UCD_E_INVALID;
    copy_call_id(sim_dial(s, line, number, NULL), call_id, call_id_size);
    sim_done(s);
    return UCD_OK;
}

static int api_answer(void *impl, const char *address, const char *call_id)
{
    sim *s = impl;
    sim_line *line;
    sim_leg *leg;
    int rc = check_line(s, address, UCD_PBX_CAP_ANSWER, &line);

    if (rc == UCD_OK)
        rc = check_call(s, line, call_id, UCD_CALL_OFFERING, UCD_CALL_OFFERING, &leg);
    if (rc != UCD_OK)
        return rc;
    sim_answer(s, leg);
    sim_done(s);
    return UCD_OK;
}

static int api_hangup(void *impl, const char *address, const char *call_id)
{
    sim *s = impl;
    sim_line *line;
    sim_leg *leg;
    int rc = check_line(s, address, UCD_PBX_CAP_HANGUP, &line);

    if (rc == UCD_OK)
        rc = check_live_call(s, line, call_id, &leg);
    if (rc != UCD_OK)
        return rc;
    sim_hangup(s, leg);
    sim_done(s);
    return UCD_OK;
}

static int api_hold(void *impl, const char *address, const char *call_id)
{
    sim *s = impl;
    sim_line *line;
    sim_leg *leg;
    int rc = check_line(s, address, UCD_PBX_CAP_HOLD, &line);

    if (rc == UCD_OK)
        rc = check_call(s, line, call_id, UCD_CALL_CONNECTED, UCD_CALL_CONNECTED, &leg);
    if (rc != UCD_OK)
        return rc;
    sim_hold(s, leg);
    sim_done(s);
    return UCD_OK;
}

static int api_retrieve(void *impl, const char *address, const char *call_id)
{
    sim *s = impl;
    sim_line *line;
    sim_leg *leg;
    int rc = check_line(s, address, UCD_PBX_CAP_HOLD, &line);

    if (rc == UCD_OK)
        rc = check_call(s, line, call_id, UCD_CALL_HELD, UCD_CALL_HELD, &leg);
    if (rc != UCD_OK)
        return rc;
    sim_retrieve(s, leg);
    sim_done(s);
    return UCD_OK;
}

static int api_transfer_blind(void *impl, const char *address, const char *call_id,
                              const char *number)
{
    sim *s = impl;
    sim_line *line;
    sim_leg *leg;
    int rc = check_line(s, address, UCD_PBX_CAP_TRANSFER_BLIND, &line);

    if (rc == UCD_OK)
        rc = check_call(s, line, call_id, UCD_CALL_CONNECTED, UCD_CALL_HELD, &leg);
    if (rc != UCD_OK)
        return rc;
    if (!valid_number(number) || strcmp(number, address) == 0)
        return UCD_E_INVALID;
    sim_transfer_blind(s, leg, number);
    sim_done(s);
    return UCD_OK;
}

static int api_transfer_consult(void *impl, const char *address, const char *held_call_id,
                                const char *active_call_id)
{
    sim *s = impl;
    sim_line *line;
    sim_leg *held, *active;
    int rc = check_line(s, address, UCD_PBX_CAP_TRANSFER_CONSULT, &line);

    if (rc == UCD_OK)
        rc = check_call(s, line, held_call_id, UCD_CALL_HELD, UCD_CALL_HELD, &held);
    if (rc == UCD_OK)
        rc = check_call(s, line, active_call_id, UCD_CALL_CONNECTED, UCD_CALL_RINGBACK, &active);
    if (rc != UCD_OK)
        return rc;
    sim_transfer_consult(s, held, active);
    sim_done(s);
    return UCD_OK;
}

static int api_deflect(void *impl, const char *address, const char *call_id, const char *number)
{
    sim *s = impl;
    sim_line *line;
    sim_leg *leg;
    int rc = check_line(s, address, UCD_PBX_CAP_DEFLECT, &line);

    if (rc == UCD_OK)
        rc = check_call(s, line, call_id, UCD_CALL_OFFERING, UCD_CALL_OFFERING, &leg);
    if (rc != UCD_OK)
        return rc;
    if (!valid_number(number) || strcmp(number, address) == 0)
        return UCD_E_INVALID;
    sim_deflect(s, leg, number, UCD_FORWARD_REASON_DEFLECT);
    sim_done(s);
    return UCD_OK;
}

static sim_leg *first_offering(const sim_line *line)
{
    for (guint i = 0; i < line->legs->len; i++) {
        sim_leg *leg = g_ptr_array_index(line->legs, i);
        if (leg->state == UCD_CALL_OFFERING)
            return leg;
    }
    return NULL;
}

static int api_pickup(void *impl, const char *address, const char *target_address)
{
    sim *s = impl;
    sim_line *line;
    int rc = check_line(s, address, UCD_PBX_CAP_PICKUP, &line);

    if (rc != UCD_OK)
        return rc;
    if (target_address == NULL)
        return UCD_E_INVALID;
    sim_line *target = sim_line_find(s, target_address);
    if (target == NULL)
        return UCD_E_NOT_FOUND;
    sim_leg *ringing = target != line ? first_offering(target) : NULL;
    if (ringing == NULL)
        return UCD_E_INVALID; /* nothing rings there */
    sim_pickup(s, line, ringing);
    sim_done(s);
    return UCD_OK;
}

static int api_send_dtmf(void *impl, const char *address, const char *call_id, const char *digits)
{
    sim *s = impl;
    sim_line *line;
    sim_leg *leg;
    int rc = check_line(s, address, UCD_PBX_CAP_DTMF, &line);

    if (rc == UCD_OK)
        rc = check_call(s, line, call_id, UCD_CALL_CONNECTED, UCD_CALL_CONNECTED, &leg);
    if (rc != UCD_OK)
        return rc;
    if (digits == NULL || *digits == '\0' || strspn(digits, "0123456789*#ABCD") != strlen(digits))
        return UCD_E_INVALID;
    /* Tones are not call state: nothing is published, only counted. */
    s->stats.dtmf_digits += strlen(digits);
    ucd_debug(s->host, s->self, "call %s on %s: DTMF %s", leg->call_id, address, digits);
    return UCD_OK;
}

static int api_set_forward(void *impl, const char *address, uint32_t type, const char *number)
{
    sim *s = impl;
    sim_line *line;
    int rc = check_line(s, address, UCD_PBX_CAP_FORWARD, &line);

    if (rc != UCD_OK)
        return rc;
    if (type > UCD_FORWARD_NO_ANSWER)
        return UCD_E_INVALID;
    if (number != NULL && *number == '\0')
        number = NULL;
    if (number != NULL && (!valid_number(number) || strcmp(number, address) == 0))
        return UCD_E_INVALID;
    g_free(line->forward[type]);
    line->forward[type] = g_strdup(number);
    sim_line_publish(s, line);
    sim_done(s);
    return UCD_OK;
}

static int api_set_dnd(void *impl, const char *address, int on)
{
    sim *s = impl;
    sim_line *line;
    int rc = check_line(s, address, UCD_PBX_CAP_DND, &line);

    if (rc != UCD_OK)
        return rc;
    line->dnd = on != 0;
    sim_line_publish(s, line);
    sim_done(s);
    return UCD_OK;
}

const ucd_pbx_v1 sim_pbx_table = {
    .struct_size = sizeof(ucd_pbx_v1),
    .list_lines = api_list_lines,
    .capabilities = api_capabilities,
    .dial = api_dial,
    .answer = api_answer,
    .hangup = api_hangup,
    .hold = api_hold,
    .retrieve = api_retrieve,
    .transfer_blind = api_transfer_blind,
    .transfer_consult = api_transfer_consult,
    .deflect = api_deflect,
    .pickup = api_pickup,
    .send_dtmf = api_send_dtmf,
    .set_forward = api_set_forward,
    .set_dnd = api_set_dnd,
};

uint64_t sim_caps_for(int limited)
{
    return limited ? SIM_CAPS_LIMITED : SIM_CAPS_FULL;
}
