/*
 * layout.c - compile-time pins of the SDK 1.x ABI, and run-time checks of the
 * SDK's inline helpers and macros.
 *
 * Every public struct's size and every member's offset (on LP64 targets, where
 * the numbers below were taken), and the value of every public constant, are
 * pinned with _Static_assert. A header change that moves any of them makes this
 * file fail to COMPILE, on purpose: a plugin built against the old header would
 * read the wrong bytes. An append-only change (docs/sdk/abi.md) fails here too,
 * with the size pin only: then add pins for the new members, update the size,
 * bump the minor of the interface that grew (UCD_HOST_MINOR for plugin.h,
 * host.h, event.h; the service's UCD_<SVC>_MINOR for its header) and the
 * abidiff baseline (tests/abi/check-abi.sh) in the same commit. Never change
 * an existing offset or value to make it compile.
 */
#include <stddef.h>
#include <string.h>

#include <glib.h>
#include <ucd/ucd.h>

#define PIN_SIZE(type, size)                                                                       \
    _Static_assert(sizeof(type) == (size), "sizeof(" #type ") changed: see docs/sdk/abi.md")
#define PIN_OFFSET(type, member, offset)                                                           \
    _Static_assert(offsetof(type, member) == (offset),                                             \
                   #type "." #member " moved: an ABI break, see docs/sdk/abi.md")
#define PIN_VALUE(name, value)                                                                     \
    _Static_assert((name) == (value), #name " changed value: an ABI break, see docs/sdk/abi.md")

/* These pins describe ABI major 1. */
_Static_assert(UCD_ABI_MAJOR == 1, "a new major ABI needs new pins (docs/sdk/abi.md)");

/* ========================================================================== */
/* Struct layouts, LP64 (x86_64, aarch64 ...)                                  */
/* ========================================================================== */
#if defined(__LP64__) && __LP64__

/* ---- plugin.h ---- */
PIN_SIZE(ucd_service_decl, 24); /* host 1.4: minor, reserved */
PIN_OFFSET(ucd_service_decl, name, 0);
PIN_OFFSET(ucd_service_decl, major, 8);
PIN_OFFSET(ucd_service_decl, flags, 12);
PIN_OFFSET(ucd_service_decl, minor, 16);    /* host 1.4 */
PIN_OFFSET(ucd_service_decl, reserved, 20); /* host 1.4 */
PIN_SIZE(ucd_config_key, 32);
PIN_OFFSET(ucd_config_key, name, 0);
PIN_OFFSET(ucd_config_key, type, 8);
PIN_OFFSET(ucd_config_key, flags, 12);
PIN_OFFSET(ucd_config_key, default_value, 16);
PIN_OFFSET(ucd_config_key, help, 24);
PIN_SIZE(ucd_plugin_descriptor, 128); /* host 1.4: service_decl_size, reserved; 1.5: reload */
PIN_OFFSET(ucd_plugin_descriptor, struct_size, 0);
PIN_OFFSET(ucd_plugin_descriptor, abi_major, 4);
PIN_OFFSET(ucd_plugin_descriptor, abi_minor, 6);
PIN_OFFSET(ucd_plugin_descriptor, name, 8);
PIN_OFFSET(ucd_plugin_descriptor, version, 16);
PIN_OFFSET(ucd_plugin_descriptor, license, 24);
PIN_OFFSET(ucd_plugin_descriptor, description, 32);
PIN_OFFSET(ucd_plugin_descriptor, provides, 40);
PIN_OFFSET(ucd_plugin_descriptor, requires, 48);
PIN_OFFSET(ucd_plugin_descriptor, uses, 56);
PIN_OFFSET(ucd_plugin_descriptor, config_keys, 64);
PIN_OFFSET(ucd_plugin_descriptor, config_key_size, 72);
PIN_OFFSET(ucd_plugin_descriptor, init, 80);
PIN_OFFSET(ucd_plugin_descriptor, start, 88);
PIN_OFFSET(ucd_plugin_descriptor, stop, 96);
PIN_OFFSET(ucd_plugin_descriptor, fini, 104);
PIN_OFFSET(ucd_plugin_descriptor, service_decl_size, 112); /* host 1.4 */
PIN_OFFSET(ucd_plugin_descriptor, reserved, 116);          /* host 1.4 */
PIN_OFFSET(ucd_plugin_descriptor, reload, 120);            /* host 1.5 */

/* ---- event.h ---- */
PIN_SIZE(ucd_line_state_event, 40);
PIN_OFFSET(ucd_line_state_event, struct_size, 0);
PIN_OFFSET(ucd_line_state_event, state, 4);
PIN_OFFSET(ucd_line_state_event, driver_instance, 8);
PIN_OFFSET(ucd_line_state_event, line, 16);
PIN_OFFSET(ucd_line_state_event, dnd, 24);
PIN_OFFSET(ucd_line_state_event, forward_to, 32);
PIN_SIZE(ucd_call_state_event, 96); /* 88 in 1.0 */
PIN_OFFSET(ucd_call_state_event, struct_size, 0);
PIN_OFFSET(ucd_call_state_event, state, 4);
PIN_OFFSET(ucd_call_state_event, prev_state, 8);
PIN_OFFSET(ucd_call_state_event, direction, 12);
PIN_OFFSET(ucd_call_state_event, cause, 16);
PIN_OFFSET(ucd_call_state_event, flags, 20);
PIN_OFFSET(ucd_call_state_event, driver_instance, 24);
PIN_OFFSET(ucd_call_state_event, line, 32);
PIN_OFFSET(ucd_call_state_event, call_id, 40);
PIN_OFFSET(ucd_call_state_event, conversation_id, 48);
PIN_OFFSET(ucd_call_state_event, remote_number, 56);
PIN_OFFSET(ucd_call_state_event, remote_name, 64);
PIN_OFFSET(ucd_call_state_event, requested_number, 72);
PIN_OFFSET(ucd_call_state_event, related_line, 80);
PIN_OFFSET(ucd_call_state_event, forward_reason, 88); /* 1.1 */
PIN_OFFSET(ucd_call_state_event, reserved, 92);       /* 1.1 */
PIN_SIZE(ucd_presence_event, 64);                     /* 48 in 1.0 */
PIN_OFFSET(ucd_presence_event, struct_size, 0);
PIN_OFFSET(ucd_presence_event, state, 4);
PIN_OFFSET(ucd_presence_event, prev_state, 8);
PIN_OFFSET(ucd_presence_event, manual_state, 12);
PIN_OFFSET(ucd_presence_event, line_state, 16);
PIN_OFFSET(ucd_presence_event, calendar_state, 20);
PIN_OFFSET(ucd_presence_event, user_id, 24);
PIN_OFFSET(ucd_presence_event, note, 32);
PIN_OFFSET(ucd_presence_event, until_ms, 40);
PIN_OFFSET(ucd_presence_event, party_name, 48);    /* host 1.6 */
PIN_OFFSET(ucd_presence_event, party_company, 56); /* host 1.6 */
PIN_SIZE(ucd_user_changed_event, 24);
PIN_OFFSET(ucd_user_changed_event, struct_size, 0);
PIN_OFFSET(ucd_user_changed_event, change, 4);
PIN_OFFSET(ucd_user_changed_event, user_id, 8);
PIN_OFFSET(ucd_user_changed_event, backend, 16);
PIN_SIZE(ucd_appointment_event, 64);
PIN_OFFSET(ucd_appointment_event, struct_size, 0);
PIN_OFFSET(ucd_appointment_event, change, 4);
PIN_OFFSET(ucd_appointment_event, show_as, 8);
PIN_OFFSET(ucd_appointment_event, user_id, 16);
PIN_OFFSET(ucd_appointment_event, uid, 24);
PIN_OFFSET(ucd_appointment_event, subject, 32);
PIN_OFFSET(ucd_appointment_event, start_ms, 40);
PIN_OFFSET(ucd_appointment_event, end_ms, 48);
PIN_OFFSET(ucd_appointment_event, source, 56);
PIN_SIZE(ucd_module_state_event, 24);
PIN_OFFSET(ucd_module_state_event, struct_size, 0);
PIN_OFFSET(ucd_module_state_event, state, 4);
PIN_OFFSET(ucd_module_state_event, module, 8);
PIN_OFFSET(ucd_module_state_event, message, 16);
PIN_SIZE(ucd_custom_event, 32);
PIN_OFFSET(ucd_custom_event, struct_size, 0);
PIN_OFFSET(ucd_custom_event, reserved, 4);
PIN_OFFSET(ucd_custom_event, name, 8);
PIN_OFFSET(ucd_custom_event, data, 16);
PIN_OFFSET(ucd_custom_event, length, 24);
PIN_SIZE(ucd_event, 48);
PIN_OFFSET(ucd_event, struct_size, 0);
PIN_OFFSET(ucd_event, type, 4);
PIN_OFFSET(ucd_event, seq, 8);
PIN_OFFSET(ucd_event, time_ms, 16);
PIN_OFFSET(ucd_event, source, 24);
PIN_OFFSET(ucd_event, subject, 32);
PIN_OFFSET(ucd_event, payload, 40);
PIN_SIZE(ucd_event_filter, 40);
PIN_OFFSET(ucd_event_filter, struct_size, 0);
PIN_OFFSET(ucd_event_filter, flags, 4);
PIN_OFFSET(ucd_event_filter, type_mask, 8);
PIN_OFFSET(ucd_event_filter, subject, 16);
PIN_OFFSET(ucd_event_filter, source, 24);
PIN_OFFSET(ucd_event_filter, queue_size, 32);
PIN_OFFSET(ucd_event_filter, reserved, 36); /* 1.1, was padding */
/* host 1.4 */
PIN_SIZE(ucd_conversation_event, 16);
PIN_OFFSET(ucd_conversation_event, struct_size, 0);
PIN_OFFSET(ucd_conversation_event, reserved, 4);
PIN_OFFSET(ucd_conversation_event, record, 8);
PIN_SIZE(ucd_directory_event, 24);
PIN_OFFSET(ucd_directory_event, struct_size, 0);
PIN_OFFSET(ucd_directory_event, change, 4);
PIN_OFFSET(ucd_directory_event, kind, 8);
PIN_OFFSET(ucd_directory_event, reserved, 12);
PIN_OFFSET(ucd_directory_event, id, 16);
PIN_SIZE(ucd_call_party_event, 88); /* host 1.6 */
PIN_OFFSET(ucd_call_party_event, struct_size, 0);
PIN_OFFSET(ucd_call_party_event, flags, 4);
PIN_OFFSET(ucd_call_party_event, driver_instance, 8);
PIN_OFFSET(ucd_call_party_event, line, 16);
PIN_OFFSET(ucd_call_party_event, call_id, 24);
PIN_OFFSET(ucd_call_party_event, conversation_id, 32);
PIN_OFFSET(ucd_call_party_event, user_id, 40);
PIN_OFFSET(ucd_call_party_event, remote_number, 48);
PIN_OFFSET(ucd_call_party_event, party_name, 56);
PIN_OFFSET(ucd_call_party_event, party_company, 64);
PIN_OFFSET(ucd_call_party_event, party_source, 72);
PIN_OFFSET(ucd_call_party_event, party_user_id, 80);

/* ---- host.h ---- */
PIN_SIZE(ucd_service, 48); /* host 1.4: minor, reserved */
PIN_OFFSET(ucd_service, struct_size, 0);
PIN_OFFSET(ucd_service, major, 4);
PIN_OFFSET(ucd_service, name, 8);
PIN_OFFSET(ucd_service, provider, 16);
PIN_OFFSET(ucd_service, iface, 24);
PIN_OFFSET(ucd_service, impl, 32);
PIN_OFFSET(ucd_service, minor, 40);    /* host 1.4 */
PIN_OFFSET(ucd_service, reserved, 44); /* host 1.4 */
PIN_SIZE(ucd_host, 328);               /* 1.3: reply_defer, reply_complete; 1.4: work queues */
PIN_OFFSET(ucd_host, struct_size, 0);
PIN_OFFSET(ucd_host, abi_major, 4);
PIN_OFFSET(ucd_host, abi_minor, 6);
PIN_OFFSET(ucd_host, core_version, 8);
PIN_OFFSET(ucd_host, module_id, 16);
PIN_OFFSET(ucd_host, instance, 24);
PIN_OFFSET(ucd_host, state_dir, 32);
PIN_OFFSET(ucd_host, log, 40);
PIN_OFFSET(ucd_host, log_enabled, 48);
PIN_OFFSET(ucd_host, set_error, 56);
PIN_OFFSET(ucd_host, config_string, 64);
PIN_OFFSET(ucd_host, config_int, 72);
PIN_OFFSET(ucd_host, config_bool, 80);
PIN_OFFSET(ucd_host, config_double, 88);
PIN_OFFSET(ucd_host, config_list, 96);
PIN_OFFSET(ucd_host, config_error, 104);
PIN_OFFSET(ucd_host, publish, 112);
PIN_OFFSET(ucd_host, subscribe, 120);
PIN_OFFSET(ucd_host, unsubscribe, 128);
PIN_OFFSET(ucd_host, subscription_dropped, 136);
PIN_OFFSET(ucd_host, timer_add, 144);
PIN_OFFSET(ucd_host, timer_remove, 152);
PIN_OFFSET(ucd_host, watch_add, 160);
PIN_OFFSET(ucd_host, watch_update, 168);
PIN_OFFSET(ucd_host, watch_remove, 176);
PIN_OFFSET(ucd_host, work_submit, 184);
PIN_OFFSET(ucd_host, service_register, 192);
PIN_OFFSET(ucd_host, service_get, 200);
PIN_OFFSET(ucd_host, service_foreach, 208);
PIN_OFFSET(ucd_host, counter_new, 216);
PIN_OFFSET(ucd_host, counter_add, 224);
PIN_OFFSET(ucd_host, counter_set, 232);
PIN_OFFSET(ucd_host, command_register, 240);
PIN_OFFSET(ucd_host, reply_columns, 248);
PIN_OFFSET(ucd_host, reply_row, 256);
PIN_OFFSET(ucd_host, reply_field, 264);
PIN_OFFSET(ucd_host, reply_text, 272);
PIN_OFFSET(ucd_host, reply_error, 280);
PIN_OFFSET(ucd_host, reply_defer, 288);       /* 1.3 */
PIN_OFFSET(ucd_host, reply_complete, 296);    /* 1.3 */
PIN_OFFSET(ucd_host, work_queue_new, 304);    /* 1.4 */
PIN_OFFSET(ucd_host, work_queue_submit, 312); /* 1.4 */
PIN_OFFSET(ucd_host, work_queue_free, 320);   /* 1.4 */

/* ---- pbx.h ---- */
PIN_SIZE(ucd_pbx_line, 40);
PIN_OFFSET(ucd_pbx_line, struct_size, 0);
PIN_OFFSET(ucd_pbx_line, state, 4);
PIN_OFFSET(ucd_pbx_line, address, 8);
PIN_OFFSET(ucd_pbx_line, number, 16);
PIN_OFFSET(ucd_pbx_line, name, 24);
PIN_OFFSET(ucd_pbx_line, capabilities, 32);
PIN_SIZE(ucd_pbx_v1, 120);
PIN_OFFSET(ucd_pbx_v1, struct_size, 0);
PIN_OFFSET(ucd_pbx_v1, list_lines, 8);
PIN_OFFSET(ucd_pbx_v1, capabilities, 16);
PIN_OFFSET(ucd_pbx_v1, dial, 24);
PIN_OFFSET(ucd_pbx_v1, answer, 32);
PIN_OFFSET(ucd_pbx_v1, hangup, 40);
PIN_OFFSET(ucd_pbx_v1, hold, 48);
PIN_OFFSET(ucd_pbx_v1, retrieve, 56);
PIN_OFFSET(ucd_pbx_v1, transfer_blind, 64);
PIN_OFFSET(ucd_pbx_v1, transfer_consult, 72);
PIN_OFFSET(ucd_pbx_v1, deflect, 80);
PIN_OFFSET(ucd_pbx_v1, pickup, 88);
PIN_OFFSET(ucd_pbx_v1, send_dtmf, 96);
PIN_OFFSET(ucd_pbx_v1, set_forward, 104);
PIN_OFFSET(ucd_pbx_v1, set_dnd, 112);

/* ---- users.h ---- */
PIN_SIZE(ucd_user, 104);
PIN_OFFSET(ucd_user, struct_size, 0);
PIN_OFFSET(ucd_user, enabled, 4);
PIN_OFFSET(ucd_user, id, 8);
PIN_OFFSET(ucd_user, login, 16);
PIN_OFFSET(ucd_user, display_name, 24);
PIN_OFFSET(ucd_user, given_name, 32);
PIN_OFFSET(ucd_user, surname, 40);
PIN_OFFSET(ucd_user, email, 48);
PIN_OFFSET(ucd_user, department, 56);
PIN_OFFSET(ucd_user, title, 64);
PIN_OFFSET(ucd_user, home_server, 72);
PIN_OFFSET(ucd_user, numbers, 80);
PIN_OFFSET(ucd_user, groups, 88);
PIN_OFFSET(ucd_user, lines, 96);
PIN_SIZE(ucd_group, 40);
PIN_OFFSET(ucd_group, struct_size, 0);
PIN_OFFSET(ucd_group, reserved, 4);
PIN_OFFSET(ucd_group, id, 8);
PIN_OFFSET(ucd_group, name, 16);
PIN_OFFSET(ucd_group, description, 24);
PIN_OFFSET(ucd_group, leaders, 32);
/* numbers.h, ABI 1.1 */
PIN_SIZE(ucd_number_info, 324); /* 168 in numbers 1.0 */
PIN_OFFSET(ucd_number_info, kind, 4);
PIN_OFFSET(ucd_number_info, e164, 8);
PIN_OFFSET(ucd_number_info, canonical, 32);
PIN_OFFSET(ucd_number_info, dialable, 72);
PIN_OFFSET(ucd_number_info, display, 112);
PIN_OFFSET(ucd_number_info, extension, 152);
PIN_OFFSET(ucd_number_info, type, 168); /* numbers 1.1 */
PIN_OFFSET(ucd_number_info, validity, 172);
PIN_OFFSET(ucd_number_info, region, 176);
PIN_OFFSET(ucd_number_info, international, 180);
PIN_OFFSET(ucd_number_info, national, 220);
PIN_OFFSET(ucd_number_info, place, 260);
PIN_SIZE(ucd_numbers_v1, 40); /* 16 in numbers 1.0 */
PIN_OFFSET(ucd_numbers_v1, normalize, 8);
PIN_OFFSET(ucd_numbers_v1, attach_plan, 16); /* numbers 1.1 */
PIN_OFFSET(ucd_numbers_v1, detach_plan, 24);
PIN_OFFSET(ucd_numbers_v1, normalize_rules, 32);
PIN_SIZE(ucd_numbers_plan_v1, 16);
PIN_OFFSET(ucd_numbers_plan_v1, describe, 8);
PIN_VALUE(UCD_NUMBER_TYPE_VOICEMAIL, 11);
PIN_VALUE(UCD_NUMBER_INVALID, 2);
PIN_VALUE(UCD_NUMBER_SPECIAL, 5);
PIN_VALUE(UCD_FORWARD_REASON_DEFLECT, 4);

PIN_SIZE(ucd_users_v1, 64); /* 48 in 1.0, 56 in 1.1 */
PIN_OFFSET(ucd_users_v1, struct_size, 0);
PIN_OFFSET(ucd_users_v1, foreach_user, 8);
PIN_OFFSET(ucd_users_v1, foreach_group, 16);
PIN_OFFSET(ucd_users_v1, sync, 24);
PIN_OFFSET(ucd_users_v1, authenticate, 32);
PIN_OFFSET(ucd_users_v1, set_home_server, 40);
PIN_OFFSET(ucd_users_v1, import_users, 48); /* 1.1 */
PIN_OFFSET(ucd_users_v1, set_numbers, 56);  /* 1.2 */

/* ---- journal.h ---- */
PIN_SIZE(ucd_journal_participant, 48);
PIN_OFFSET(ucd_journal_participant, struct_size, 0);
PIN_OFFSET(ucd_journal_participant, role, 4);
PIN_OFFSET(ucd_journal_participant, user_id, 8);
PIN_OFFSET(ucd_journal_participant, line, 16);
PIN_OFFSET(ucd_journal_participant, joined_ms, 24);
PIN_OFFSET(ucd_journal_participant, answered_ms, 32);
PIN_OFFSET(ucd_journal_participant, left_ms, 40);
PIN_SIZE(ucd_journal_record, 192); /* journal 1.1: end_cause, forward_reason_code */
PIN_OFFSET(ucd_journal_record, struct_size, 0);
PIN_OFFSET(ucd_journal_record, direction, 4);
PIN_OFFSET(ucd_journal_record, outcome, 8);
PIN_OFFSET(ucd_journal_record, flags, 12);
PIN_OFFSET(ucd_journal_record, uuid, 16);
PIN_OFFSET(ucd_journal_record, driver_instance, 24);
PIN_OFFSET(ucd_journal_record, start_ms, 32);
PIN_OFFSET(ucd_journal_record, answer_ms, 40);
PIN_OFFSET(ucd_journal_record, end_ms, 48);
PIN_OFFSET(ucd_journal_record, source_number, 56);
PIN_OFFSET(ucd_journal_record, source_e164, 64);
PIN_OFFSET(ucd_journal_record, source_name, 72);
PIN_OFFSET(ucd_journal_record, requested_number, 80);
PIN_OFFSET(ucd_journal_record, requested_e164, 88);
PIN_OFFSET(ucd_journal_record, destination_number, 96);
PIN_OFFSET(ucd_journal_record, destination_e164, 104);
PIN_OFFSET(ucd_journal_record, destination_name, 112);
PIN_OFFSET(ucd_journal_record, transferred_by, 120);
PIN_OFFSET(ucd_journal_record, forward_reason, 128);
PIN_OFFSET(ucd_journal_record, picked_up_by, 136);
PIN_OFFSET(ucd_journal_record, end_reason, 144);
PIN_OFFSET(ucd_journal_record, tags, 152);
PIN_OFFSET(ucd_journal_record, memo, 160);
PIN_OFFSET(ucd_journal_record, participants, 168);
PIN_OFFSET(ucd_journal_record, participant_count, 176);
PIN_OFFSET(ucd_journal_record, participant_size, 180);
PIN_OFFSET(ucd_journal_record, end_cause, 184);           /* journal 1.1 */
PIN_OFFSET(ucd_journal_record, forward_reason_code, 188); /* journal 1.1 */
PIN_SIZE(ucd_journal_query, 88); /* journal 1.2: uuid, participant filter */
PIN_OFFSET(ucd_journal_query, struct_size, 0);
PIN_OFFSET(ucd_journal_query, outcome_mask, 4);
PIN_OFFSET(ucd_journal_query, user_id, 8);
PIN_OFFSET(ucd_journal_query, number, 16);
PIN_OFFSET(ucd_journal_query, from_ms, 24);
PIN_OFFSET(ucd_journal_query, to_ms, 32);
PIN_OFFSET(ucd_journal_query, limit, 40);
PIN_OFFSET(ucd_journal_query, reserved, 44);
PIN_OFFSET(ucd_journal_query, after, 48);
PIN_OFFSET(ucd_journal_query, uuid, 56);                   /* journal 1.2 */
PIN_OFFSET(ucd_journal_query, participant_users, 64);      /* journal 1.2 */
PIN_OFFSET(ucd_journal_query, participant_lines, 72);      /* journal 1.2 */
PIN_OFFSET(ucd_journal_query, participant_user_count, 80); /* journal 1.2 */
PIN_OFFSET(ucd_journal_query, participant_line_count, 84); /* journal 1.2 */
PIN_SIZE(ucd_journal_status, 40);
PIN_OFFSET(ucd_journal_status, struct_size, 0);
PIN_OFFSET(ucd_journal_status, healthy, 4);
PIN_OFFSET(ucd_journal_status, stored, 8);
PIN_OFFSET(ucd_journal_status, pending, 16);
PIN_OFFSET(ucd_journal_status, oldest_pending_ms, 24);
PIN_OFFSET(ucd_journal_status, detail, 32);
PIN_SIZE(ucd_journal_v1, 40);
PIN_OFFSET(ucd_journal_v1, struct_size, 0);
PIN_OFFSET(ucd_journal_v1, store, 8);
PIN_OFFSET(ucd_journal_v1, query, 16);
PIN_OFFSET(ucd_journal_v1, status, 24);
PIN_OFFSET(ucd_journal_v1, flush, 32);

/* ---- calendar.h ---- */
PIN_SIZE(ucd_appointment, 64);
PIN_OFFSET(ucd_appointment, struct_size, 0);
PIN_OFFSET(ucd_appointment, show_as, 4);
PIN_OFFSET(ucd_appointment, uid, 8);
PIN_OFFSET(ucd_appointment, user_id, 16);
PIN_OFFSET(ucd_appointment, subject, 24);
PIN_OFFSET(ucd_appointment, location, 32);
PIN_OFFSET(ucd_appointment, start_ms, 40);
PIN_OFFSET(ucd_appointment, end_ms, 48);
PIN_OFFSET(ucd_appointment, all_day, 56);
PIN_OFFSET(ucd_appointment, is_private, 60);
PIN_SIZE(ucd_calendar_v1, 24);
PIN_OFFSET(ucd_calendar_v1, struct_size, 0);
PIN_OFFSET(ucd_calendar_v1, foreach_appointment, 8);
PIN_OFFSET(ucd_calendar_v1, sync, 16);

/* ---- exporter.h ---- */
PIN_SIZE(ucd_export_request, 48);
PIN_OFFSET(ucd_export_request, struct_size, 0);
PIN_OFFSET(ucd_export_request, reserved, 4);
PIN_OFFSET(ucd_export_request, format, 8);
PIN_OFFSET(ucd_export_request, from_ms, 16);
PIN_OFFSET(ucd_export_request, to_ms, 24);
PIN_OFFSET(ucd_export_request, group_by, 32);
PIN_OFFSET(ucd_export_request, output_dir, 40);
PIN_SIZE(ucd_exporter_v1, 24);
PIN_OFFSET(ucd_exporter_v1, struct_size, 0);
PIN_OFFSET(ucd_exporter_v1, formats, 8);
PIN_OFFSET(ucd_exporter_v1, export_now, 16);

/* ---- directory.h (host 1.4: a service of the core) ---- */
PIN_SIZE(ucd_directory_user, 128);
PIN_OFFSET(ucd_directory_user, struct_size, 0);
PIN_OFFSET(ucd_directory_user, enabled, 4);
PIN_OFFSET(ucd_directory_user, active_here, 8);
PIN_OFFSET(ucd_directory_user, reserved, 12);
PIN_OFFSET(ucd_directory_user, id, 16);
PIN_OFFSET(ucd_directory_user, login, 24);
PIN_OFFSET(ucd_directory_user, display_name, 32);
PIN_OFFSET(ucd_directory_user, given_name, 40);
PIN_OFFSET(ucd_directory_user, surname, 48);
PIN_OFFSET(ucd_directory_user, email, 56);
PIN_OFFSET(ucd_directory_user, department, 64);
PIN_OFFSET(ucd_directory_user, title, 72);
PIN_OFFSET(ucd_directory_user, home_server, 80);
PIN_OFFSET(ucd_directory_user, backend, 88);
PIN_OFFSET(ucd_directory_user, numbers, 96);
PIN_OFFSET(ucd_directory_user, e164, 104);
PIN_OFFSET(ucd_directory_user, groups, 112);
PIN_OFFSET(ucd_directory_user, lines, 120);
PIN_SIZE(ucd_directory_group, 48);
PIN_OFFSET(ucd_directory_group, struct_size, 0);
PIN_OFFSET(ucd_directory_group, reserved, 4);
PIN_OFFSET(ucd_directory_group, id, 8);
PIN_OFFSET(ucd_directory_group, name, 16);
PIN_OFFSET(ucd_directory_group, description, 24);
PIN_OFFSET(ucd_directory_group, backend, 32);
PIN_OFFSET(ucd_directory_group, leaders, 40);
PIN_SIZE(ucd_directory_line, 72);
PIN_OFFSET(ucd_directory_line, struct_size, 0);
PIN_OFFSET(ucd_directory_line, state, 4);
PIN_OFFSET(ucd_directory_line, driver, 8);
PIN_OFFSET(ucd_directory_line, address, 16);
PIN_OFFSET(ucd_directory_line, number, 24);
PIN_OFFSET(ucd_directory_line, name, 32);
PIN_OFFSET(ucd_directory_line, capabilities, 40);
PIN_OFFSET(ucd_directory_line, dnd, 48);
PIN_OFFSET(ucd_directory_line, reserved, 52);
PIN_OFFSET(ucd_directory_line, forward_to, 56);
PIN_OFFSET(ucd_directory_line, user_id, 64);
PIN_SIZE(ucd_directory_v1, 88);
PIN_OFFSET(ucd_directory_v1, struct_size, 0);
PIN_OFFSET(ucd_directory_v1, get_user, 8);
PIN_OFFSET(ucd_directory_v1, user_by_number, 16);
PIN_OFFSET(ucd_directory_v1, foreach_user, 24);
PIN_OFFSET(ucd_directory_v1, get_group, 32);
PIN_OFFSET(ucd_directory_v1, foreach_group, 40);
PIN_OFFSET(ucd_directory_v1, foreach_member, 48);
PIN_OFFSET(ucd_directory_v1, get_line, 56);
PIN_OFFSET(ucd_directory_v1, foreach_line, 64);
PIN_OFFSET(ucd_directory_v1, line_user, 72);
PIN_OFFSET(ucd_directory_v1, server_name, 80);

/* ---- calls.h (host 1.4: a service of the core) ---- */
PIN_SIZE(ucd_call_leg, 120); /* calls 1.1 appended the party_* members */
PIN_OFFSET(ucd_call_leg, struct_size, 0);
PIN_OFFSET(ucd_call_leg, state, 4);
PIN_OFFSET(ucd_call_leg, direction, 8);
PIN_OFFSET(ucd_call_leg, flags, 12);
PIN_OFFSET(ucd_call_leg, driver, 16);
PIN_OFFSET(ucd_call_leg, line, 24);
PIN_OFFSET(ucd_call_leg, user_id, 32);
PIN_OFFSET(ucd_call_leg, call_id, 40);
PIN_OFFSET(ucd_call_leg, conversation_id, 48);
PIN_OFFSET(ucd_call_leg, uuid, 56);
PIN_OFFSET(ucd_call_leg, remote_number, 64);
PIN_OFFSET(ucd_call_leg, remote_name, 72);
PIN_OFFSET(ucd_call_leg, since_ms, 80);
PIN_OFFSET(ucd_call_leg, party_name, 88);
PIN_OFFSET(ucd_call_leg, party_company, 96);
PIN_OFFSET(ucd_call_leg, party_source, 104);
PIN_OFFSET(ucd_call_leg, party_user_id, 112);
PIN_SIZE(ucd_call_request, 80);
PIN_OFFSET(ucd_call_request, struct_size, 0);
PIN_OFFSET(ucd_call_request, action, 4);
PIN_OFFSET(ucd_call_request, actor, 8);
PIN_OFFSET(ucd_call_request, line, 16);
PIN_OFFSET(ucd_call_request, user, 24);
PIN_OFFSET(ucd_call_request, call_id, 32);
PIN_OFFSET(ucd_call_request, other_call_id, 40);
PIN_OFFSET(ucd_call_request, number, 48);
PIN_OFFSET(ucd_call_request, target, 56);
PIN_OFFSET(ucd_call_request, digits, 64);
PIN_OFFSET(ucd_call_request, forward_type, 72);
PIN_OFFSET(ucd_call_request, on, 76);
PIN_SIZE(ucd_call_result, 648);
PIN_OFFSET(ucd_call_result, struct_size, 0);
PIN_OFFSET(ucd_call_result, reserved, 4);
PIN_OFFSET(ucd_call_result, driver, 8);
PIN_OFFSET(ucd_call_result, line, 136);
PIN_OFFSET(ucd_call_result, call_id, 264);
PIN_OFFSET(ucd_call_result, message, 392);
PIN_SIZE(ucd_calls_v1, 32);
PIN_OFFSET(ucd_calls_v1, struct_size, 0);
PIN_OFFSET(ucd_calls_v1, foreach_leg, 8);
PIN_OFFSET(ucd_calls_v1, foreach_conversation, 16);
PIN_OFFSET(ucd_calls_v1, control, 24);

/* ---- presence.h (host 1.4: a service of the core) ---- */
PIN_SIZE(ucd_presence_info, 64); /* 48 in presence 1.0 */
PIN_OFFSET(ucd_presence_info, struct_size, 0);
PIN_OFFSET(ucd_presence_info, state, 4);
PIN_OFFSET(ucd_presence_info, manual_state, 8);
PIN_OFFSET(ucd_presence_info, line_state, 12);
PIN_OFFSET(ucd_presence_info, calendar_state, 16);
PIN_OFFSET(ucd_presence_info, reserved, 20);
PIN_OFFSET(ucd_presence_info, user_id, 24);
PIN_OFFSET(ucd_presence_info, note, 32);
PIN_OFFSET(ucd_presence_info, until_ms, 40);
PIN_OFFSET(ucd_presence_info, party_name, 48);    /* presence 1.1 */
PIN_OFFSET(ucd_presence_info, party_company, 56); /* presence 1.1 */
PIN_SIZE(ucd_presence_v1, 40);
PIN_OFFSET(ucd_presence_v1, struct_size, 0);
PIN_OFFSET(ucd_presence_v1, get, 8);
PIN_OFFSET(ucd_presence_v1, foreach, 16);
PIN_OFFSET(ucd_presence_v1, set_manual, 24);
PIN_OFFSET(ucd_presence_v1, clear_manual, 32);

/* ---- permissions.h (host 1.4: a service of the core) ---- */
PIN_SIZE(ucd_perm_decision, 40);
PIN_OFFSET(ucd_perm_decision, struct_size, 0);
PIN_OFFSET(ucd_perm_decision, level, 4);
PIN_OFFSET(ucd_perm_decision, source, 8);
PIN_OFFSET(ucd_perm_decision, reserved, 12);
PIN_OFFSET(ucd_perm_decision, group, 16);
PIN_OFFSET(ucd_perm_decision, set_by, 24);
PIN_OFFSET(ucd_perm_decision, where, 32);
PIN_SIZE(ucd_permissions_v1, 32);
PIN_OFFSET(ucd_permissions_v1, struct_size, 0);
PIN_OFFSET(ucd_permissions_v1, level, 8);
PIN_OFFSET(ucd_permissions_v1, allows, 16);
PIN_OFFSET(ucd_permissions_v1, explain, 24);

/* ---- control.h (host 1.5: a service of the core) ---- */
PIN_SIZE(ucd_control_v1, 16);
PIN_OFFSET(ucd_control_v1, struct_size, 0);
PIN_OFFSET(ucd_control_v1, run, 8);

/* ---- http.h (host 1.5: the api-http plugin's service) ---- */
PIN_SIZE(ucd_http_caller, 48);
PIN_OFFSET(ucd_http_caller, struct_size, 0);
PIN_OFFSET(ucd_http_caller, role, 4);
PIN_OFFSET(ucd_http_caller, user_id, 8);
PIN_OFFSET(ucd_http_caller, key_name, 16);
PIN_OFFSET(ucd_http_caller, scopes, 24);
PIN_OFFSET(ucd_http_caller, users, 32);
PIN_OFFSET(ucd_http_caller, address, 40);
PIN_SIZE(ucd_http_route, 56);
PIN_OFFSET(ucd_http_route, struct_size, 0);
PIN_OFFSET(ucd_http_route, role, 4);
PIN_OFFSET(ucd_http_route, method, 8);
PIN_OFFSET(ucd_http_route, path, 16);
PIN_OFFSET(ucd_http_route, scope, 24);
PIN_OFFSET(ucd_http_route, openapi, 32);
PIN_OFFSET(ucd_http_route, handler, 40);
PIN_OFFSET(ucd_http_route, user_data, 48);
PIN_SIZE(ucd_http_v1, 96); /* 88 in http 1.0 */
PIN_OFFSET(ucd_http_v1, struct_size, 0);
PIN_OFFSET(ucd_http_v1, route_add, 8);
PIN_OFFSET(ucd_http_v1, route_remove_all, 16);
PIN_OFFSET(ucd_http_v1, caller, 24);
PIN_OFFSET(ucd_http_v1, path_param, 32);
PIN_OFFSET(ucd_http_v1, query_param, 40);
PIN_OFFSET(ucd_http_v1, header, 48);
PIN_OFFSET(ucd_http_v1, body, 56);
PIN_OFFSET(ucd_http_v1, defer, 64);
PIN_OFFSET(ucd_http_v1, respond, 72);
PIN_OFFSET(ucd_http_v1, respond_error, 80);
PIN_OFFSET(ucd_http_v1, respond_file, 88); /* http 1.1 */

#endif /* __LP64__ */

/* ========================================================================== */
/* Constant values (every target)                                             */
/* ========================================================================== */

/* ---- plugin.h ---- */
PIN_VALUE(UCD_OK, 0);
PIN_VALUE(UCD_DECLINE, 1);
PIN_VALUE(UCD_FAIL, -1);
PIN_VALUE(UCD_E_INVALID, -2);
PIN_VALUE(UCD_E_NOT_FOUND, -3);
PIN_VALUE(UCD_E_UNSUPPORTED, -4);
PIN_VALUE(UCD_E_BUSY, -5);
PIN_VALUE(UCD_E_DENIED, -6);
PIN_VALUE(UCD_E_UNAVAILABLE, -7);
PIN_VALUE(UCD_E_NOMEM, -8);
PIN_VALUE(UCD_SERVICE_EXCLUSIVE, 1);
PIN_VALUE(UCD_CONFIG_STRING, 1);
PIN_VALUE(UCD_CONFIG_INT, 2);
PIN_VALUE(UCD_CONFIG_BOOL, 3);
PIN_VALUE(UCD_CONFIG_DOUBLE, 4);
PIN_VALUE(UCD_CONFIG_LIST, 5);
PIN_VALUE(UCD_CONFIG_DURATION, 6);
PIN_VALUE(UCD_KEY_REQUIRED, 1);
PIN_VALUE(UCD_KEY_SECRET, 2);

/* ---- event.h ---- */
PIN_VALUE(UCD_EVENT_LINE_STATE, 0);
PIN_VALUE(UCD_EVENT_CALL_STATE, 1);
PIN_VALUE(UCD_EVENT_PRESENCE, 2);
PIN_VALUE(UCD_EVENT_USER_CHANGED, 3);
PIN_VALUE(UCD_EVENT_APPOINTMENT, 4);
PIN_VALUE(UCD_EVENT_MODULE_STATE, 5);
PIN_VALUE(UCD_EVENT_CUSTOM, 6);
PIN_VALUE(UCD_EVENT_CONVERSATION_ENDED, 7); /* host 1.4 */
PIN_VALUE(UCD_EVENT_DIRECTORY, 8);          /* host 1.4 */
PIN_VALUE(UCD_EVENT_CALL_PARTY, 9);         /* host 1.6 */
PIN_VALUE(UCD_EVENT_TYPE_COUNT_, 10);
PIN_VALUE(UCD_LINE_UNKNOWN, 0);
PIN_VALUE(UCD_LINE_IDLE, 1);
PIN_VALUE(UCD_LINE_RINGING, 2);
PIN_VALUE(UCD_LINE_DIALING, 3);
PIN_VALUE(UCD_LINE_BUSY, 4);
PIN_VALUE(UCD_LINE_HELD, 5);
PIN_VALUE(UCD_LINE_OUT_OF_SERVICE, 6);
PIN_VALUE(UCD_CALL_IDLE, 0);
PIN_VALUE(UCD_CALL_DIALING, 1);
PIN_VALUE(UCD_CALL_RINGBACK, 2);
PIN_VALUE(UCD_CALL_OFFERING, 3);
PIN_VALUE(UCD_CALL_CONNECTED, 4);
PIN_VALUE(UCD_CALL_HELD, 5);
PIN_VALUE(UCD_CALL_CONFERENCED, 6);
PIN_VALUE(UCD_CALL_TRANSFERRED, 7);
PIN_VALUE(UCD_CALL_DISCONNECTED, 8);
PIN_VALUE(UCD_DIR_UNKNOWN, 0);
PIN_VALUE(UCD_DIR_INBOUND, 1);
PIN_VALUE(UCD_DIR_OUTBOUND, 2);
PIN_VALUE(UCD_DIR_INTERNAL, 3);
PIN_VALUE(UCD_CAUSE_NONE, 0);
PIN_VALUE(UCD_CAUSE_NORMAL, 1);
PIN_VALUE(UCD_CAUSE_BUSY, 2);
PIN_VALUE(UCD_CAUSE_NO_ANSWER, 3);
PIN_VALUE(UCD_CAUSE_REJECTED, 4);
PIN_VALUE(UCD_CAUSE_FAILED, 5);
PIN_VALUE(UCD_CAUSE_FORWARDED, 6);
PIN_VALUE(UCD_CAUSE_PICKED_UP, 7);
PIN_VALUE(UCD_CAUSE_TRANSFERRED, 8);
PIN_VALUE(UCD_CAUSE_VOICEMAIL, 9);
PIN_VALUE(UCD_CAUSE_LINK_LOST, 10);
PIN_VALUE(UCD_CAUSE_BLOCKED, 11);
PIN_VALUE(UCD_CALL_FLAG_PRIVATE, 1);
PIN_VALUE(UCD_PRESENCE_UNKNOWN, 0);
PIN_VALUE(UCD_PRESENCE_AVAILABLE, 1);
PIN_VALUE(UCD_PRESENCE_AWAY, 2);
PIN_VALUE(UCD_PRESENCE_BUSY, 3);
PIN_VALUE(UCD_PRESENCE_ON_PHONE, 4);
PIN_VALUE(UCD_PRESENCE_RINGING, 5);
PIN_VALUE(UCD_PRESENCE_DND, 6);
PIN_VALUE(UCD_PRESENCE_OUT_OF_OFFICE, 7);
PIN_VALUE(UCD_PRESENCE_OFFLINE, 8);
PIN_VALUE(UCD_CHANGE_ADDED, 1);
PIN_VALUE(UCD_CHANGE_MODIFIED, 2);
PIN_VALUE(UCD_CHANGE_REMOVED, 3);
PIN_VALUE(UCD_CHANGE_RESYNCED, 4);
PIN_VALUE(UCD_SHOW_FREE, 0);
PIN_VALUE(UCD_SHOW_TENTATIVE, 1);
PIN_VALUE(UCD_SHOW_BUSY, 2);
PIN_VALUE(UCD_SHOW_OUT_OF_OFFICE, 3);
PIN_VALUE(UCD_MODULE_LOADED, 0);
PIN_VALUE(UCD_MODULE_INITIALIZED, 1);
PIN_VALUE(UCD_MODULE_RUNNING, 2);
PIN_VALUE(UCD_MODULE_STOPPED, 3);
PIN_VALUE(UCD_MODULE_DECLINED, 4);
PIN_VALUE(UCD_MODULE_FAILED, 5);
PIN_VALUE(UCD_MODULE_DISABLED, 6);
PIN_VALUE(UCD_SUBSCRIBE_OWN_THREAD, 1);
PIN_VALUE(UCD_DIRECTORY_USER, 1);  /* host 1.4 */
PIN_VALUE(UCD_DIRECTORY_GROUP, 2); /* host 1.4 */
PIN_VALUE(UCD_DIRECTORY_LINE, 3);  /* host 1.4 */

/* ---- host.h ---- */
PIN_VALUE(UCD_LOG_ERROR, 3);
PIN_VALUE(UCD_LOG_WARNING, 4);
PIN_VALUE(UCD_LOG_NOTICE, 5);
PIN_VALUE(UCD_LOG_INFO, 6);
PIN_VALUE(UCD_LOG_DEBUG, 7);
PIN_VALUE(UCD_WATCH_READ, 1);
PIN_VALUE(UCD_WATCH_WRITE, 2);
PIN_VALUE(UCD_WATCH_ERROR, 4);
PIN_VALUE(UCD_TIMER_REPEAT, 1);
PIN_VALUE(UCD_COUNTER_MONOTONIC, 0);
PIN_VALUE(UCD_COUNTER_GAUGE, 1);

/* ---- pbx.h ---- */
PIN_VALUE(UCD_PBX_CAP_MONITOR, 1);
PIN_VALUE(UCD_PBX_CAP_DIAL, 2);
PIN_VALUE(UCD_PBX_CAP_ANSWER, 4);
PIN_VALUE(UCD_PBX_CAP_HANGUP, 8);
PIN_VALUE(UCD_PBX_CAP_HOLD, 16);
PIN_VALUE(UCD_PBX_CAP_TRANSFER_BLIND, 32);
PIN_VALUE(UCD_PBX_CAP_TRANSFER_CONSULT, 64);
PIN_VALUE(UCD_PBX_CAP_DEFLECT, 128);
PIN_VALUE(UCD_PBX_CAP_PICKUP, 256);
PIN_VALUE(UCD_PBX_CAP_DTMF, 512);
PIN_VALUE(UCD_PBX_CAP_FORWARD, 1024);
PIN_VALUE(UCD_PBX_CAP_DND, 2048);
PIN_VALUE(UCD_PBX_CAP_CONFERENCE, 4096);
PIN_VALUE(UCD_FORWARD_UNCONDITIONAL, 0);
PIN_VALUE(UCD_FORWARD_BUSY, 1);
PIN_VALUE(UCD_FORWARD_NO_ANSWER, 2);

/* ---- users.h ---- */
PIN_VALUE(UCD_SYNC_FULL, 1);

/* ---- journal.h ---- */
PIN_VALUE(UCD_OUTCOME_ANSWERED, 0);
PIN_VALUE(UCD_OUTCOME_NO_ANSWER, 1);
PIN_VALUE(UCD_OUTCOME_BUSY, 2);
PIN_VALUE(UCD_OUTCOME_FAILED, 3);
PIN_VALUE(UCD_OUTCOME_VOICEMAIL, 4);
PIN_VALUE(UCD_OUTCOME_BLOCKED, 5);
PIN_VALUE(UCD_ROLE_CALLER, 0);
PIN_VALUE(UCD_ROLE_CALLEE, 1);
PIN_VALUE(UCD_ROLE_TRANSFER_TARGET, 2);
PIN_VALUE(UCD_ROLE_PICKUP, 3);
PIN_VALUE(UCD_ROLE_FORWARD_TARGET, 4);
PIN_VALUE(UCD_ROLE_CONFERENCE, 5);
PIN_VALUE(UCD_JOURNAL_FLAG_PRIVATE, 1);
PIN_VALUE(UCD_JOURNAL_MAX_PARTICIPANT_FILTER, 1000); /* journal 1.2 */
/* ---- directory.h, calls.h, permissions.h (host 1.4) ---- */
PIN_VALUE(UCD_DIRECTORY_ACTIVE_HERE, 1);
PIN_VALUE(UCD_CALL_DIAL, 1);
PIN_VALUE(UCD_CALL_ANSWER, 2);
PIN_VALUE(UCD_CALL_HANGUP, 3);
PIN_VALUE(UCD_CALL_HOLD, 4);
PIN_VALUE(UCD_CALL_RETRIEVE, 5);
PIN_VALUE(UCD_CALL_TRANSFER, 6);
PIN_VALUE(UCD_CALL_CONSULT_TRANSFER, 7);
PIN_VALUE(UCD_CALL_DEFLECT, 8);
PIN_VALUE(UCD_CALL_PICKUP, 9);
PIN_VALUE(UCD_CALL_DTMF, 10);
PIN_VALUE(UCD_CALL_FORWARD, 11);
PIN_VALUE(UCD_CALL_DND, 12);
PIN_VALUE(UCD_PERM_BLOCKED, 0);
PIN_VALUE(UCD_PERM_PUBLIC, 1);
PIN_VALUE(UCD_PERM_BUSINESS, 2);
PIN_VALUE(UCD_PERM_TEAM, 3);
PIN_VALUE(UCD_PERM_PERSONAL, 4);
PIN_VALUE(UCD_PERM_SEE_PRESENCE, 0);
PIN_VALUE(UCD_PERM_SEE_CONTACT, 1);
PIN_VALUE(UCD_PERM_SEE_CALLS, 2);
PIN_VALUE(UCD_PERM_SEE_APPOINTMENTS, 3);
PIN_VALUE(UCD_PERM_PICKUP, 4);
PIN_VALUE(UCD_PERM_SET_PRESENCE, 5);
PIN_VALUE(UCD_PERM_SET_FORWARDING, 6);
PIN_VALUE(UCD_PERM_FROM_DEFAULT, 0);
PIN_VALUE(UCD_PERM_FROM_GROUP, 1);
PIN_VALUE(UCD_PERM_FROM_LEADER, 2);
PIN_VALUE(UCD_PERM_FROM_ADMIN_PAIR, 3);
PIN_VALUE(UCD_PERM_FROM_USER_GRANT, 4);
PIN_VALUE(UCD_PERM_FROM_SELF, 5);
PIN_VALUE(UCD_PERM_FROM_UNKNOWN_USER, 6);
/* ---- control.h, http.h (host 1.5) ---- */
PIN_VALUE(UCD_CONTROL_MAJOR, 1);
PIN_VALUE(UCD_HTTP_MAJOR, 1);
PIN_VALUE(UCD_HTTP_ROLE_ANYONE, 0);
PIN_VALUE(UCD_HTTP_ROLE_USER, 1);
PIN_VALUE(UCD_HTTP_ROLE_LEADER, 2);
PIN_VALUE(UCD_HTTP_ROLE_ADMIN, 3);

/* ========================================================================== */
/* Run-time checks                                                            */
/* ========================================================================== */

/* UCD_HOST_HAS must say "no" for a member past the running core's table: a
 * plugin newer than the core relies on it before calling a late addition. */
static void test_host_has_respects_struct_size(void)
{
    ucd_host host;
    memset(&host, 0, sizeof(host));

    host.struct_size = sizeof(ucd_host);
    g_assert_true(UCD_HOST_HAS(&host, reply_error));
    g_assert_true(UCD_HOST_HAS(&host, module_id));

    /* An older core whose table ends just before reply_error. */
    host.struct_size = offsetof(ucd_host, reply_error);
    g_assert_false(UCD_HOST_HAS(&host, reply_error));
    g_assert_true(UCD_HOST_HAS(&host, reply_text));

    /* A 1.2 core: its table ends just before the 1.3 deferred replies. */
    host.struct_size = offsetof(ucd_host, reply_defer);
    g_assert_false(UCD_HOST_HAS(&host, reply_defer));
    g_assert_false(UCD_HOST_HAS(&host, reply_complete));
    g_assert_true(UCD_HOST_HAS(&host, reply_error));

    /* A 1.3 core: no work queues. */
    host.struct_size = offsetof(ucd_host, work_queue_new);
    g_assert_false(UCD_HOST_HAS(&host, work_queue_new));
    g_assert_false(UCD_HOST_HAS(&host, work_queue_free));
    g_assert_true(UCD_HOST_HAS(&host, reply_complete));

    host.struct_size = offsetof(ucd_host, module_id);
    g_assert_false(UCD_HOST_HAS(&host, module_id));
}

/* Every result code has its own text, and unknown codes one fallback. */
static void test_strerror_texts(void)
{
    static const int codes[] = {UCD_OK,        UCD_DECLINE,     UCD_FAIL,
                                UCD_E_INVALID, UCD_E_NOT_FOUND, UCD_E_UNSUPPORTED,
                                UCD_E_BUSY,    UCD_E_DENIED,    UCD_E_UNAVAILABLE,
                                UCD_E_NOMEM};
    const char *unknown = ucd_strerror(12345);

    g_assert_nonnull(unknown);
    for (size_t i = 0; i < G_N_ELEMENTS(codes); i++) {
        const char *text = ucd_strerror(codes[i]);
        g_assert_nonnull(text);
        g_assert_cmpstr(text, !=, unknown);
        for (size_t j = 0; j < i; j++)
            g_assert_cmpstr(text, !=, ucd_strerror(codes[j]));
    }
}

/* Event type masks are distinct single bits that fit the 64-bit filter. */
static void test_event_masks(void)
{
    uint64_t seen = 0;

    g_assert_cmpuint(UCD_EVENT_TYPE_COUNT_, <=, 64);
    for (uint32_t type = 0; type < UCD_EVENT_TYPE_COUNT_; type++) {
        uint64_t mask = UCD_EVENT_MASK(type);
        g_assert_cmpuint(mask & (mask - 1), ==, 0);
        g_assert_cmpuint(seen & mask, ==, 0);
        seen |= mask;
    }
    g_assert_cmpuint(seen & UCD_EVENT_MASK_ALL, ==, seen);
}

static int layout_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    return UCD_OK;
}

static const ucd_config_key layout_keys[] = {
    {"greeting", UCD_CONFIG_STRING, 0, "hello", "test key"},
    {NULL, 0, 0, NULL, NULL},
};

UCD_PLUGIN_DEFINE(.name = "abi-layout", .version = "0", .license = "MIT",
                  .config_keys = layout_keys, .init = layout_init);

/* UCD_PLUGIN_DEFINE fills the sizes and the ABI of the headers it was built with. */
static void test_plugin_define_fills_header(void)
{
    const ucd_plugin_descriptor *desc = ucd_plugin_entry();

    g_assert_cmpuint(desc->struct_size, ==, sizeof(ucd_plugin_descriptor));
    g_assert_cmpuint(desc->abi_major, ==, UCD_ABI_MAJOR);
    /* Nothing defined UCD_TARGET_HOST_MINOR here: the headers' host minor. */
    g_assert_cmpuint(desc->abi_minor, ==, UCD_HOST_MINOR);
    g_assert_cmpuint(UCD_TARGET_HOST_MINOR, ==, UCD_HOST_MINOR);
    g_assert_cmpuint(UCD_ABI_MINOR, ==, UCD_HOST_MINOR);
    g_assert_cmpuint(desc->config_key_size, ==, sizeof(ucd_config_key));
    g_assert_cmpuint(desc->service_decl_size, ==, sizeof(ucd_service_decl));
    g_assert_cmpstr(desc->name, ==, "abi-layout");
    g_assert_true(desc->config_keys == layout_keys);
    g_assert_true(desc->init == layout_init);
    g_assert_null(desc->start);
    g_assert_cmpstr(UCD_PLUGIN_ENTRY_SYMBOL, ==, "ucd_plugin_entry");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/abi/layout/host-has", test_host_has_respects_struct_size);
    g_test_add_func("/abi/layout/strerror", test_strerror_texts);
    g_test_add_func("/abi/layout/event-masks", test_event_masks);
    g_test_add_func("/abi/layout/plugin-define", test_plugin_define_fills_header);
    return g_test_run();
}
