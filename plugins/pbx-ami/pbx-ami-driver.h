/*
 * pbx-ami-driver.h - what the two halves of the pbx-ami driver share (not a
 * public header): the driver's state, one configured line, and the helpers
 * that send an AMI action and publish ucd events.
 *
 * pbx-ami.c owns the plugin: configuration, life cycle, the AMI session's
 * events fed to the model, resync and publishing. pbx-ami-control.c owns call
 * control: the ucd_pbx_v1 table turned into AMI actions.
 */
#ifndef PBX_AMI_DRIVER_H
#define PBX_AMI_DRIVER_H

#include <glib.h>
#include <ucd/ucd.h>

#include "ami-conn.h"
#include "ami-model.h"

/* One configured line: a device ("PJSIP/alice"), maybe a hint, and what the
 * AstDB says about its do-not-disturb and unconditional forward. */
typedef struct ami_line {
    char *address;    /* the ucd line address: "201" (also the AstDB key) */
    char *device;     /* "PJSIP/alice": what Originate rings, what the model watches */
    char *hint;       /* "201@ext-local", or NULL */
    gboolean dnd;     /* from the AstDB (read at resync, changed by set_dnd) */
    char *forward_to; /* unconditional forward from the AstDB, NULL when off */
    /* What the last line event said, so that only changes are published. */
    uint32_t shown_state;
    gboolean shown_dnd;
    char *shown_forward;
} ami_line;

typedef struct ami_driver {
    ucd_plugin *self;
    const ucd_host *host;
    const char *module_id;
    char *id_prefix;    /* "office" for [module pbx-ami:office], "ami" without instance */
    char *command_name; /* "ami-office" / "ami" */

    /* The session's settings (strings owned here; the secret wiped when freed). */
    pami_conn_config conn_config;
    char *conn_host, *conn_username, *conn_secret, *conn_events, *conn_ca_file;

    /* Call control settings. */
    char *originate_context;
    int64_t originate_timeout_ms;
    char *originate_display;  /* template ({line}, {number}): the user's phone while it rings */
    char *originate_callerid; /* template: what the called party sees; NULL: the device's own */
    char *dnd_family, *dnd_value, *cf_family, *cfb_family, *cfu_family;

    GPtrArray *lines;            /* ami_line, in configuration order */
    GHashTable *line_by_address; /* address -> ami_line */

    pami_model *model;
    pami_conn *conn;
    pami_conn_state conn_state;
    char *banner;      /* the AMI version line of the last UP */
    char *last_reason; /* why the link last went DOWN */
    guint resync_generation;
    gboolean resynced; /* the last resync after UP has ended */

    int64_t astdb_refresh_ms;        /* re-read DND and forward this often; 0: never */
    ucd_timer *astdb_timer;          /* that re-read, while running */
    gboolean astdb_tree_unsupported; /* DBGetTree refused: DBGet per line instead */

    GHashTable *originates; /* channel id -> ami_originate: dials not answered yet */
    uint64_t next_originate;
    gboolean running;

    ucd_counter *events_counter;
    ucd_counter *actions_counter;
    ucd_counter *failed_counter;
    ucd_counter *link_gauge;
} ami_driver;

/* What to do with an action's answer once it is known to be a success (or,
 * with `quiet` requests, whatever it is): response NULL means no answer. */
typedef void (*ami_done_fn)(ami_driver *d, pami_message *response, GPtrArray *events, void *data);

/* A new action message: Action: NAME, then the NULL-terminated name/value
 * pairs that follow (a NULL value skips its pair). */
pami_message *ami_action(const char *name, ...) G_GNUC_NULL_TERMINATED;

/* Sends `action` (consumed) when the link is up. `what` names it in log lines
 * ("hangup on 201"); an error answer is logged as a warning with the server's
 * Message and counted, unless `quiet`. `done` (may be NULL) then runs with
 * `data`, which `free_data` (may be NULL) frees afterwards. `final_event` and
 * `final_timeout_ms` as pami_conn_send(). UCD_OK, or UCD_E_UNAVAILABLE when
 * the link is not up (then `data` is freed at once). */
int ami_send(ami_driver *d, pami_message *action, const char *final_event, guint final_timeout_ms,
             const char *what, gboolean quiet, ami_done_fn done, void *data,
             GDestroyNotify free_data);

/* An action Asterisk refused or never answered: counted in actions_failed
 * and logged as a warning "WHAT failed: WHY". */
void ami_action_failed(ami_driver *d, const char *what, const char *why);

/* TRUE when `response` is an AMI "Response: Success" (or "Follows"). */
gboolean ami_response_ok(const pami_message *response);

/* Publishes `change` as UCD_EVENT_CALL_STATE (ids prefixed with the instance). */
void ami_publish_leg(ami_driver *d, const pami_leg_change *change);

/* Publishes a line event for `line` when its state, DND or forward differs
 * from what the last one said. */
void ami_line_publish(ami_driver *d, ami_line *line);

/* The pbx service table (pbx-ami-control.c). */
extern const ucd_pbx_v1 ami_pbx_table;

/* Frees what pbx-ami-control.c keeps per pending Originate. */
void ami_originate_free(gpointer data);

/* The model reported a leg change: when it is the channel of a pending
 * Originate, that call exists, so a failure is told by its own events, and
 * the failure's warning names the cause the leg ended with. */
void ami_originate_seen(ami_driver *d, const pami_leg_change *change);

/* Feeds a DBGetResponse event (answer to the resync's DBGet) to the lines. */
void ami_astdb_value(ami_driver *d, const pami_message *event);

/* Reads every line's DND and forward from the AstDB (after a resync). */
void ami_astdb_read(ami_driver *d);

/* Re-reads every line's DND and unconditional forward (DBGetTree of each
 * family, or DBGet per line where Asterisk lacks DBGetTree) when the link is
 * up and resynced: changes that leave no trace in AMI (the CLI's `database
 * put`, a dialplan that sets no device state) show within astdb_refresh. */
void ami_astdb_refresh(ami_driver *d);

/* A DeviceStateChange of FreePBX's Custom:DND<line> or Custom:CF<line> (the
 * configured families): DND or forwarding changed outside ucd, so the key is
 * read again (TRUE). FALSE for any other device. */
gboolean ami_astdb_device_state(ami_driver *d, const pami_message *event);

#endif /* PBX_AMI_DRIVER_H */
