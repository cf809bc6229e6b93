/*
 * anchor.c - the ABI anchor: a shared library that exists only to be read by
 * abidw.
 *
 * abidw and abidiff describe the types reachable from a library's exported
 * functions and variables. The SDK is headers only, so no real library exports
 * its types: this one exports one empty function per public SDK type, taking a
 * pointer to it. That puts every struct, enum, opaque handle and callback type
 * of the SDK (and through ucd_host every host function signature) into the
 * ABI description that tests/abi/check-abi.sh compares with the committed
 * baseline in sdk/abi/.
 *
 * A type added to the SDK needs a line here; removing a line is an ABI change
 * the check reports (a removed function), on purpose.
 */
#include <ucd/ucd.h>

/* Each body returns its own line number: identical bodies would be folded
 * into one function by the optimizer (identical code folding), and abidw would
 * then see a single anchor and a single type. */
#define UCD_ABI_ANCHOR(type)                                                                       \
    UCD_EXPORT int ucd_abi_anchor_##type(const type *p);                                           \
    UCD_EXPORT int ucd_abi_anchor_##type(const type *p)                                            \
    {                                                                                              \
        (void)p;                                                                                   \
        return __LINE__;                                                                           \
    }

/* ---- plugin.h ---- */
UCD_ABI_ANCHOR(ucd_plugin)
UCD_ABI_ANCHOR(ucd_service_decl)
UCD_ABI_ANCHOR(ucd_config_type)
UCD_ABI_ANCHOR(ucd_config_key)
UCD_ABI_ANCHOR(ucd_plugin_descriptor)
UCD_ABI_ANCHOR(ucd_plugin_entry_fn)

/* ---- event.h ---- */
UCD_ABI_ANCHOR(ucd_event_type)
UCD_ABI_ANCHOR(ucd_line_state)
UCD_ABI_ANCHOR(ucd_line_state_event)
UCD_ABI_ANCHOR(ucd_call_state)
UCD_ABI_ANCHOR(ucd_call_direction)
UCD_ABI_ANCHOR(ucd_call_cause)
UCD_ABI_ANCHOR(ucd_call_state_event)
UCD_ABI_ANCHOR(ucd_presence_state)
UCD_ABI_ANCHOR(ucd_presence_event)
UCD_ABI_ANCHOR(ucd_change)
UCD_ABI_ANCHOR(ucd_user_changed_event)
UCD_ABI_ANCHOR(ucd_show_as)
UCD_ABI_ANCHOR(ucd_forward_reason) /* 1.1 */
UCD_ABI_ANCHOR(ucd_appointment_event)
UCD_ABI_ANCHOR(ucd_module_state)
UCD_ABI_ANCHOR(ucd_module_state_event)
UCD_ABI_ANCHOR(ucd_conversation_event) /* host 1.4 */
UCD_ABI_ANCHOR(ucd_directory_kind)     /* host 1.4 */
UCD_ABI_ANCHOR(ucd_directory_event)    /* host 1.4 */
UCD_ABI_ANCHOR(ucd_call_party_event)   /* host 1.6 */
UCD_ABI_ANCHOR(ucd_custom_event)
UCD_ABI_ANCHOR(ucd_event)
UCD_ABI_ANCHOR(ucd_event_filter)
UCD_ABI_ANCHOR(ucd_event_cb)

/* ---- host.h ---- */
UCD_ABI_ANCHOR(ucd_host)
UCD_ABI_ANCHOR(ucd_log_level)
UCD_ABI_ANCHOR(ucd_counter_kind)
UCD_ABI_ANCHOR(ucd_subscription)
UCD_ABI_ANCHOR(ucd_timer)
UCD_ABI_ANCHOR(ucd_watch)
UCD_ABI_ANCHOR(ucd_counter)
UCD_ABI_ANCHOR(ucd_reply)
UCD_ABI_ANCHOR(ucd_timer_cb)
UCD_ABI_ANCHOR(ucd_watch_cb)
UCD_ABI_ANCHOR(ucd_work_fn)
UCD_ABI_ANCHOR(ucd_done_fn)
UCD_ABI_ANCHOR(ucd_service)
UCD_ABI_ANCHOR(ucd_service_cb)
UCD_ABI_ANCHOR(ucd_command_fn)
UCD_ABI_ANCHOR(ucd_work_queue) /* host 1.4 */

/* ---- pbx.h ---- */
UCD_ABI_ANCHOR(ucd_forward_type)
UCD_ABI_ANCHOR(ucd_pbx_line)
UCD_ABI_ANCHOR(ucd_pbx_line_cb)
UCD_ABI_ANCHOR(ucd_pbx_v1)

/* ---- users.h ---- */
UCD_ABI_ANCHOR(ucd_user)
UCD_ABI_ANCHOR(ucd_group)
UCD_ABI_ANCHOR(ucd_user_cb)
UCD_ABI_ANCHOR(ucd_group_cb)
UCD_ABI_ANCHOR(ucd_sync_progress_cb)
UCD_ABI_ANCHOR(ucd_sync_done_cb)
UCD_ABI_ANCHOR(ucd_users_v1)

/* ---- journal.h ---- */
UCD_ABI_ANCHOR(ucd_outcome)
UCD_ABI_ANCHOR(ucd_participant_role)
UCD_ABI_ANCHOR(ucd_journal_participant)
UCD_ABI_ANCHOR(ucd_journal_record)
UCD_ABI_ANCHOR(ucd_journal_query)
UCD_ABI_ANCHOR(ucd_journal_record_cb)
UCD_ABI_ANCHOR(ucd_journal_status)
UCD_ABI_ANCHOR(ucd_journal_v1)

/* ---- calendar.h ---- */
UCD_ABI_ANCHOR(ucd_appointment)
UCD_ABI_ANCHOR(ucd_appointment_cb)
UCD_ABI_ANCHOR(ucd_calendar_v1)

/* ---- exporter.h ---- */
UCD_ABI_ANCHOR(ucd_export_request)
UCD_ABI_ANCHOR(ucd_export_done_cb)
UCD_ABI_ANCHOR(ucd_exporter_v1)

/* ---- numbers.h (1.1) ---- */
UCD_ABI_ANCHOR(ucd_number_kind)
UCD_ABI_ANCHOR(ucd_number_info)
UCD_ABI_ANCHOR(ucd_numbers_v1)
UCD_ABI_ANCHOR(ucd_number_type)
UCD_ABI_ANCHOR(ucd_number_validity)
UCD_ABI_ANCHOR(ucd_numbers_plan_v1)

/* ---- directory.h (host 1.4) ---- */
UCD_ABI_ANCHOR(ucd_directory_user)
UCD_ABI_ANCHOR(ucd_directory_group)
UCD_ABI_ANCHOR(ucd_directory_line)
UCD_ABI_ANCHOR(ucd_directory_user_cb)
UCD_ABI_ANCHOR(ucd_directory_group_cb)
UCD_ABI_ANCHOR(ucd_directory_line_cb)
UCD_ABI_ANCHOR(ucd_directory_v1)

/* ---- calls.h (host 1.4) ---- */
UCD_ABI_ANCHOR(ucd_call_leg)
UCD_ABI_ANCHOR(ucd_call_leg_cb)
UCD_ABI_ANCHOR(ucd_call_action)
UCD_ABI_ANCHOR(ucd_call_request)
UCD_ABI_ANCHOR(ucd_call_result)
UCD_ABI_ANCHOR(ucd_calls_v1)

/* ---- presence.h (host 1.4) ---- */
UCD_ABI_ANCHOR(ucd_presence_info)
UCD_ABI_ANCHOR(ucd_presence_info_cb)
UCD_ABI_ANCHOR(ucd_presence_v1)

/* ---- permissions.h (host 1.4) ---- */
UCD_ABI_ANCHOR(ucd_perm_level)
UCD_ABI_ANCHOR(ucd_perm_cap)
UCD_ABI_ANCHOR(ucd_perm_source)
UCD_ABI_ANCHOR(ucd_perm_decision)
UCD_ABI_ANCHOR(ucd_perm_decision_cb)
UCD_ABI_ANCHOR(ucd_permissions_v1)

/* ---- control.h (host 1.5) ---- */
UCD_ABI_ANCHOR(ucd_control_done_cb)
UCD_ABI_ANCHOR(ucd_control_v1)

/* ---- http.h (host 1.5) ---- */
UCD_ABI_ANCHOR(ucd_http_role)
UCD_ABI_ANCHOR(ucd_http_call)
UCD_ABI_ANCHOR(ucd_http_caller)
UCD_ABI_ANCHOR(ucd_http_handler)
UCD_ABI_ANCHOR(ucd_http_route)
UCD_ABI_ANCHOR(ucd_http_v1)
