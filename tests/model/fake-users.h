/*
 * fake-users.h - a fake users backend: a fixed table of users, the users a
 * test adds on top, and one group, served through the users interface
 * (impl: the fake_users). Shared by the model's tests.
 */
#ifndef TESTS_MODEL_FAKE_USERS_H
#define TESTS_MODEL_FAKE_USERS_H

#include <glib.h>
#include <ucd/users.h>

typedef struct fake_users {
    const ucd_user *fixed; /* listed first, in this order */
    size_t n_fixed;
    ucd_group group;  /* the backend's only group */
    GPtrArray *extra; /* ucd_user * a test adds (owned, strings in `strings`) */
    GPtrArray *strings;
} fake_users;

/* The users service over a fake_users: all users, then its group. */
extern const ucd_users_v1 fake_users_iface;

/* Sets up `b` with `n` fixed users and group `id`/`name`/`description`
 * led by `leaders`; no extra users yet. */
void fake_users_init(fake_users *b, const ucd_user *fixed, size_t n, const char *id,
                     const char *name, const char *description, const char *const *leaders);

/* Frees the users a test added and their strings. */
void fake_users_clear(fake_users *b);

/* A copy of `s` that lives as long as `b`, for the strings of an added user. */
const char *fake_users_keep(fake_users *b, const char *s);

#endif /* TESTS_MODEL_FAKE_USERS_H */
