/*
 * party.h - who the remote party of a call is.
 *
 * A PBX sends a number and, at best, the name its own phonebook has. The
 * model asks the directory first (a colleague's number names the colleague)
 * and then the contact store (the "contacts" service, when a store runs),
 * once per leg and remote number, so a call's events, `ucctl calls`, the
 * client API and the journal's names all say the same.
 */
#ifndef CORE_MODEL_PARTY_H
#define CORE_MODEL_PARTY_H

#include <glib.h>

#include "directory.h"

/* The identified remote party; every member NULL when unknown. Owned. */
typedef struct core_party {
    char *name;
    char *company;
    char *source;  /* "directory" for a user, else the contact source's module id */
    char *user_id; /* the user, when `source` is "directory" */
} core_party;

/* Fills `out` (cleared first) for the remote number `raw` as driver `driver`
 * sent it: the directory's user owning the number (or the line of that
 * address on the same driver: an internal call), else the best hit of
 * the contact store, else nothing. A withheld or empty number finds
 * nothing. Main loop; answers from memory (the store's lookup never waits
 * for a replication). */
void core_party_identify(core_model *m, const char *driver, const char *raw, core_party *out);

/* TRUE when `a` and `b` name the same party (both unknown counts). */
gboolean core_party_same(const core_party *a, const core_party *b);

/* Frees the members of `p` and sets them NULL. */
void core_party_clear(core_party *p);

#endif /* CORE_MODEL_PARTY_H */
