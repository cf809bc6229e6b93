/*
 * hint-server.c - a SIP server shaped like Asterisk's PJSIP hints, for tests
 * (hint-server.h says what it does and why).
 */
#define SU_ROOT_MAGIC_T struct hint_server
#define NUA_MAGIC_T     struct hint_server
#define NUA_HMAGIC_T    void

#include "hint-server.h"

#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_glib.h>
#include <sofia-sip/su_tag.h>

#include <string.h>

#include <gio/gio.h>

/* What the "phone" answers the driver's INVITE with: it never sends media. */
#define PHONE_SDP                                                                                  \
    "v=0\r\n"                                                                                      \
    "o=phone 1 1 IN IP4 127.0.0.1\r\n"                                                             \
    "s=phone\r\n"                                                                                  \
    "c=IN IP4 127.0.0.1\r\n"                                                                       \
    "t=0 0\r\n"                                                                                    \
    "m=audio 9 RTP/AVP 0\r\n"                                                                      \
    "a=rtpmap:0 PCMU/8000\r\n"

typedef struct hint {
    hint_state state;
    char *caller;
    char *caller_name;
    guint version;       /* of the next document: Asterisk starts at 0 */
    nua_handle_t *sub;   /* the accepted subscription, or NULL */
    guint subscriptions; /* accepted so far */
} hint;

struct hint_server {
    GMainContext *context; /* the stack's */
    GThread *thread;       /* hint_server_new_threaded: the thread running `loop` */
    GMainLoop *loop;
    su_root_t *root;
    nua_t *nua;
    char *domain;
    char *address;
    GHashTable *hints; /* exten -> hint */
    char *refer_result;
    guint refers;
    gboolean shutdown_done;
};

static void hint_free(gpointer data)
{
    hint *h = data;
    if (h->sub)
        nua_handle_unref(h->sub);
    g_free(h->caller);
    g_free(h->caller_name);
    g_free(h);
}

static hint *hint_of(hint_server *server, const char *exten)
{
    hint *h = g_hash_table_lookup(server->hints, exten);
    if (h == NULL) {
        h = g_new0(hint, 1);
        g_hash_table_insert(server->hints, g_strdup(exten), h);
    }
    return h;
}

/* The document res_pjsip_dialog_info_body_generator.c builds for a hint,
 * printed as pjlib's pj_xml_print does (prolog, one space of indent per
 * level, " />" for an empty element). Ringing: direction="recipient", then
 * <remote> (the caller, from the ringing channel's connected line) and
 * <local> before <state>. */
static char *hint_body(const hint_server *server, const char *exten, const hint *h)
{
    GString *b = g_string_new("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    g_string_append_printf(b,
                           "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" "
                           "version=\"%u\" state=\"full\" entity=\"sip:%s@%s\">\n",
                           h->version, exten, server->domain);
    if (h->state == HINT_RINGING) {
        g_string_append_printf(b, " <dialog id=\"%s\" direction=\"recipient\">\n", exten);
        if (h->caller != NULL) {
            g_string_append(b, "  <remote>\n   <identity");
            if (h->caller_name != NULL)
                g_string_append_printf(b, " display=\"%s\"", h->caller_name);
            g_string_append_printf(b, ">sip:%s@%s</identity>\n", h->caller, server->domain);
            g_string_append_printf(b, "   <target uri=\"sip:%s@%s\" />\n  </remote>\n", h->caller,
                                   server->domain);
        }
        g_string_append_printf(b,
                               "  <local>\n   <identity>sip:%s@%s</identity>\n"
                               "   <target uri=\"sip:%s@%s\" />\n  </local>\n",
                               exten, server->domain, exten, server->domain);
        g_string_append(b, "  <state>early</state>\n");
    } else {
        g_string_append_printf(b, " <dialog id=\"%s\">\n", exten);
        g_string_append_printf(b, "  <state>%s</state>\n",
                               h->state == HINT_INUSE ? "confirmed" : "terminated");
    }
    g_string_append(b, " </dialog>\n</dialog-info>\n");
    return g_string_free(b, FALSE);
}

static void notify_hint(hint_server *server, const char *exten, hint *h)
{
    if (h->sub == NULL)
        return;
    char *body = hint_body(server, exten, h);
    h->version++;
    nua_notify(h->sub, NUTAG_SUBSTATE(nua_substate_active), SIPTAG_EVENT_STR("dialog"),
               SIPTAG_CONTENT_TYPE_STR("application/dialog-info+xml"), SIPTAG_PAYLOAD_STR(body),
               TAG_END());
    g_free(body);
}

static void on_subscribe(hint_server *server, nua_handle_t *nh, const sip_t *sip)
{
    if (!sip || !sip->sip_event || strcmp(sip->sip_event->o_type, "dialog") != 0 ||
        !sip->sip_request || !sip->sip_request->rq_url->url_user) {
        nua_respond(nh, 489, "Bad Event", NUTAG_WITH_THIS(server->nua), TAG_END());
        return;
    }
    hint *h = hint_of(server, sip->sip_request->rq_url->url_user);
    nua_respond(nh, 200, "OK", NUTAG_WITH_THIS(server->nua), SIPTAG_EXPIRES_STR("600"), TAG_END());
    if (h->sub != nh) {
        if (h->sub)
            nua_handle_unref(h->sub);
        h->sub = nua_handle_ref(nh);
        h->subscriptions++;
    }
    notify_hint(server, sip->sip_request->rq_url->url_user, h);
}

/* The phone took the REFER (sofia answered 202): it reports how its call went
 * in one final sipfrag NOTIFY, as Asterisk's 400 did. */
static void on_refer(hint_server *server, nua_handle_t *nh, const sip_t *sip)
{
    server->refers++;
    char *event =
        g_strdup_printf("refer;id=%u", sip && sip->sip_cseq ? (unsigned)sip->sip_cseq->cs_seq : 0);
    char *frag = g_strdup_printf("%s\r\n", server->refer_result);
    nua_notify(nh, NUTAG_NEWSUB(1), SIPTAG_EVENT_STR(event),
               SIPTAG_CONTENT_TYPE_STR("message/sipfrag;version=2.0"),
               NUTAG_SUBSTATE(nua_substate_terminated),
               SIPTAG_SUBSCRIPTION_STATE_STR("terminated;reason=noresource"),
               SIPTAG_PAYLOAD_STR(frag), TAG_END());
    g_free(frag);
    g_free(event);
}

static void on_event(nua_event_t event, int status, char const *phrase, nua_t *nua,
                     hint_server *server, nua_handle_t *nh, void *hmagic, sip_t const *sip,
                     tagi_t tags[])
{
    (void)phrase;
    (void)nua;
    (void)hmagic;
    (void)tags;
    switch (event) {
    case nua_r_shutdown:
        if (status >= 200)
            server->shutdown_done = TRUE;
        break;
    case nua_i_subscribe:
        on_subscribe(server, nh, sip);
        break;
    case nua_i_invite:
        nua_respond(nh, 200, "OK", NUTAG_WITH_THIS(server->nua),
                    SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(PHONE_SDP),
                    TAG_END());
        break;
    case nua_i_refer:
        on_refer(server, nh, sip);
        break;
    default:
        break;
    }
}

/* A UDP port free on `host` now (the kernel's pick), 0 when none: the address
 * is the test's own, so nobody else takes it before sofia binds it. */
static guint free_udp_port(const char *host)
{
    GInetAddress *ip = g_inet_address_new_from_string(host);
    if (ip == NULL)
        return 0;
    GSocketAddress *any = g_inet_socket_address_new(ip, 0);
    GSocket *s = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, 0, NULL);
    guint port = 0;
    if (s != NULL && g_socket_bind(s, any, FALSE, NULL)) {
        GSocketAddress *bound = g_socket_get_local_address(s, NULL);
        if (bound != NULL)
            port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
        g_clear_object(&bound);
    }
    g_clear_object(&s);
    g_object_unref(any);
    g_object_unref(ip);
    return port;
}

hint_server *hint_server_new(const char *host, const char *domain)
{
    su_init();
    hint_server *server = g_new0(hint_server, 1);
    server->context = g_main_context_ref_thread_default();
    server->domain = g_strdup(domain);
    server->hints = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, hint_free);
    server->refer_result = g_strdup("SIP/2.0 400 Bad Request");
    server->root = su_glib_root_create(server);
    if (server->root == NULL) {
        hint_server_free(server);
        return NULL;
    }
    g_source_attach(su_glib_root_gsource(server->root), server->context);
    guint port = free_udp_port(host);
    if (port == 0) {
        hint_server_free(server);
        return NULL;
    }
    server->address = g_strdup_printf("%s:%u", host, port);
    char *url = g_strdup_printf("sip:%s", server->address);
    server->nua =
        nua_create(server->root, on_event, server, NUTAG_URL(url), NUTAG_MEDIA_ENABLE(0),
                   NUTAG_APPL_METHOD("SUBSCRIBE"),
                   NUTAG_ALLOW("INVITE, ACK, BYE, CANCEL, OPTIONS, SUBSCRIBE, REFER"),
                   NUTAG_ALLOW_EVENTS("dialog"), SIPTAG_USER_AGENT_STR("hint-server"), TAG_END());
    g_free(url);
    if (server->nua == NULL) {
        server->shutdown_done = TRUE;
        hint_server_free(server);
        return NULL;
    }
    return server;
}

/* Runs `fn(data)` on the server's thread and waits for it (at once when
 * the server has no thread of its own). */
typedef struct sync_call {
    void (*fn)(gpointer data);
    gpointer data;
    GMutex lock;
    GCond done_cond;
    gboolean done;
} sync_call;

static gboolean run_sync_call(gpointer data)
{
    sync_call *call = data;
    call->fn(call->data);
    g_mutex_lock(&call->lock);
    call->done = TRUE;
    g_cond_signal(&call->done_cond);
    g_mutex_unlock(&call->lock);
    return G_SOURCE_REMOVE;
}

static void call_on_server(hint_server *server, void (*fn)(gpointer), gpointer data)
{
    if (server->thread == NULL || g_main_context_is_owner(server->context)) {
        fn(data);
        return;
    }
    sync_call call = {.fn = fn, .data = data};
    g_mutex_init(&call.lock);
    g_cond_init(&call.done_cond);
    g_main_context_invoke(server->context, run_sync_call, &call);
    g_mutex_lock(&call.lock);
    while (!call.done)
        g_cond_wait(&call.done_cond, &call.lock);
    g_mutex_unlock(&call.lock);
    g_mutex_clear(&call.lock);
    g_cond_clear(&call.done_cond);
}

/* The SIP stack's end, on its own context. */
static void stop_stack(gpointer data)
{
    hint_server *server = data;
    g_hash_table_destroy(server->hints); /* drops our handle references first */
    server->hints = NULL;
    if (server->nua) {
        nua_shutdown(server->nua);
        gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
        while (!server->shutdown_done && g_get_monotonic_time() < deadline)
            g_main_context_iteration(server->context, TRUE);
        nua_destroy(server->nua);
        server->nua = NULL;
    }
    if (server->root)
        su_root_destroy(server->root);
    server->root = NULL;
    su_deinit();
}

void hint_server_free(hint_server *server)
{
    if (server == NULL)
        return;
    call_on_server(server, stop_stack, server);
    if (server->thread) {
        g_main_loop_quit(server->loop);
        g_thread_join(server->thread); /* it dropped the context */
    } else {
        g_main_context_unref(server->context);
    }
    g_free(server->domain);
    g_free(server->address);
    g_free(server->refer_result);
    g_free(server);
}

typedef struct thread_start {
    const char *host, *domain;
    GMainContext *context;
    hint_server *server;
    gboolean started;
    GMutex lock;
    GCond cond;
} thread_start;

static gpointer server_thread(gpointer data)
{
    thread_start *start = data;
    GMainContext *context = start->context;
    g_main_context_push_thread_default(context);
    GMainLoop *loop = g_main_loop_new(context, FALSE);
    hint_server *server = hint_server_new(start->host, start->domain);
    if (server)
        server->loop = loop;
    g_mutex_lock(&start->lock);
    start->server = server;
    start->started = TRUE; /* `start` belongs to the caller from here on */
    g_cond_signal(&start->cond);
    g_mutex_unlock(&start->lock);
    if (server)
        g_main_loop_run(loop);
    g_main_loop_unref(loop);
    g_main_context_pop_thread_default(context);
    /* The last reference goes here: freeing the context finalizes sofia's
     * GSource, whose lock belongs to this thread (elsewhere: abort). */
    if (server)
        g_main_context_unref(server->context);
    return NULL;
}

hint_server *hint_server_new_threaded(const char *host, const char *domain)
{
    thread_start start = {.host = host, .domain = domain, .context = g_main_context_new()};
    g_mutex_init(&start.lock);
    g_cond_init(&start.cond);
    GThread *thread = g_thread_new("hint-server", server_thread, &start);
    g_mutex_lock(&start.lock);
    while (!start.started)
        g_cond_wait(&start.cond, &start.lock);
    g_mutex_unlock(&start.lock);
    g_mutex_clear(&start.lock);
    g_cond_clear(&start.cond);
    if (start.server == NULL)
        g_thread_join(thread);
    else
        start.server->thread = thread;
    g_main_context_unref(start.context); /* the server holds its own reference */
    return start.server;
}

const char *hint_server_address(const hint_server *server)
{
    return server->address;
}

typedef struct set_args {
    hint_server *server;
    const char *exten;
    hint_state state;
    const char *caller, *caller_name;
} set_args;

static void set_on_server(gpointer data)
{
    set_args *a = data;
    hint *h = hint_of(a->server, a->exten);
    h->state = a->state;
    g_free(h->caller);
    g_free(h->caller_name);
    h->caller = g_strdup(a->caller);
    h->caller_name = g_strdup(a->caller_name);
    notify_hint(a->server, a->exten, h);
}

void hint_server_set(hint_server *server, const char *exten, hint_state state, const char *caller,
                     const char *caller_name)
{
    set_args args = {server, exten, state, caller, caller_name};
    call_on_server(server, set_on_server, &args);
}

typedef struct count_args {
    hint_server *server;
    const char *exten; /* NULL: REFERs */
    guint count;
} count_args;

static void count_on_server(gpointer data)
{
    count_args *a = data;
    if (a->exten == NULL) {
        a->count = a->server->refers;
        return;
    }
    const hint *h = g_hash_table_lookup(a->server->hints, a->exten);
    a->count = h ? h->subscriptions : 0;
}

guint hint_server_subscriptions(hint_server *server, const char *exten)
{
    count_args args = {server, exten, 0};
    call_on_server(server, count_on_server, &args);
    return args.count;
}

typedef struct refer_args {
    hint_server *server;
    const char *status_line;
} refer_args;

static void set_refer_on_server(gpointer data)
{
    refer_args *a = data;
    g_free(a->server->refer_result);
    a->server->refer_result = g_strdup(a->status_line);
}

void hint_server_set_refer_result(hint_server *server, const char *status_line)
{
    refer_args args = {server, status_line};
    call_on_server(server, set_refer_on_server, &args);
}

guint hint_server_refers(hint_server *server)
{
    count_args args = {server, NULL, 0};
    call_on_server(server, count_on_server, &args);
    return args.count;
}
