/*
 * pami-real-test.c - the channel model on the pjsip-*.txt captures: real AMI
 * sessions of an Asterisk (master, AMI 13.0.0) with three real PJSIP phones,
 * alice 201, bob 202 and carol 203 (../captures/RECORDED.md says how each was
 * made and what surprised).
 *
 * For every call the test states what ucd must make of it, line by line:
 * each leg's states with direction, cause, remote party, requested number
 * and related line, and the line states. Legs are compared per line, so the
 * order of events across channels (which a real Asterisk does not keep, see
 * pjsip-basic vs pjsip-basic-2) does not matter, but the order on one line
 * does. Leg strings are the replay's text without "leg ", flags and
 * conversation (conversations are counted separately).
 */
#include <string.h>

#include <ucd/event.h>

#include "ami-model.h"
#include "model-replay.h"

/* The phones' lines (model-replay.c maps PJSIP/alice..carol and hints 20x@internal). */
static const char *const phone_lines[] = {"201", "202", "203"};

static const char *const basic_legs[] = {
    "201 PJSIP/alice idle>dialing dir=internal cause=none remote=-/- req=202 rel=-",
    "201 PJSIP/alice dialing>dialing dir=internal cause=none remote=202/Bob req=202 rel=-",
    "201 PJSIP/alice dialing>ringback dir=internal cause=none remote=202/Bob req=202 rel=-",
    "202 PJSIP/bob idle>offering dir=internal cause=none remote=201/Alice req=- rel=-",
    "202 PJSIP/bob offering>connected dir=internal cause=none remote=201/Alice req=- rel=-",
    "201 PJSIP/alice ringback>connected dir=internal cause=none remote=202/Bob req=202 rel=-",
    "201 PJSIP/alice connected>disconnected dir=internal cause=normal remote=202/Bob req=202 rel=-",
    "202 PJSIP/bob connected>disconnected dir=internal cause=normal remote=201/Alice req=- rel=-",
    NULL,
};
static const char *const basic_lines[] = {
    "201 dialing>busy", "202 ringing>busy", "201 busy>idle", "202 busy>idle", NULL,
};

static const char *const busy_legs[] = {
    "201 PJSIP/alice idle>dialing dir=internal cause=none remote=-/- req=202 rel=-",
    "201 PJSIP/alice dialing>dialing dir=internal cause=none remote=202/Bob req=202 rel=-",
    "201 PJSIP/alice dialing>ringback dir=internal cause=none remote=202/Bob req=202 rel=-",
    "202 PJSIP/bob idle>offering dir=internal cause=none remote=201/Alice req=- rel=-",
    "202 PJSIP/bob offering>disconnected dir=internal cause=busy remote=201/Alice req=- rel=-",
    "201 PJSIP/alice ringback>disconnected dir=internal cause=busy remote=202/Bob req=202 rel=-",
    NULL,
};
static const char *const busy_lines[] = {
    "201 dialing>busy",
    "202 ringing>idle",
    "201 busy>idle",
    NULL,
};

static const char *const cancel_legs[] = {
    "201 PJSIP/alice idle>dialing dir=internal cause=none remote=-/- req=202 rel=-",
    "201 PJSIP/alice dialing>dialing dir=internal cause=none remote=202/Bob req=202 rel=-",
    "201 PJSIP/alice dialing>ringback dir=internal cause=none remote=202/Bob req=202 rel=-",
    "202 PJSIP/bob idle>offering dir=internal cause=none remote=201/Alice req=- rel=-",
    "202 PJSIP/bob offering>disconnected dir=internal cause=no_answer remote=201/Alice req=- rel=-",
    "201 PJSIP/alice ringback>disconnected dir=internal cause=normal remote=202/Bob req=202 rel=-",
    NULL,
};
static const char *const cancel_lines[] = {
    "201 dialing>busy",
    "202 ringing>idle",
    "201 busy>idle",
    NULL,
};

static const char *const noanswer_legs[] = {
    "201 PJSIP/alice idle>dialing dir=internal cause=none remote=-/- req=202 rel=-",
    "201 PJSIP/alice dialing>dialing dir=internal cause=none remote=202/Bob req=202 rel=-",
    "201 PJSIP/alice dialing>ringback dir=internal cause=none remote=202/Bob req=202 rel=-",
    "202 PJSIP/bob idle>offering dir=internal cause=none remote=201/Alice req=- rel=-",
    "201 PJSIP/alice ringback>disconnected dir=internal cause=normal remote=202/Bob req=202 rel=-",
    "202 PJSIP/bob offering>disconnected dir=internal cause=no_answer remote=201/Alice req=- rel=-",
    NULL,
};
static const char *const noanswer_lines[] = {
    "201 dialing>busy",
    "201 busy>idle",
    "202 ringing>idle",
    NULL,
};

static const char *const blind_transfer_legs[] = {
    "201 PJSIP/alice idle>dialing dir=internal cause=none remote=-/- req=202 rel=-",
    "201 PJSIP/alice dialing>dialing dir=internal cause=none remote=202/Bob req=202 rel=-",
    "201 PJSIP/alice dialing>ringback dir=internal cause=none remote=202/Bob req=202 rel=-",
    "202 PJSIP/bob idle>offering dir=internal cause=none remote=201/Alice req=- rel=-",
    "202 PJSIP/bob offering>connected dir=internal cause=none remote=201/Alice req=- rel=-",
    "201 PJSIP/alice ringback>connected dir=internal cause=none remote=202/Bob req=202 rel=-",
    "202 PJSIP/bob connected>transferred dir=internal cause=transferred remote=201/Alice req=- "
    "rel=203",
    "201 PJSIP/alice connected>dialing dir=internal cause=none remote=202/Bob req=202 rel=-",
    "201 PJSIP/alice dialing>dialing dir=internal cause=none remote=203/Carol req=202 rel=-",
    "201 PJSIP/alice dialing>ringback dir=internal cause=none remote=203/Carol req=202 rel=-",
    "203 PJSIP/carol idle>offering dir=internal cause=transferred remote=201/Alice req=202 rel=202",
    "203 PJSIP/carol offering>connected dir=internal cause=none remote=201/Alice req=202 rel=202",
    "201 PJSIP/alice ringback>connected dir=internal cause=none remote=203/Carol req=202 rel=-",
    "201 PJSIP/alice connected>disconnected dir=internal cause=normal remote=203/Carol req=202 "
    "rel=-",
    "203 PJSIP/carol connected>disconnected dir=internal cause=normal remote=201/Alice req=202 "
    "rel=202",
    NULL,
};
static const char *const blind_transfer_lines[] = {
    "201 dialing>busy",
    "202 ringing>busy",
    "202 busy>idle",
    "203 ringing>busy",
    "201 busy>idle",
    "203 busy>idle",
    NULL,
};

static const char *const blind_transfer_ami_legs[] = {
    "201 PJSIP/alice idle>dialing dir=internal cause=none remote=-/- req=202 rel=-",
    "201 PJSIP/alice dialing>dialing dir=internal cause=none remote=202/Bob req=202 rel=-",
    "201 PJSIP/alice dialing>ringback dir=internal cause=none remote=202/Bob req=202 rel=-",
    "202 PJSIP/bob idle>offering dir=internal cause=none remote=201/Alice req=- rel=-",
    "202 PJSIP/bob offering>connected dir=internal cause=none remote=201/Alice req=- rel=-",
    "201 PJSIP/alice ringback>connected dir=internal cause=none remote=202/Bob req=202 rel=-",
    "202 PJSIP/bob connected>transferred dir=internal cause=transferred remote=201/Alice req=- "
    "rel=203",
    "201 PJSIP/alice connected>dialing dir=internal cause=none remote=202/Bob req=202 rel=-",
    "201 PJSIP/alice dialing>dialing dir=internal cause=none remote=203/Carol req=202 rel=-",
    "201 PJSIP/alice dialing>ringback dir=internal cause=none remote=203/Carol req=202 rel=-",
    "203 PJSIP/carol idle>offering dir=internal cause=transferred remote=201/Alice req=202 rel=202",
    "203 PJSIP/carol offering>connected dir=internal cause=none remote=201/Alice req=202 rel=202",
    "201 PJSIP/alice ringback>connected dir=internal cause=none remote=203/Carol req=202 rel=-",
    "203 PJSIP/carol connected>disconnected dir=internal cause=normal remote=201/Alice req=202 "
    "rel=202",
    "201 PJSIP/alice connected>disconnected dir=internal cause=normal remote=203/Carol req=202 "
    "rel=-",
    NULL,
};
static const char *const blind_transfer_ami_lines[] = {
    "201 dialing>busy",
    "202 ringing>busy",
    "202 busy>idle",
    "203 ringing>busy",
    "203 busy>idle",
    "201 busy>idle",
    NULL,
};

static const char *const attended_transfer_legs[] = {
    "201 PJSIP/alice idle>dialing dir=internal cause=none remote=-/- req=202 rel=-",
    "202 PJSIP/bob idle>offering dir=internal cause=none remote=201/Alice req=- rel=-",
    "201 PJSIP/alice dialing>ringback dir=internal cause=none remote=202/Bob req=202 rel=-",
    "202 PJSIP/bob offering>connected dir=internal cause=none remote=201/Alice req=- rel=-",
    "201 PJSIP/alice ringback>connected dir=internal cause=none remote=202/Bob req=202 rel=-",
    "202 PJSIP/bob connected>held dir=internal cause=none remote=201/Alice req=- rel=-",
    "203 PJSIP/carol idle>offering dir=internal cause=none remote=202/Bob req=- rel=-",
    "202 PJSIP/bob held>held dir=internal cause=none remote=203/Carol req=- rel=-",
    "203 PJSIP/carol offering>connected dir=internal cause=none remote=202/Bob req=- rel=-",
    "201 PJSIP/alice connected>connected dir=internal cause=transferred remote=202/Bob req=202 "
    "rel=202",
    "202 PJSIP/bob held>transferred dir=internal cause=transferred remote=203/Carol req=- rel=-",
    "201 PJSIP/alice connected>connected dir=internal cause=none remote=203/Carol req=202 rel=202",
    "203 PJSIP/carol connected>connected dir=internal cause=none remote=201/Alice req=- rel=-",
    "203 PJSIP/carol connected>disconnected dir=internal cause=normal remote=201/Alice req=- rel=-",
    "201 PJSIP/alice connected>disconnected dir=internal cause=normal remote=203/Carol req=202 "
    "rel=202",
    NULL,
};
static const char *const attended_transfer_lines[] = {
    "201 dialing>busy", "202 ringing>busy", "201 busy>held",
    "203 ringing>busy", "201 held>busy",    "202 busy>idle",
    "203 busy>idle",    "201 busy>idle",    NULL,
};

static const char *const pickup_legs[] = {
    "201 PJSIP/alice idle>dialing dir=internal cause=none remote=-/- req=202 rel=-",
    "201 PJSIP/alice dialing>dialing dir=internal cause=none remote=202/Bob req=202 rel=-",
    "201 PJSIP/alice dialing>ringback dir=internal cause=none remote=202/Bob req=202 rel=-",
    "202 PJSIP/bob idle>offering dir=internal cause=none remote=201/Alice req=- rel=-",
    "203 PJSIP/carol idle>connected dir=internal cause=picked_up remote=201/Alice req=202 rel=202",
    "202 PJSIP/bob offering>disconnected dir=internal cause=picked_up remote=201/Alice req=- "
    "rel=203",
    "201 PJSIP/alice ringback>ringback dir=internal cause=none remote=203/Carol req=202 rel=-",
    "201 PJSIP/alice ringback>connected dir=internal cause=none remote=203/Carol req=202 rel=-",
    "203 PJSIP/carol connected>disconnected dir=internal cause=normal remote=201/Alice req=202 "
    "rel=202",
    "201 PJSIP/alice connected>disconnected dir=internal cause=normal remote=203/Carol req=202 "
    "rel=-",
    NULL,
};
static const char *const pickup_lines[] = {
    "201 dialing>busy", "202 ringing>idle", "203 busy>idle", "201 busy>idle", NULL,
};

static const char *const hold_legs[] = {
    "201 PJSIP/alice idle>dialing dir=internal cause=none remote=-/- req=202 rel=-",
    "201 PJSIP/alice dialing>dialing dir=internal cause=none remote=202/Bob req=202 rel=-",
    "201 PJSIP/alice dialing>ringback dir=internal cause=none remote=202/Bob req=202 rel=-",
    "202 PJSIP/bob idle>offering dir=internal cause=none remote=201/Alice req=- rel=-",
    "202 PJSIP/bob offering>connected dir=internal cause=none remote=201/Alice req=- rel=-",
    "201 PJSIP/alice ringback>connected dir=internal cause=none remote=202/Bob req=202 rel=-",
    "202 PJSIP/bob connected>held dir=internal cause=none remote=201/Alice req=- rel=-",
    "202 PJSIP/bob held>connected dir=internal cause=none remote=201/Alice req=- rel=-",
    "201 PJSIP/alice connected>disconnected dir=internal cause=normal remote=202/Bob req=202 rel=-",
    "202 PJSIP/bob connected>disconnected dir=internal cause=normal remote=201/Alice req=- rel=-",
    NULL,
};
static const char *const hold_lines[] = {
    "201 dialing>busy",
    "202 ringing>busy",
    "201 busy>held",
    "201 held>busy",
    "201 busy>idle",
    "202 busy>idle",
    NULL,
};

static const char *const queue_legs[] = {
    "201 PJSIP/alice idle>dialing dir=outbound cause=none remote=-/- req=700 rel=-",
    "203 PJSIP/carol idle>offering dir=internal cause=none remote=201/Alice req=- rel=-",
    "201 PJSIP/alice dialing>ringback dir=internal cause=none remote=203/Carol req=700 rel=-",
    "201 PJSIP/alice ringback>dialing dir=internal cause=none remote=202/Bob req=700 rel=-",
    "201 PJSIP/alice dialing>ringback dir=internal cause=none remote=202/Bob req=700 rel=-",
    "202 PJSIP/bob idle>offering dir=internal cause=none remote=201/Alice req=700 rel=-",
    "203 PJSIP/carol offering>connected dir=internal cause=none remote=201/Alice req=700 rel=-",
    "201 PJSIP/alice ringback>ringback dir=internal cause=none remote=203/Carol req=700 rel=-",
    "202 PJSIP/bob offering>disconnected dir=internal cause=picked_up remote=201/Alice req=700 "
    "rel=-",
    "201 PJSIP/alice ringback>connected dir=internal cause=none remote=203/Carol req=700 rel=-",
    "201 PJSIP/alice connected>disconnected dir=internal cause=normal remote=203/Carol req=700 "
    "rel=-",
    "203 PJSIP/carol connected>disconnected dir=internal cause=normal remote=201/Alice req=700 "
    "rel=-",
    NULL,
};
static const char *const queue_lines[] = {
    "201 dialing>busy", "203 ringing>busy", "202 ringing>idle",
    "201 busy>idle",    "203 busy>idle",    NULL,
};

/* Click-to-dial: alice's phone rings and answers first; for her that is all
 * dialling (her own call), connected only once bob answers. The Originate
 * was another client's (no expectation): the requested number 202 comes from
 * the first Exten of her channel after the Originate's answered DialEnd (her
 * DialBegin of bob; before, "s"), as Asterisk's CDR dst (issue 12 item 17).
 * carol's Originates (to 201) never answered: her channel never left "s",
 * nothing names 201 but the OriginateResponse, so no requested number. */
static const char *const originate_legs[] = {
    "201 PJSIP/alice idle>dialing dir=outbound cause=none remote=202/Call 202 req=- rel=-",
    "201 PJSIP/alice dialing>dialing dir=internal cause=none remote=202/Call 202 req=202 rel=-",
    "201 PJSIP/alice dialing>dialing dir=internal cause=none remote=202/Bob req=202 rel=-",
    "201 PJSIP/alice dialing>ringback dir=internal cause=none remote=202/Bob req=202 rel=-",
    "202 PJSIP/bob idle>offering dir=internal cause=none remote=202/Call 202 req=- rel=-",
    "202 PJSIP/bob offering>connected dir=internal cause=none remote=202/Call 202 req=- rel=-",
    "201 PJSIP/alice ringback>connected dir=internal cause=none remote=202/Bob req=202 rel=-",
    "202 PJSIP/bob connected>disconnected dir=internal cause=normal remote=202/Call 202 req=- "
    "rel=-",
    "201 PJSIP/alice connected>disconnected dir=internal cause=normal remote=202/Bob req=202 "
    "rel=-",
    "203 PJSIP/carol idle>dialing dir=outbound cause=none remote=-/- req=- rel=-",
    "203 PJSIP/carol dialing>disconnected dir=outbound cause=busy remote=-/- req=- rel=-",
    "203 PJSIP/carol idle>dialing dir=outbound cause=none remote=-/- req=- rel=-",
    "203 PJSIP/carol dialing>disconnected dir=outbound cause=no_answer remote=-/- req=- rel=-",
    NULL,
};
static const char *const originate_lines[] = {
    "201 dialing>ringing", "201 ringing>busy", "202 ringing>busy",
    "202 busy>idle",       "201 busy>idle",    "203 ringing>idle",
    "203 idle>ringing",    "203 ringing>idle", NULL,
};

static const char *const dnd_cf_legs[] = {
    "201 PJSIP/alice idle>dialing dir=internal cause=none remote=-/- req=202 rel=-",
    "201 PJSIP/alice dialing>disconnected dir=internal cause=busy remote=-/- req=202 rel=-",
    "201 PJSIP/alice idle>dialing dir=internal cause=none remote=-/- req=202 rel=-",
    "201 PJSIP/alice dialing>dialing dir=internal cause=none remote=202/- req=202 rel=-",
    "201 PJSIP/alice dialing>dialing dir=internal cause=none remote=203/Carol req=202 rel=-",
    "201 PJSIP/alice dialing>ringback dir=internal cause=none remote=203/Carol req=202 rel=-",
    "203 PJSIP/carol idle>offering dir=internal cause=forwarded remote=201/Alice req=202 rel=202",
    "203 PJSIP/carol offering>connected dir=internal cause=none remote=201/Alice req=202 rel=202",
    "201 PJSIP/alice ringback>connected dir=internal cause=none remote=203/Carol req=202 rel=-",
    "203 PJSIP/carol connected>disconnected dir=internal cause=normal remote=201/Alice req=202 "
    "rel=202",
    "201 PJSIP/alice connected>disconnected dir=internal cause=normal remote=203/Carol req=202 "
    "rel=-",
    NULL,
};
static const char *const dnd_cf_lines[] = {
    "201 dialing>busy",
    "201 busy>idle",
    "201 idle>busy",
    "203 ringing>busy",
    "203 busy>idle",
    "201 busy>idle",
    NULL,
};

static const char *const shutdown_legs[] = {
    "201 PJSIP/alice idle>dialing dir=internal cause=none remote=-/- req=202 rel=-",
    "202 PJSIP/bob idle>offering dir=internal cause=none remote=201/Alice req=- rel=-",
    "201 PJSIP/alice dialing>ringback dir=internal cause=none remote=202/Bob req=202 rel=-",
    "202 PJSIP/bob offering>connected dir=internal cause=none remote=201/Alice req=- rel=-",
    "201 PJSIP/alice ringback>connected dir=internal cause=none remote=202/Bob req=202 rel=-",
    "201 PJSIP/alice connected>disconnected dir=internal cause=normal remote=202/Bob req=202 rel=-",
    "202 PJSIP/bob connected>disconnected dir=internal cause=normal remote=201/Alice req=- rel=-",
    NULL,
};
static const char *const shutdown_lines[] = {
    "201 dialing>busy", "202 ringing>busy", "201 busy>idle", "202 busy>idle", NULL,
};
/* ---- helpers ------------------------------------------------------------------------- */

/* The replay's changes for `line` ("leg" or "line" ones, by `kind`) in the
 * expectations' form: no "leg "/"line " prefix, no flags/conversation, and
 * no first report of a line's state ("unknown>..."; it depends on which
 * device or hint event comes first). */
/* "201 PJSIP/alice dialing>dialing ...": a far-end update, not a new state. */
static gboolean is_update(const char *change)
{
    g_auto(GStrv) f = g_strsplit(change, " ", 4);
    if (f[0] == NULL || f[1] == NULL || f[2] == NULL)
        return FALSE;
    g_auto(GStrv) states = g_strsplit(f[2], ">", 2);
    return states[1] != NULL && strcmp(states[0], states[1]) == 0;
}

static GPtrArray *changes_of(const replay *r, const char *kind, const char *line,
                             gboolean skip_updates)
{
    g_autofree char *prefix = g_strdup_printf("%s %s ", kind, line);
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < r->out->len; i++) {
        const char *text = r->out->pdata[i];
        if (!g_str_has_prefix(text, prefix) || strstr(text, " unknown>") != NULL)
            continue;
        char *copy = g_strdup(text + strlen(kind) + 1);
        char *tail = strstr(copy, " flags=0 conv=");
        if (tail != NULL)
            *tail = '\0';
        if (skip_updates && is_update(copy))
            g_free(copy);
        else
            g_ptr_array_add(out, copy);
    }
    return out;
}

/* `skip_updates`: compare state changes only (when a far end's name or
 * number is told depends on the order of events across channels). */
static void assert_line_changes(const replay *r, const char *kind, const char *line,
                                const char *const *expected, gboolean skip_updates)
{
    g_autoptr(GPtrArray) got = changes_of(r, kind, line, skip_updates);
    guint n = 0;
    for (guint i = 0; expected[i] != NULL; i++) {
        if (!g_str_has_prefix(expected[i], line) || expected[i][strlen(line)] != ' ' ||
            (skip_updates && is_update(expected[i])))
            continue;
        if (n >= got->len || strcmp(got->pdata[n], expected[i]) != 0)
            replay_dump(r);
        g_assert_cmpuint(n, <, got->len);
        g_assert_cmpstr(got->pdata[n], ==, expected[i]);
        n++;
    }
    if (n != got->len)
        replay_dump(r);
    g_assert_cmpuint(got->len, ==, n);
}

/* Replays `capture` with normalized channel names and checks every phone
 * line against `legs` and `lines`; the capture ends with every call over. */
static void check_capture(const char *capture, const char *const *legs, const char *const *lines,
                          guint expected_conversations)
{
    replay *r = replay_new();
    r->normalize = TRUE;
    replay_load(r, capture, NULL);
    replay_feed(r, r->messages);
    for (gsize i = 0; i < G_N_ELEMENTS(phone_lines); i++) {
        assert_line_changes(r, "leg", phone_lines[i], legs, lines == NULL);
        if (lines != NULL)
            assert_line_changes(r, "line", phone_lines[i], lines, FALSE);
        g_assert_cmpuint(pami_model_line_state(r->model, phone_lines[i]), ==, UCD_LINE_IDLE);
    }
    g_assert_cmpuint(pami_model_leg_count(r->model), ==, 0);
    replay_free(r);

    r = replay_capture(capture, NULL); /* conversation ids are not normalized */
    g_assert_cmpuint(replay_conversations(r), ==, expected_conversations);
    replay_free(r);
}

/* ---- the calls ----------------------------------------------------------------------- */

/* alice dials 202; bob's channel starts in Exten "s" and later has an empty
 * Exten: the requested number still comes from alice's dial. */
static void test_basic(void)
{
    check_capture("pjsip-basic.txt", basic_legs, basic_lines, 1);
}

/* The same call recorded again (queue module loaded, so other events in
 * another order), and twice more with session filters (Filter action,
 * Login Events: without dialplan): every leg must go through the same
 * states. Far-end updates and line states are not compared: when the
 * names are told and where ExtensionStatus comes depend on the order. */
static void test_basic_other_runs(void)
{
    check_capture("pjsip-basic-2.txt", basic_legs, NULL, 1);
    check_capture("pjsip-filtered.txt", basic_legs, NULL, 1);
    check_capture("pjsip-filtered-events.txt", basic_legs, NULL, 1);
}

/* bob's phone rejects with 486: Cause 17 + TechCause 486 -> busy on both. */
static void test_busy(void)
{
    check_capture("pjsip-busy.txt", busy_legs, busy_lines, 1);
}

/* alice gives up while bob rings: Cause 127 on both channels. The callee's
 * leg is no_answer (DialStatus CANCEL); alice's own end is normal (TechCause
 * 487: her INVITE was cancelled), not a failure. */
static void test_cancel(void)
{
    check_capture("pjsip-cancel.txt", cancel_legs, cancel_lines, 1);
}

/* Dial's timeout: DialStatus NOANSWER, the callee's Hangup has Cause 0. */
static void test_noanswer(void)
{
    check_capture("pjsip-noanswer.txt", noanswer_legs, noanswer_lines, 1);
}

/* bob REFERs alice to 203; alice's same channel dials carol. bob's leg ends
 * transferred (related 203) in spite of the Unhold it gets without a Hold;
 * carol's leg is a transfer target (cause transferred, related 202), one
 * conversation. The AMI BlindTransfer gives the same legs. */
static void test_blind_transfer(void)
{
    check_capture("pjsip-blind-transfer.txt", blind_transfer_legs, blind_transfer_lines, 1);
    check_capture("pjsip-blind-transfer-ami.txt", blind_transfer_ami_legs, blind_transfer_ami_lines,
                  1);
}

/* Atxfer through Local/203@internal: bob's and carol's channels go Ringing
 * before the DialBegin that names them, yet both are internal callees;
 * bob ends transferred; alice and carol end talking; one conversation with
 * the Local legs. */
static void test_attended_transfer(void)
{
    check_capture("pjsip-attended-transfer.txt", attended_transfer_legs, attended_transfer_lines,
                  1);
}

/* carol dials *8 while bob rings: her call to the pickup code is held back
 * (a pickup code), and becomes one leg in alice's conversation once the
 * Pickup names it (cause picked_up, related 202); bob's ringing leg ends
 * picked_up; alice is connected although her DialEnd ANSWER names carol's
 * channel, not bob's. One conversation. */
static void test_pickup(void)
{
    check_capture("pjsip-pickup.txt", pickup_legs, pickup_lines, 1);
}

/* bob's phone holds: Event Hold on bob's channel (his leg held), the
 * ONHOLD device state and hint 16 on alice's line (she hears music). */
static void test_hold(void)
{
    check_capture("pjsip-hold.txt", hold_legs, hold_lines, 1);
}

/* A ring-all queue: bob and carol ring; carol answers; bob's leg ends
 * picked_up (Cause 26 answered elsewhere), even with two DialEnd CANCEL. */
static void test_queue(void)
{
    check_capture("pjsip-queue.txt", queue_legs, queue_lines, 1);
}

/* Click-to-dial from alice (Originate: DialBegin without Channel:), then
 * Originates carol rejects (busy) and does not answer (no_answer): three
 * conversations. OriginateResponse itself is the driver's business. */
static void test_originate(void)
{
    check_capture("pjsip-originate.txt", originate_legs, originate_lines, 3);
}

/* DND/202 makes the dialplan answer Busy: alice's leg ends busy without a
 * callee. CF/202 = 203 forwards through Local/203@internal: carol's leg is
 * a forward target (cause forwarded, related 202). */
static void test_dnd_cf(void)
{
    check_capture("pjsip-dnd-cf.txt", dnd_cf_legs, dnd_cf_lines, 2);
}

/* core stop now: Asterisk hangs the channels up (normal) before Shutdown. */
static void test_shutdown(void)
{
    check_capture("pjsip-shutdown.txt", shutdown_legs, shutdown_lines, 1);
}

/* A session that logs in mid-call (after a link loss): CoreShowChannels
 * makes both legs appear connected (internal; alice requested 202, from
 * her channel's Dial and Exten), lines leave out_of_service, the hangup
 * ends them normally. */
static const char *const resync_legs[] = {
    "201 PJSIP/alice idle>connected dir=internal cause=none remote=202/Bob req=202 rel=-",
    "202 PJSIP/bob idle>connected dir=internal cause=none remote=201/Alice req=- rel=-",
    "201 PJSIP/alice connected>disconnected dir=internal cause=normal remote=202/Bob req=202 rel=-",
    "202 PJSIP/bob connected>disconnected dir=internal cause=normal remote=201/Alice req=- rel=-",
    NULL,
};
static const char *const resync_lines[] = {
    "201 out_of_service>busy", "201 busy>idle",           "202 out_of_service>busy",
    "202 busy>idle",           "203 out_of_service>idle", NULL,
};

static void test_resync(void)
{
    replay *r = replay_new();
    r->normalize = TRUE;
    pami_model_link_down(r->model, 0); /* as the driver does before it connects */
    replay_load(r, "pjsip-resync.txt", NULL);
    replay_feed(r, r->messages);
    for (gsize i = 0; i < G_N_ELEMENTS(phone_lines); i++) {
        assert_line_changes(r, "leg", phone_lines[i], resync_legs, FALSE);
        assert_line_changes(r, "line", phone_lines[i], resync_lines, FALSE);
    }
    g_assert_cmpuint(pami_model_leg_count(r->model), ==, 0);
    g_assert_cmpuint(replay_conversations(r), ==, 1);
    replay_free(r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pami-real/basic", test_basic);
    g_test_add_func("/pami-real/basic-other-runs", test_basic_other_runs);
    g_test_add_func("/pami-real/busy", test_busy);
    g_test_add_func("/pami-real/cancel", test_cancel);
    g_test_add_func("/pami-real/noanswer", test_noanswer);
    g_test_add_func("/pami-real/blind-transfer", test_blind_transfer);
    g_test_add_func("/pami-real/attended-transfer", test_attended_transfer);
    g_test_add_func("/pami-real/pickup", test_pickup);
    g_test_add_func("/pami-real/hold", test_hold);
    g_test_add_func("/pami-real/queue", test_queue);
    g_test_add_func("/pami-real/originate", test_originate);
    g_test_add_func("/pami-real/dnd-cf", test_dnd_cf);
    g_test_add_func("/pami-real/shutdown", test_shutdown);
    g_test_add_func("/pami-real/resync", test_resync);
    return g_test_run();
}
