/*
 * presence.h - the presence part of the model: per user, from the lines, the
 * calendars and what was set by hand, merged by fixed rules (presence.c).
 * The last part: it reads the directory and the lines' leg counts, and hears
 * of changes through the hooks it sets in the model (model-state.h).
 */
#ifndef CORE_MODEL_PRESENCE_H
#define CORE_MODEL_PRESENCE_H

#include "directory.h"

/* Creates the presence tables, loads the saved manual states and sets the
 * model's hooks user_lines_changed and directory_pulled. */
void core_presence_init(core_model *m);
void core_presence_free(core_model *m);
/* Re-derives the line presence of `user` and publishes when anything changed. */
void core_presence_line_changed(core_model *m, core_user *user);
/* After a directory pull: entries for new users, line presence of all. */
void core_presence_directory_changed(core_model *m);
void core_presence_on_appointment(core_model *m, const ucd_appointment_event *ev);
/* The state ucd_presence_word() names; -1 for NULL or any other word. */
int core_presence_parse(const char *word);
/* The parts of a user's presence. */
typedef struct core_presence_view {
    ucd_presence_state state, manual, line, calendar;
    const char *note;
    int64_t until_ms;
    const char *party_name; /* who the user is on the phone with, when known */
    const char *party_company;
} core_presence_view;
/* FALSE (and *out untouched) when the user has no presence entry. */
gboolean core_presence_view_get(core_model *m, const char *user_id, core_presence_view *out);

/* The merged presence of a user (UCD_PRESENCE_UNKNOWN for an unknown one). */
ucd_presence_state core_model_presence(core_model *m, const char *user_id);

/* Sets (state != UNKNOWN) or clears (UNKNOWN) the manual presence of a user
 * known by id or login: AVAILABLE, AWAY, BUSY, DND or OUT_OF_OFFICE, with an
 * optional note and end time (0 = open-ended; must be in the future). Saved
 * at once; publishes a presence event when anything changed. UCD_OK,
 * UCD_E_NOT_FOUND (user), UCD_E_INVALID (state or end time). */
int core_model_set_manual(core_model *m, const char *user, ucd_presence_state state,
                          const char *note, int64_t until_ms);

#endif /* CORE_MODEL_PRESENCE_H */
