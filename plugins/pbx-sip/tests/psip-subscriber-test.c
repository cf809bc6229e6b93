/*
 * psip-subscriber-test.c - the SIP layer against a real Kamailio.
 *
 * tests/peers/kamailio.sh starts Kamailio (registrar, proxy, presence server
 * publishing dialog state) and two baresip phones, alice and bob. The
 * subscriber watches both lines while alice calls bob, bob answers and alice
 * hangs up, each step driven over the phones' ctrl_tcp; the changes the
 * subscriber reports must be the real sequence Kamailio publishes, for one
 * call-id on both lines. Also: the real NOTIFY bodies saved in corpus/ parse
 * to what Kamailio meant.
 *
 *   psip-subscriber-test KAMAILIO_SH CORPUS_DIR
 */
#include "harness.h"
#include "sip-subscriber.h"

#include <stdarg.h>
#include <string.h>

/* The SIP domain tests/peers/kamailio.sh serves (its SIP_DOMAIN, checked). */
#define DOMAIN "kamailio.test"
#define ALICE  "sip:alice@" DOMAIN
#define BOB    "sip:bob@" DOMAIN
/* Generous: CI runs this beside valgrind on a loaded machine (load 10 on 2
 * cores); a NOTIFY lost there waits for SIP retransmission. */
#define WAIT_MS 30000
/* A kamailio.sh verb: its own bounds (30 s for a phone's answer, for a
 * restart) come first, so its message says what went wrong. */
#define PEER_VERB_MS 90000

static const char *peer_script;
static const char *corpus_dir;

typedef struct seen_change {
    char *line;
    char *call_id;
    psip_dialog_state from;
    psip_dialog_state to;
    psip_direction direction;
    psip_change_reason reason;
    char *remote;
    char *event; /* the terminated state's event and code */
    int code;
    psip_end_cause cause;
} seen_change;

typedef struct watch {
    GMainContext *context;
    GPtrArray *changes; /* of seen_change * */
    guint failures;
    guint accepted[2]; /* per line (alice, bob): SUBSCRIBEs and refreshes accepted */
    guint link_downs;  /* link callback transitions */
    guint link_ups;
    guint dials_ended; /* dial_end callbacks, the last one's details */
    char *dial_call_id;
    psip_dial_result dial_result;
    int dial_code;
} watch;

static void seen_change_free(gpointer data)
{
    seen_change *c = data;
    g_free(c->line);
    g_free(c->call_id);
    g_free(c->remote);
    g_free(c->event);
    g_free(c);
}

/* A watch with its own main context, made the thread default. */
static void watch_init(watch *w)
{
    *w = (watch){.context = g_main_context_new(),
                 .changes = g_ptr_array_new_with_free_func(seen_change_free)};
    g_main_context_push_thread_default(w->context);
}

static void watch_clear(watch *w)
{
    g_free(w->dial_call_id);
    g_main_context_pop_thread_default(w->context);
    g_main_context_unref(w->context);
    g_ptr_array_unref(w->changes);
}

static void on_change(const char *line_uri, const psip_line_change *change, void *user_data)
{
    watch *w = user_data;
    seen_change *c = g_new0(seen_change, 1);
    c->line = g_strdup(line_uri);
    c->call_id = g_strdup(change->call_id);
    c->from = change->from;
    c->to = change->to;
    c->direction = change->direction;
    c->reason = change->reason;
    c->event = g_strdup(change->event);
    c->code = change->code;
    c->cause = psip_line_change_end_cause(change);
    c->remote = g_strdup(change->remote_identity);
    g_test_message("%s %s: %s -> %s (event %s, code %d)", line_uri, change->call_id,
                   psip_dialog_state_name(change->from), psip_dialog_state_name(change->to),
                   change->event ? change->event : "-", change->code);
    g_ptr_array_add(w->changes, c);
}

static void on_status(const char *line_uri, psip_subscription_status status, int code,
                      void *user_data)
{
    watch *w = user_data;
    g_test_message("%s: subscription status %d (SIP %d)", line_uri, status, code);
    if (status != PSIP_SUBSCRIPTION_ACTIVE)
        w->failures++;
    else
        w->accepted[strcmp(line_uri, ALICE) == 0 ? 0 : 1]++;
}

static void on_link(gboolean up, int code, void *user_data)
{
    watch *w = user_data;
    g_test_message("link %s (SIP %d)", up ? "up" : "down", code);
    if (up)
        w->link_ups++;
    else
        w->link_downs++;
}

static void on_dial_end(const char *call_id, psip_dial_result result, int code, void *user_data)
{
    watch *w = user_data;
    g_test_message("dial %s ended: result %d, SIP %d", call_id, result, code);
    w->dials_ended++;
    g_free(w->dial_call_id);
    w->dial_call_id = g_strdup(call_id);
    w->dial_result = result;
    w->dial_code = code;
}

/* Iterates the context until `done` says so or `wait_ms` pass; FALSE on timeout. */
static gboolean run_until_ms(watch *w, gboolean (*done)(watch *, const void *), const void *arg,
                             gint64 wait_ms)
{
    gint64 deadline = g_get_monotonic_time() + wait_ms * 1000;
    while (!done(w, arg)) {
        if (g_get_monotonic_time() > deadline)
            return FALSE;
        g_main_context_iteration(w->context, FALSE);
        g_usleep(2000);
    }
    return TRUE;
}

static gboolean run_until(watch *w, gboolean (*done)(watch *, const void *), const void *arg)
{
    return run_until_ms(w, done, arg, WAIT_MS);
}

typedef struct line_state {
    const char *line;
    psip_dialog_state state;
} line_state;

static gboolean line_reached(watch *w, const void *arg)
{
    const line_state *want = arg;
    for (guint i = 0; i < w->changes->len; i++) {
        seen_change *c = g_ptr_array_index(w->changes, i);
        if (strcmp(c->line, want->line) == 0 && c->to == want->state)
            return TRUE;
    }
    return FALSE;
}

static gboolean both_reached(watch *w, psip_dialog_state state)
{
    line_state a = {ALICE, state}, b = {BOB, state};
    return run_until(w, line_reached, &a) && run_until(w, line_reached, &b);
}

static gboolean subprocess_done(watch *w, const void *arg)
{
    (void)w;
    return *(const gboolean *)arg;
}

static void on_phone_done(GObject *source, GAsyncResult *result, gpointer data)
{
    g_assert_true(g_subprocess_wait_check_finish(G_SUBPROCESS(source), result, NULL));
    *(gboolean *)data = TRUE;
}

/* "kamailio.sh VERB DIR [ARGS...]" (NULL-terminated), with the context
 * running so the subscriber answers NOTIFYs meanwhile. */
static void peer_verb(watch *w, harness_peer *peer, const char *verb, ...)
{
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, "bash");
    g_ptr_array_add(argv, (gpointer)peer_script);
    g_ptr_array_add(argv, (gpointer)verb);
    g_ptr_array_add(argv, (gpointer)harness_peer_get(peer, "SIP_DIR"));
    va_list ap;
    va_start(ap, verb);
    for (const char *arg = va_arg(ap, const char *); arg; arg = va_arg(ap, const char *))
        g_ptr_array_add(argv, (gpointer)arg);
    va_end(ap);
    g_ptr_array_add(argv, NULL);
    GError *error = NULL;
    GSubprocess *p = g_subprocess_newv((const char *const *)argv->pdata,
                                       G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error);
    g_assert_no_error(error);
    gboolean done = FALSE;
    g_subprocess_wait_check_async(p, NULL, on_phone_done, &done);
    g_assert_true(run_until_ms(w, subprocess_done, &done, PEER_VERB_MS));
    g_object_unref(p);
    g_ptr_array_unref(argv);
}

/* "kamailio.sh ua DIR PHONE COMMAND [PARAMS]". */
static void phone(watch *w, harness_peer *peer, const char *who, const char *command,
                  const char *params)
{
    peer_verb(w, peer, "ua", who, command, params, NULL);
}

static gboolean both_active(watch *w, const void *arg)
{
    return psip_subscriber_active_count((psip_subscriber *)arg) == 2 && w;
}

/* Each line's subscription refreshed at least once by the stack itself. */
static gboolean both_refreshed(watch *w, const void *arg)
{
    (void)arg;
    return w->accepted[0] >= 2 && w->accepted[1] >= 2;
}

/* A UDP port free right now, for the subscriber's own address. */
static guint16 free_udp_port(void)
{
    GSocket *s = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, 0, NULL);
    GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress *any = g_inet_socket_address_new(lo, 0);
    g_assert_true(g_socket_bind(s, any, FALSE, NULL));
    GInetSocketAddress *bound = G_INET_SOCKET_ADDRESS(g_socket_get_local_address(s, NULL));
    guint16 port = g_inet_socket_address_get_port(bound);
    g_object_unref(bound);
    g_object_unref(any);
    g_object_unref(lo);
    g_object_unref(s);
    return port;
}

/* Sends a NOTIFY for a subscription the subscriber never made to its port and
 * returns the status line of the answer (g_free), NULL when none came. */
static char *stray_notify(watch *w, guint16 port)
{
    GSocket *s = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, 0, NULL);
    GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress *any = g_inet_socket_address_new(lo, 0),
                   *to = g_inet_socket_address_new(lo, port);
    g_assert_true(g_socket_bind(s, any, FALSE, NULL));
    GInetSocketAddress *me = G_INET_SOCKET_ADDRESS(g_socket_get_local_address(s, NULL));
    guint16 my_port = g_inet_socket_address_get_port(me);
    char *msg =
        g_strdup_printf("NOTIFY sip:ucd@127.0.0.1:%u SIP/2.0\r\n"
                        "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKstray%u\r\n"
                        "Max-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=stray\r\n"
                        "To: <sip:ucd@127.0.0.1>;tag=nosuch\r\nCall-ID: never-subscribed@test\r\n"
                        "CSeq: 1 NOTIFY\r\nContact: <sip:127.0.0.1:%u>\r\nEvent: dialog\r\n"
                        "Subscription-State: active;expires=60\r\nContent-Length: 0\r\n\r\n",
                        port, my_port, my_port, my_port);
    g_assert_cmpint(g_socket_send_to(s, to, msg, strlen(msg), NULL, NULL), ==, strlen(msg));
    g_socket_set_blocking(s, FALSE);
    char buf[2048], *status = NULL;
    gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000;
    while (!status && g_get_monotonic_time() < deadline) {
        g_main_context_iteration(w->context, FALSE);
        gssize n = g_socket_receive(s, buf, sizeof buf - 1, NULL, NULL);
        if (n > 0) {
            buf[n] = '\0';
            status = g_strndup(buf, strcspn(buf, "\r\n"));
        } else {
            g_usleep(2000);
        }
    }
    g_free(msg);
    g_object_unref(me);
    g_object_unref(to);
    g_object_unref(any);
    g_object_unref(lo);
    g_object_unref(s);
    return status;
}

/* The states one line went through, for one call-id, as "a>b c>d ...". */
static char *transitions(watch *w, const char *line, const char *call_id)
{
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < w->changes->len; i++) {
        seen_change *c = g_ptr_array_index(w->changes, i);
        if (strcmp(c->line, line) != 0 || g_strcmp0(c->call_id, call_id) != 0)
            continue;
        g_string_append_printf(s, "%s%s>%s", s->len ? " " : "", psip_dialog_state_name(c->from),
                               psip_dialog_state_name(c->to));
    }
    return g_string_free(s, FALSE);
}

static const seen_change *first_change(watch *w, const char *line)
{
    for (guint i = 0; i < w->changes->len; i++) {
        seen_change *c = g_ptr_array_index(w->changes, i);
        if (strcmp(c->line, line) == 0)
            return c;
    }
    return NULL;
}

static void check_call(watch *w)
{
    const seen_change *a = first_change(w, ALICE), *b = first_change(w, BOB);
    g_assert_nonnull(a);
    g_assert_nonnull(b);
    /* One call, proxied by Kamailio: the same call-id on both lines. */
    g_assert_nonnull(a->call_id);
    g_assert_cmpstr(a->call_id, ==, b->call_id);
    g_assert_cmpint(a->direction, ==, PSIP_DIRECTION_INITIATOR);
    g_assert_cmpint(b->direction, ==, PSIP_DIRECTION_RECIPIENT);
    g_assert_true(g_str_has_prefix(a->remote, BOB));
    g_assert_true(g_str_has_prefix(b->remote, ALICE));
    /* What Kamailio really publishes: the caller's "Trying" then early, the
     * callee early from the start (callee_trying is off). A NOTIFY carries
     * the state when it is sent: on a slow machine "early" may follow
     * "Trying" so closely that the caller's first report is already early. */
    char *alice = transitions(w, ALICE, a->call_id), *bob = transitions(w, BOB, a->call_id);
    gboolean trying_seen = g_str_has_prefix(alice, "none>trying ");
    g_assert_cmpstr(alice, ==,
                    trying_seen ? "none>trying trying>early early>confirmed confirmed>terminated"
                                : "none>early early>confirmed confirmed>terminated");
    g_assert_cmpstr(bob, ==, "none>early early>confirmed confirmed>terminated");
    g_free(alice);
    g_free(bob);
    /* Nothing else happened on the lines (the idle dummy dialog is not news). */
    g_assert_cmpuint(w->changes->len, ==, trying_seen ? 7 : 6);
}

/* Kamailio and the phones, and a watch; NULL when the peer is skipped. */
static harness_peer *start_watch(watch *w, char **server)
{
    harness_peer *peer = harness_peer_start(peer_script, "SIP_DIR", NULL);
    if (!peer)
        return NULL;
    watch_init(w);
    g_assert_cmpstr(harness_peer_get(peer, "SIP_DOMAIN"), ==, DOMAIN);
    *server = g_strdup_printf("sip:%s:%s", harness_peer_get(peer, "SIP_HOST"),
                              harness_peer_get(peer, "SIP_PORT"));
    return peer;
}

/* A subscriber with `config` and every callback, watching alice and bob
 * until both subscriptions are active. */
static psip_subscriber *watch_both(watch *w, const psip_subscriber_config *config)
{
    psip_subscriber_callbacks callbacks = {.change = on_change,
                                           .status = on_status,
                                           .link = on_link,
                                           .dial_end = on_dial_end,
                                           .user_data = w};
    GError *error = NULL;
    psip_subscriber *sub = psip_subscriber_new(config, w->context, &callbacks, &error);
    g_assert_no_error(error);
    g_assert_true(psip_subscriber_add_line(sub, ALICE));
    g_assert_true(psip_subscriber_add_line(sub, BOB));
    g_assert_true(run_until(w, both_active, sub));
    return sub;
}

/* Ends a test begun with start_watch. */
static void finish(watch *w, psip_subscriber *sub, char *server, harness_peer *peer)
{
    psip_subscriber_free(sub);
    g_free(server);
    watch_clear(w);
    harness_peer_stop(peer);
}

static void test_real_call(void)
{
    watch w;
    char *server = NULL;
    harness_peer *peer = start_watch(&w, &server);
    if (!peer)
        return;
    guint16 port = free_udp_port();
    /* UDP only: the port was found free for UDP; TCP on it may be taken. */
    char *bind = g_strdup_printf("sip:127.0.0.1:%u;transport=udp", port);
    /* A short lifetime: the stack must refresh it before the call starts. */
    psip_subscriber_config config = {
        .server = server, .from = "sip:ucd@" DOMAIN, .bind = bind, .expires = 4};
    psip_subscriber *sub = watch_both(&w, &config);
    g_assert_false(psip_subscriber_add_line(sub, ALICE));
    g_assert_true(run_until(&w, both_refreshed, NULL));
    /* RFC 6665: a NOTIFY matching no subscription of ours is answered 481. */
    char *answer = stray_notify(&w, port);
    g_assert_nonnull(answer);
    g_test_message("stray NOTIFY answered: %s", answer);
    g_assert_true(g_str_has_prefix(answer, "SIP/2.0 481 ")); /* sofia says "Call Does Not Exist" */
    g_free(answer);

    phone(&w, peer, "alice", "dial", BOB);
    g_assert_true(both_reached(&w, PSIP_DIALOG_EARLY));
    phone(&w, peer, "bob", "accept", "");
    g_assert_true(both_reached(&w, PSIP_DIALOG_CONFIRMED));
    phone(&w, peer, "alice", "hangup", "");
    g_assert_true(both_reached(&w, PSIP_DIALOG_TERMINATED));
    check_call(&w);
    g_assert_cmpuint(w.failures, ==, 0);
    g_assert_cmpuint(psip_line_live_count(psip_subscriber_line(sub, ALICE)), ==, 0);

    g_free(bind);
    finish(&w, sub, server, peer);
}

static psip_doc *parse_corpus(const char *name)
{
    char *path = g_build_filename(corpus_dir, name, NULL), *body = NULL;
    gsize len = 0;
    g_assert_true(g_file_get_contents(path, &body, &len, NULL));
    GError *error = NULL;
    psip_doc *doc = psip_dialoginfo_parse(body, len, &error);
    g_assert_no_error(error);
    g_free(body);
    g_free(path);
    return doc;
}

/* Bodies Kamailio 5.6 really sent (saved from kamailio.sh's NOTIFYs, when its
 * domain was 127.0.0.1). */
static void test_real_bodies(void)
{
    psip_line *alice = psip_line_new();
    const char *files[] = {"kamailio-alice-trying.xml", "kamailio-alice-confirmed.xml"};
    const psip_dialog_state states[] = {PSIP_DIALOG_TRYING, PSIP_DIALOG_CONFIRMED};
    for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
        psip_doc *doc = parse_corpus(files[i]);
        g_assert_cmpint(doc->state, ==, PSIP_DOC_FULL);
        g_assert_cmpstr(doc->entity, ==, "sip:alice@127.0.0.1");
        g_assert_cmpuint(doc->dialogs->len, ==, 1);
        psip_dialog *d = g_ptr_array_index(doc->dialogs, 0);
        g_assert_cmpint(d->state, ==, states[i]);
        g_assert_cmpint(d->direction, ==, PSIP_DIRECTION_INITIATOR);
        g_assert_true(g_str_has_prefix(d->remote.identity, "sip:bob@127.0.0.1"));
        g_assert_cmpint(psip_line_apply(alice, doc, NULL), ==, PSIP_LINE_APPLIED);
        g_assert_cmpint(psip_line_dialog_state(alice, d->call_id), ==, states[i]);
        psip_doc_free(doc);
    }
    psip_line_free(alice);
    psip_doc *bob = parse_corpus("kamailio-bob-terminated.xml");
    psip_dialog *d = g_ptr_array_index(bob->dialogs, 0);
    g_assert_cmpint(d->state, ==, PSIP_DIALOG_TERMINATED);
    g_assert_cmpint(d->direction, ==, PSIP_DIRECTION_RECIPIENT);
    g_assert_true(g_str_has_prefix(d->remote.identity, "sip:alice@127.0.0.1"));
    psip_doc_free(bob);
}

/* ---- link loss: Kamailio halted during a call, then resumed ---------------------- */

#define KEEPALIVE_MS 1000

static gboolean link_is_down(watch *w, const void *arg)
{
    (void)arg;
    return w->link_downs > 0;
}

static gboolean link_is_up_again(watch *w, const void *arg)
{
    (void)arg;
    return w->link_ups > 0;
}

/* How many changes of `line` ended a dialog with reason link-lost. */
static guint link_lost_count(watch *w, const char *line)
{
    guint n = 0;
    for (guint i = 0; i < w->changes->len; i++) {
        seen_change *c = g_ptr_array_index(w->changes, i);
        n += strcmp(c->line, line) == 0 && c->reason == PSIP_CHANGE_LINK_LOST &&
             c->to == PSIP_DIALOG_TERMINATED;
    }
    return n;
}

typedef struct new_call {
    const char *line;
    const char *old_call_id;
} new_call;

/* A dialog other than the old call reached early on the line. */
static gboolean new_call_seen(watch *w, const void *arg)
{
    const new_call *want = arg;
    for (guint i = 0; i < w->changes->len; i++) {
        seen_change *c = g_ptr_array_index(w->changes, i);
        if (strcmp(c->line, want->line) == 0 && c->to == PSIP_DIALOG_EARLY &&
            g_strcmp0(c->call_id, want->old_call_id) != 0)
            return TRUE;
    }
    return FALSE;
}

static void test_link_loss(void)
{
    watch w;
    char *server = NULL;
    harness_peer *peer = start_watch(&w, &server);
    if (!peer)
        return;
    psip_subscriber_config config = {.server = server,
                                     .from = "sip:ucd@" DOMAIN,
                                     .keepalive_ms = KEEPALIVE_MS,
                                     .retry_min_ms = 200};
    psip_subscriber *sub = watch_both(&w, &config);

    phone(&w, peer, "alice", "dial", BOB);
    g_assert_true(both_reached(&w, PSIP_DIALOG_EARLY));
    phone(&w, peer, "bob", "accept", "");
    g_assert_true(both_reached(&w, PSIP_DIALOG_CONFIRMED));
    const seen_change *call = first_change(&w, ALICE);
    char *old_call_id = g_strdup(call->call_id);
    g_assert_cmpuint(w.link_downs, ==, 0);

    /* The server goes away during the call: the probes go unanswered, the
     * link is reported down within a few keepalives, the call ends. */
    peer_verb(&w, peer, "halt", NULL);
    g_assert_true(run_until_ms(&w, link_is_down, NULL, 3 * KEEPALIVE_MS + 1000));
    g_assert_false(psip_subscriber_link_up(sub));
    g_assert_cmpuint(link_lost_count(&w, ALICE), ==, 1);
    g_assert_cmpuint(link_lost_count(&w, BOB), ==, 1);
    g_assert_cmpuint(psip_line_live_count(psip_subscriber_line(sub, ALICE)), ==, 0);
    g_assert_cmpuint(psip_subscriber_active_count(sub), ==, 0);
    phone(&w, peer, "alice", "hangup", "");

    /* Back: one "up", both lines subscribed again, a new call is seen. */
    peer_verb(&w, peer, "resume", NULL);
    g_assert_true(run_until(&w, link_is_up_again, NULL));
    g_assert_true(run_until(&w, both_active, sub));
    g_assert_cmpuint(w.link_downs, ==, 1);
    g_assert_cmpuint(w.link_ups, ==, 1);
    g_assert_true(psip_subscriber_link_up(sub));
    phone(&w, peer, "alice", "dial", BOB);
    new_call alice_call = {ALICE, old_call_id}, bob_call = {BOB, old_call_id};
    g_assert_true(run_until(&w, new_call_seen, &alice_call));
    g_assert_true(run_until(&w, new_call_seen, &bob_call));
    phone(&w, peer, "alice", "hangup", "");

    g_free(old_call_id);
    finish(&w, sub, server, peer);
}

/* Without any peer: a server that takes the probes and never answers. The
 * unanswered probe is the link going down (no SIP code), once. */
/* A UDP socket on 127.0.0.1 that never answers: a server gone silent. */
typedef struct silent_server {
    GSocket *socket; /* non-blocking */
    char *uri;       /* "sip:127.0.0.1:PORT" */
} silent_server;

static void silent_server_open(silent_server *s)
{
    s->socket = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, 0, NULL);
    GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress *any = g_inet_socket_address_new(lo, 0);
    g_assert_true(g_socket_bind(s->socket, any, FALSE, NULL));
    g_socket_set_blocking(s->socket, FALSE);
    GSocketAddress *bound = g_socket_get_local_address(s->socket, NULL);
    s->uri = g_strdup_printf("sip:127.0.0.1:%u",
                             g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound)));
    g_object_unref(bound);
    g_object_unref(any);
    g_object_unref(lo);
}

static void silent_server_close(silent_server *s)
{
    g_object_unref(s->socket);
    g_free(s->uri);
}

/* Without any peer: a server that takes the probes and never answers. The
 * unanswered probe is the link going down (no SIP code), once. */
static void test_silent_server(void)
{
    silent_server silent;
    silent_server_open(&silent);
    const char *server = silent.uri;
    watch w;
    watch_init(&w);
    psip_subscriber_config config = {
        .server = server, .from = "sip:ucd@" DOMAIN, .keepalive_ms = KEEPALIVE_MS};
    psip_subscriber_callbacks callbacks = {
        .change = on_change, .status = on_status, .link = on_link, .user_data = &w};
    psip_subscriber *sub = psip_subscriber_new(&config, w.context, &callbacks, NULL);
    g_assert_nonnull(sub);
    g_assert_true(psip_subscriber_add_line(sub, ALICE));
    g_assert_true(psip_subscriber_link_up(sub));
    g_assert_true(run_until_ms(&w, link_is_down, NULL, 3 * KEEPALIVE_MS + 1000));
    g_assert_false(psip_subscriber_link_up(sub));
    g_assert_cmpuint(psip_subscriber_active_count(sub), ==, 0);
    /* More unanswered probes while down: still one transition. */
    run_until_ms(&w, link_is_up_again, NULL, 2 * KEEPALIVE_MS);
    g_assert_cmpuint(w.link_downs, ==, 1);
    g_assert_cmpuint(w.link_ups, ==, 0);
    psip_subscriber_free(sub);
    watch_clear(&w);
    silent_server_close(&silent);
}

/* What Kamailio 5.6 publishes when the callee refuses a ringing call (bob
 * hangs up while it rings, baresip refuses the INVITE): the ends and
 * their causes on both lines. */
static void test_rejected_call(void)
{
    watch w;
    char *server = NULL;
    harness_peer *peer = start_watch(&w, &server);
    if (!peer)
        return;
    psip_subscriber_config config = {.server = server, .from = "sip:ucd@" DOMAIN};
    psip_subscriber *sub = watch_both(&w, &config);
    phone(&w, peer, "alice", "dial", BOB);
    g_assert_true(both_reached(&w, PSIP_DIALOG_EARLY));
    phone(&w, peer, "bob", "hangup", "");
    g_assert_true(both_reached(&w, PSIP_DIALOG_TERMINATED));
    guint ended = 0;
    for (guint i = 0; i < w.changes->len; i++) {
        seen_change *c = g_ptr_array_index(w.changes, i);
        if (c->to != PSIP_DIALOG_TERMINATED)
            continue;
        g_test_message("%s ended: event %s, code %d, cause %d", c->line, c->event ? c->event : "-",
                       c->code, c->cause);
        /* pua_dialoginfo writes a bare <state>terminated</state>: no event,
         * no code, whatever the callee answered. */
        g_assert_null(c->event);
        g_assert_cmpint(c->code, ==, 0);
        g_assert_cmpint(c->from, ==, PSIP_DIALOG_EARLY);
        if (strcmp(c->line, BOB) == 0) /* a callee that never answered */
            g_assert_cmpint(c->cause, ==, PSIP_END_NO_ANSWER);
        else /* nothing tells the caller's end from hanging up itself */
            g_assert_cmpint(c->cause, ==, PSIP_END_NORMAL);
        ended++;
    }
    g_assert_cmpuint(ended, ==, 2);
    finish(&w, sub, server, peer);
}

/* ---- click-to-dial ------------------------------------------------------------------ */

static gboolean dial_ended(watch *w, const void *arg)
{
    (void)arg;
    return w->dials_ended > 0;
}

/* Changes of `line` under `call_id`. */
static guint changes_of(watch *w, const char *line, const char *call_id)
{
    guint n = 0;
    for (guint i = 0; i < w->changes->len; i++) {
        seen_change *c = g_ptr_array_index(w->changes, i);
        n += strcmp(c->line, line) == 0 && g_strcmp0(c->call_id, call_id) == 0;
    }
    return n;
}

/* alice's phone (auto-answer) is called and REFERred to bob: our own leg shows
 * on alice's line under the Call-ID psip_subscriber_dial gave, bob is
 * offered the new call, and once he answers the dial ends DONE. */
static void test_dial_call_id(void)
{
    watch w;
    char *server = NULL;
    harness_peer *peer = start_watch(&w, &server);
    if (!peer)
        return;
    psip_subscriber_config config = {.server = server, .from = "sip:ucd@" DOMAIN};
    psip_subscriber *sub = watch_both(&w, &config);
    char *call_id = NULL;
    g_assert_true(psip_subscriber_dial(sub, ALICE, BOB, &call_id));
    g_assert_nonnull(call_id);
    line_state bob_rings = {BOB, PSIP_DIALOG_EARLY};
    g_assert_true(run_until(&w, line_reached, &bob_rings));
    /* Our leg lasts until the phone's call gets a final answer. */
    g_assert_cmpuint(w.dials_ended, ==, 0);
    phone(&w, peer, "bob", "accept", "");
    g_assert_true(run_until(&w, dial_ended, NULL));
    g_assert_cmpstr(w.dial_call_id, ==, call_id);
    g_assert_cmpint(w.dial_result, ==, PSIP_DIAL_DONE);
    g_assert_cmpuint(changes_of(&w, ALICE, call_id), >, 0); /* our leg, to be ignored */
    g_assert_cmpuint(changes_of(&w, BOB, call_id), ==, 0);  /* bob's call is the phone's */
    phone(&w, peer, "bob", "hangup", "");
    g_free(call_id);
    finish(&w, sub, server, peer);
}

/* carol has no phone: Kamailio answers our INVITE 404, the dial ends
 * PHONE_FAILED with that code. */
static void test_dial_phone_failed(void)
{
    watch w;
    char *server = NULL;
    harness_peer *peer = start_watch(&w, &server);
    if (!peer)
        return;
    psip_subscriber_config config = {.server = server, .from = "sip:ucd@" DOMAIN};
    psip_subscriber *sub = watch_both(&w, &config);
    char *call_id = NULL;
    g_assert_true(psip_subscriber_dial(sub, "sip:carol@" DOMAIN, BOB, &call_id));
    g_assert_true(run_until(&w, dial_ended, NULL));
    g_assert_cmpstr(w.dial_call_id, ==, call_id);
    g_assert_cmpint(w.dial_result, ==, PSIP_DIAL_PHONE_FAILED);
    g_assert_cmpint(w.dial_code, ==, 404);
    g_free(call_id);
    finish(&w, sub, server, peer);
}

/* ---- pacing: many lines through a small subscribe window ------------------------------ */

#define PACED_LINES  200
#define PACED_WINDOW 8

/* "sip:line0001@kamailio.test"... (KAMAILIO_WATCHABLE lets Kamailio take them). */
static char *paced_line(guint i)
{
    return g_strdup_printf("sip:line%04u@" DOMAIN, i + 1);
}

static void add_paced_lines(psip_subscriber *sub)
{
    for (guint i = 0; i < PACED_LINES; i++) {
        char *uri = paced_line(i);
        g_assert_true(psip_subscriber_add_line(sub, uri));
        g_free(uri);
    }
}

/* The Call-ID of a SIP request `kind` ("SUBSCRIBE") in `datagram`, NULL for
 * anything else (new string). */
static char *request_call_id(const char *datagram, const char *kind)
{
    if (!g_str_has_prefix(datagram, kind))
        return NULL;
    char *id = NULL;
    char **rows = g_strsplit(datagram, "\r\n", -1);
    for (guint i = 0; rows[i] && !id; i++)
        if (g_ascii_strncasecmp(rows[i], "Call-ID:", 8) == 0)
            id = g_strstrip(g_strdup(rows[i] + 8));
        else if (g_ascii_strncasecmp(rows[i], "i:", 2) == 0)
            id = g_strstrip(g_strdup(rows[i] + 2));
    g_strfreev(rows);
    return id;
}

/* Without any peer: a server that takes every SUBSCRIBE and never answers.
 * With 200 lines and a window of 8, exactly 8 distinct SUBSCRIBEs reach it
 * (each retransmitted by the stack: the same Call-ID again), whatever the
 * subscriber's own counters say. */
static void test_window_holds_back(void)
{
    silent_server silent;
    silent_server_open(&silent);
    watch w;
    watch_init(&w);
    psip_subscriber_config config = {
        .server = silent.uri, .from = "sip:ucd@" DOMAIN, .subscribe_window = PACED_WINDOW};
    psip_subscriber_callbacks callbacks = {
        .change = on_change, .status = on_status, .user_data = &w};
    psip_subscriber *sub = psip_subscriber_new(&config, w.context, &callbacks, NULL);
    g_assert_nonnull(sub);
    add_paced_lines(sub);

    GHashTable *call_ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    guint datagrams = 0;
    /* Past the first retransmission (T1 = 500 ms): still the same 8. */
    gint64 until = g_get_monotonic_time() + 1200 * 1000;
    while (g_get_monotonic_time() < until) {
        g_main_context_iteration(w.context, FALSE);
        char buffer[4096];
        gssize n;
        while ((n = g_socket_receive(silent.socket, buffer, sizeof buffer - 1, NULL, NULL)) > 0) {
            buffer[n] = '\0';
            char *id = request_call_id(buffer, "SUBSCRIBE ");
            datagrams += id != NULL;
            if (id)
                g_hash_table_add(call_ids, id);
        }
        g_usleep(2000);
    }
    g_test_message("%u SUBSCRIBE datagrams, %u distinct", datagrams, g_hash_table_size(call_ids));
    g_assert_cmpuint(g_hash_table_size(call_ids), ==, PACED_WINDOW);
    g_assert_cmpuint(datagrams, >, PACED_WINDOW); /* retransmitted, not sent anew */
    psip_subscriber_stats stats;
    psip_subscriber_get_stats(sub, &stats);
    g_assert_cmpuint(stats.window, ==, PACED_WINDOW);
    g_assert_cmpuint(stats.sending, ==, PACED_WINDOW);
    g_assert_cmpuint(stats.waiting, ==, PACED_LINES - PACED_WINDOW);
    g_assert_cmpuint(w.failures, ==, 0);

    g_hash_table_destroy(call_ids);
    psip_subscriber_free(sub);
    watch_clear(&w);
    silent_server_close(&silent);
}

static gboolean all_paced_active(watch *w, const void *arg)
{
    return psip_subscriber_active_count((psip_subscriber *)arg) == PACED_LINES && w;
}

/* The window's figures once every line is up: nothing in flight or waiting,
 * at most the window (and, with this many lines, exactly it) out at once,
 * `sent` SUBSCRIBEs in all. */
static void check_window_after(psip_subscriber *sub, guint64 sent)
{
    psip_subscriber_stats stats;
    psip_subscriber_get_stats(sub, &stats);
    g_test_message("window %u: peak %u, sent %" G_GUINT64_FORMAT, stats.window, stats.peak_sending,
                   stats.sent);
    g_assert_cmpuint(stats.peak_sending, ==, PACED_WINDOW);
    g_assert_cmpuint(stats.sending, ==, 0);
    g_assert_cmpuint(stats.waiting, ==, 0);
    g_assert_cmpuint(stats.sent, ==, sent);
}

/* 200 lines at a real Kamailio through a window of 8: every one comes up,
 * never more than 8 SUBSCRIBEs unanswered; the same when the link comes
 * back after Kamailio was halted (every line subscribes anew). */
static void test_paced_lines(void)
{
    watch w;
    char *server = NULL;
    harness_peer *peer = start_watch(&w, &server);
    if (!peer)
        return;
    psip_subscriber_config config = {.server = server,
                                     .from = "sip:ucd@" DOMAIN,
                                     .keepalive_ms = KEEPALIVE_MS,
                                     .subscribe_window = PACED_WINDOW};
    psip_subscriber_callbacks callbacks = {
        .change = on_change, .status = on_status, .link = on_link, .user_data = &w};
    psip_subscriber *sub = psip_subscriber_new(&config, w.context, &callbacks, NULL);
    g_assert_nonnull(sub);
    add_paced_lines(sub);
    g_assert_true(run_until(&w, all_paced_active, sub));
    g_assert_cmpuint(w.failures, ==, 0);
    check_window_after(sub, PACED_LINES);

    peer_verb(&w, peer, "halt", NULL);
    g_assert_true(run_until_ms(&w, link_is_down, NULL, 3 * KEEPALIVE_MS + 1000));
    peer_verb(&w, peer, "resume", NULL);
    g_assert_true(run_until(&w, link_is_up_again, NULL));
    g_assert_true(run_until(&w, all_paced_active, sub));
    check_window_after(sub, 2 * PACED_LINES);
    finish(&w, sub, server, peer);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (argc < 3)
        g_error("usage: %s KAMAILIO_SH CORPUS_DIR", argv[0]);
    peer_script = argv[1];
    corpus_dir = argv[2];
    /* line0001... for the pacing test, besides alice, bob and carol. */
    g_setenv("KAMAILIO_WATCHABLE", "alice|bob|carol|line[0-9]+", TRUE);
    g_test_add_func("/psip-subscriber/real-bodies", test_real_bodies);
    g_test_add_func("/psip-subscriber/real-call", test_real_call);
    g_test_add_func("/psip-subscriber/link-loss", test_link_loss);
    g_test_add_func("/psip-subscriber/silent-server", test_silent_server);
    g_test_add_func("/psip-subscriber/rejected-call", test_rejected_call);
    g_test_add_func("/psip-subscriber/dial-call-id", test_dial_call_id);
    g_test_add_func("/psip-subscriber/dial-phone-failed", test_dial_phone_failed);
    g_test_add_func("/psip-subscriber/window-holds-back", test_window_holds_back);
    g_test_add_func("/psip-subscriber/paced-lines", test_paced_lines);
    return g_test_run();
}
