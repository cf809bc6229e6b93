/*
 * old-plugin.c - a plugin built against the frozen SDK 1.0 headers only
 * (tests/abi/sdk-1.0/), standing for a plugin nobody rebuilt since 1.0.
 *
 * The daemon tests load it into the current ucd ([module abi10-plugin] with
 * `path =` pointing at abi10_plugin_dir) and check that it works:
 *   - init reads its `note` key (string, default "frozen") and logs
 *     "abi10-plugin init: NOTE";
 *   - start subscribes to custom events named "abi10.ping", then publishes one,
 *     with the 4-byte payload "1.0\0";
 *   - `ucctl abi10` replies with the fields abi ("1.0"), note, published and
 *     received (the count of "abi10.ping" events delivered back to it: 1 after
 *     start, when the bus works for a 1.0 plugin), plus counter
 *     abi10-plugin.pings_received.
 * It touches the host table only through members that exist since 1.0, which
 * is all a 1.0 plugin can know about.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ucd/ucd.h>

#define ABI10_EVENT_NAME "abi10.ping"

typedef struct abi10_state {
    ucd_plugin *self;
    const ucd_host *host;
    const char *note;
    uint64_t published;
    uint64_t received;
    ucd_counter *received_counter;
} abi10_state;

static const ucd_config_key abi10_keys[] = {
    {"note", UCD_CONFIG_STRING, 0, "frozen", "text logged at init"},
    {NULL, 0, 0, NULL, NULL},
};

static void abi10_on_ping(const ucd_event *event, void *user_data)
{
    abi10_state *state = user_data;
    const ucd_custom_event *custom = event->payload;

    if (event->type != UCD_EVENT_CUSTOM || custom == NULL || custom->name == NULL ||
        strcmp(custom->name, ABI10_EVENT_NAME) != 0)
        return;
    state->received++;
    state->host->counter_add(state->received_counter, 1);
    ucd_info(state->host, state->self, "received %s (%" PRIu64 " bytes)", custom->name,
             custom->length);
}

static int abi10_command(int argc, const char *const *argv, ucd_reply *reply, void *user_data)
{
    abi10_state *state = user_data;
    char number[32];

    state->host->reply_field(reply, "abi", "1.0");
    state->host->reply_field(reply, "note", state->note);
    snprintf(number, sizeof(number), "%" PRIu64, state->published);
    state->host->reply_field(reply, "published", number);
    snprintf(number, sizeof(number), "%" PRIu64, state->received);
    state->host->reply_field(reply, "received", number);
    return UCD_OK;
}

static int abi10_init(ucd_plugin *self, const ucd_host *host, void **state_out)
{
    *state_out = NULL;
    abi10_state *state = calloc(1, sizeof(*state));
    if (state == NULL)
        return UCD_E_NOMEM;
    state->self = self;
    state->host = host;

    if (host->config_string(self, "note", &state->note) != UCD_OK) {
        free(state);
        return host->config_error(self, "note", "cannot be read");
    }
    ucd_info(host, self, "abi10-plugin init: %s", state->note);
    state->received_counter =
        host->counter_new(self, "pings_received", UCD_COUNTER_MONOTONIC, "abi10.ping events seen");
    if (host->command_register(self, "abi10", "", "state of the ABI 1.0 test plugin", abi10_command,
                               state) != UCD_OK) {
        host->set_error(self, "cannot register command abi10");
        free(state);
        return UCD_FAIL;
    }
    *state_out = state;
    return UCD_OK;
}

static int abi10_start(void *user_data)
{
    abi10_state *state = user_data;
    const ucd_event_filter filter = {
        .struct_size = sizeof(filter),
        .type_mask = UCD_EVENT_MASK(UCD_EVENT_CUSTOM),
        .subject = ABI10_EVENT_NAME,
    };
    int result = state->host->subscribe(state->self, &filter, abi10_on_ping, state, NULL);
    if (result != UCD_OK)
        return result;

    static const char payload[] = "1.0";
    const ucd_custom_event ping = {
        .struct_size = sizeof(ping),
        .name = ABI10_EVENT_NAME,
        .data = payload,
        .length = sizeof(payload),
    };
    const ucd_event event = {
        .struct_size = sizeof(event),
        .type = UCD_EVENT_CUSTOM,
        .payload = &ping,
    };
    result = state->host->publish(state->self, &event);
    if (result != UCD_OK) {
        state->host->set_error(state->self, "publish failed: %s", ucd_strerror(result));
        return result;
    }
    state->published++;
    return UCD_OK;
}

static void abi10_fini(void *user_data)
{
    free(user_data);
}

UCD_PLUGIN_DEFINE(.name = "abi10-plugin", .version = "1.0.0", .license = "MIT",
                  .description = "built against the frozen SDK 1.0 headers",
                  .config_keys = abi10_keys, .init = abi10_init, .start = abi10_start,
                  .fini = abi10_fini);
