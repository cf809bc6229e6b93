/*
 * test-loader-order.c - core_loader_order(): providers before their users,
 * optional uses honoured only when a provider exists, and each reason a module
 * cannot start (missing provider, cycle, exclusive conflict, failed provider)
 * named on the item, with failed items moved to the end.
 */
#include <glib.h>
#include <string.h>

#include "loader.h"

/* Service declaration lists used by the tests: NULL-name terminated. */
static const ucd_service_decl P_A[] = {UCD_PROVIDE("svc.a", 1, 0, 0), {NULL}};
static const ucd_service_decl P_B[] = {UCD_PROVIDE("svc.b", 1, 0, 0), {NULL}};
static const ucd_service_decl P_C[] = {UCD_PROVIDE("svc.c", 1, 0, 0), {NULL}};
static const ucd_service_decl P_JOURNAL_2[] = {UCD_PROVIDE("journal", 2, 0, 0), {NULL}};
static const ucd_service_decl P_EXCL[] = {UCD_PROVIDE("test.excl", 1, 0, UCD_SERVICE_EXCLUSIVE),
                                          {NULL}};
static const ucd_service_decl P_EXCL_PLAIN[] = {UCD_PROVIDE("test.excl", 1, 0, 0), {NULL}};
static const ucd_service_decl R_A[] = {UCD_NEED("svc.a", 1, 0), {NULL}};
static const ucd_service_decl R_B[] = {UCD_NEED("svc.b", 1, 0), {NULL}};
static const ucd_service_decl R_C[] = {UCD_NEED("svc.c", 1, 0), {NULL}};
static const ucd_service_decl R_JOURNAL_1[] = {UCD_NEED("journal", 1, 0), {NULL}};
static const ucd_service_decl R_EXCL[] = {UCD_NEED("test.excl", 1, 0), {NULL}};
/* Minors (host 1.4): a provider of svc.v 1.2 and one of 1.5; needs of 1.3. */
static const ucd_service_decl P_V_1_2[] = {UCD_PROVIDE("svc.v", 1, 2, 0), {NULL}};
static const ucd_service_decl P_V_1_5[] = {UCD_PROVIDE("svc.v", 1, 5, 0), {NULL}};
static const ucd_service_decl N_V_1_2[] = {UCD_NEED("svc.v", 1, 2), {NULL}};
static const ucd_service_decl N_V_1_3[] = {UCD_NEED("svc.v", 1, 3), {NULL}};

static void item_free(gpointer data)
{
    core_order_item *item = data;
    g_free(item->error);
    g_free(item->user_data); /* the descriptor */
    g_free(item);
}

static GPtrArray *items_new(void)
{
    return g_ptr_array_new_with_free_func(item_free);
}

static void add(GPtrArray *items, const char *id, const ucd_service_decl *provides,
                const ucd_service_decl *requires, const ucd_service_decl *uses)
{
    ucd_plugin_descriptor *desc = g_new0(ucd_plugin_descriptor, 1);
    core_order_item *item = g_new0(core_order_item, 1);

    desc->struct_size = sizeof(*desc);
    desc->name = id;
    desc->provides = provides;
    desc->requires = requires;
    desc->uses = uses;
    item->id = id;
    item->desc = desc;
    item->user_data = desc;
    g_ptr_array_add(items, item);
}

/* A module as the tests declare it: its id and its service lists. */
typedef struct module {
    const char *id;
    const ucd_service_decl *provides, *requires, *uses;
} module;

/* The modules given, in that order, ended by one with no id. */
#define MODULES(...) ((const module[]){__VA_ARGS__, {NULL}})

/* `modules` as loader items in their order, then put in order by
 * core_loader_order(). */
static GPtrArray *order_modules(const module *modules)
{
    GPtrArray *items = items_new();
    for (const module *m = modules; m->id; m++)
        add(items, m->id, m->provides, m->requires, m->uses);
    core_loader_order(items);
    return items;
}

static core_order_item *at(GPtrArray *items, guint i)
{
    return g_ptr_array_index(items, i);
}

/* The ids in their current order, space separated, failed ones marked "!". */
static char *order_of(GPtrArray *items)
{
    GString *order = g_string_new(NULL);

    for (guint i = 0; i < items->len; i++)
        g_string_append_printf(order, "%s%s%s", i ? " " : "", at(items, i)->error ? "!" : "",
                               at(items, i)->id);
    return g_string_free(order, FALSE);
}

static void assert_order(GPtrArray *items, const char *expected)
{
    g_autofree char *order = order_of(items);
    g_assert_cmpstr(order, ==, expected);
}

static const char *error_of(GPtrArray *items, const char *id)
{
    for (guint i = 0; i < items->len; i++)
        if (strcmp(at(items, i)->id, id) == 0) {
            g_test_message("%s: %s", id, at(items, i)->error ? at(items, i)->error : "(none)");
            return at(items, i)->error;
        }
    g_error("no item %s", id);
}

static void assert_error(GPtrArray *items, const char *id, const char *needle)
{
    const char *error = error_of(items, id);
    g_assert_nonnull(error);
    if (strstr(error, needle) == NULL)
        g_error("%s: expected \"%s\" in \"%s\"", id, needle, error);
}

static void test_chain(void)
{
    g_autoptr(GPtrArray) items = order_modules(
        MODULES({"c", NULL, R_B, NULL}, {"b", P_B, R_A, NULL}, {"a", P_A, NULL, NULL}));
    assert_order(items, "a b c");
}

static void test_uses_orders_when_provider_exists(void)
{
    g_autoptr(GPtrArray) items = order_modules(MODULES(
        {"user", NULL, NULL, P_A}, {"loner", NULL, NULL, P_C}, {"provider", P_A, NULL, NULL}));
    /* "loner" uses a service nobody provides: no error, no constraint. */
    assert_order(items, "loner provider user");
}

/* A uses edge that closes a cycle with a requires edge is dropped: the
 * requirement decides. */
static void test_uses_cycle_is_not_an_error(void)
{
    g_autoptr(GPtrArray) items =
        order_modules(MODULES({"a", P_A, NULL, R_B}, {"b", P_B, R_A, NULL}));
    assert_order(items, "a b");
}

static void test_missing_provider(void)
{
    g_autoptr(GPtrArray) items = order_modules(MODULES({"journal-sink", NULL, R_JOURNAL_1, NULL},
                                                       {"journal-v2", P_JOURNAL_2, NULL, NULL}));
    /* A provider of major 2 does not satisfy major 1. */
    assert_order(items, "journal-v2 !journal-sink");
    assert_error(items, "journal-sink",
                 "requires service 'journal' (major 1), which no enabled module provides");
    g_assert_null(error_of(items, "journal-v2"));
}

/* A required service older than asked for fails the module, naming the
 * service, the provider and both versions; the same minor or newer will do. */
static void test_required_minor(void)
{
    g_autoptr(GPtrArray) items =
        order_modules(MODULES({"needs-1.3", NULL, N_V_1_3, NULL},
                              {"needs-1.2", NULL, N_V_1_2, NULL}, {"old", P_V_1_2, NULL, NULL}));
    assert_order(items, "old needs-1.2 !needs-1.3");
    g_assert_cmpstr(error_of(items, "needs-1.3"), ==,
                    "requires service 'svc.v' 1.3, but old provides 1.2");
}

/* Each older provider is named; one new enough among them is enough. */
static void test_required_minor_providers(void)
{
    g_autoptr(GPtrArray) items =
        order_modules(MODULES({"needs-1.3", NULL, N_V_1_3, NULL}, {"old-a", P_V_1_2, NULL, NULL},
                              {"old-b", P_V_1_2, NULL, NULL}));
    g_assert_cmpstr(error_of(items, "needs-1.3"), ==,
                    "requires service 'svc.v' 1.3, but old-a provides 1.2, old-b provides 1.2");

    g_autoptr(GPtrArray) more =
        order_modules(MODULES({"needs-1.3", NULL, N_V_1_3, NULL}, {"old", P_V_1_2, NULL, NULL},
                              {"new", P_V_1_5, NULL, NULL}));
    g_assert_null(error_of(more, "needs-1.3"));
    assert_order(more, "old new needs-1.3");
}

/* An older provider of a used service fails nothing: the module runs and is
 * not handed that provider (modules.c), and is still ordered after it. */
static void test_used_minor_older(void)
{
    g_autoptr(GPtrArray) items =
        order_modules(MODULES({"uses-1.3", NULL, NULL, N_V_1_3}, {"old", P_V_1_2, NULL, NULL}));
    assert_order(items, "old uses-1.3");
    g_assert_null(error_of(items, "uses-1.3"));
}

static void test_self_does_not_satisfy(void)
{
    g_autoptr(GPtrArray) items = order_modules(MODULES({"proxy", P_A, R_A, NULL}));
    assert_error(items, "proxy", "requires service 'svc.a' (major 1)");
}

static void test_cycle_named(void)
{
    g_autoptr(GPtrArray) items =
        order_modules(MODULES({"free", NULL, NULL, NULL}, {"b", P_B, R_A, NULL},
                              {"a", P_A, R_B, NULL}, {"after-a", NULL, R_A, NULL}));
    assert_order(items, "free !b !a !after-a");
    assert_error(items, "a", "b -> a -> b");
    assert_error(items, "b", "b -> a -> b");
    assert_error(items, "after-a", "requires service 'svc.a' whose only provider 'a' cannot start");
}

static void test_three_cycle_named(void)
{
    g_autoptr(GPtrArray) items =
        order_modules(MODULES({"x", P_A, R_B, NULL}, {"y", P_B, R_C, NULL}, {"z", P_C, R_A, NULL}));
    assert_order(items, "!x !y !z");
    assert_error(items, "z", "dependency cycle: x -> y -> z -> x");
}

static void test_exclusive_twice(void)
{
    g_autoptr(GPtrArray) items = order_modules(
        MODULES({"excl-a", P_EXCL, NULL, NULL}, {"other", NULL, NULL, NULL},
                {"excl-b", P_EXCL_PLAIN, NULL, NULL}, {"consumer", NULL, R_EXCL, NULL}));
    assert_order(items, "other !excl-a !excl-b !consumer");
    assert_error(items, "excl-a", "exclusive service 'test.excl', which 'excl-b' also provides");
    assert_error(items, "excl-b", "exclusive service 'test.excl', which 'excl-a' also provides");
    assert_error(items, "consumer", "whose providers 'excl-a', 'excl-b' cannot start");
}

static void test_exclusive_once_is_fine(void)
{
    g_autoptr(GPtrArray) items =
        order_modules(MODULES({"consumer", NULL, R_EXCL, NULL}, {"excl-a", P_EXCL, NULL, NULL}));
    assert_order(items, "excl-a consumer");
}

static void test_transitive_failure(void)
{
    g_autoptr(GPtrArray) items =
        order_modules(MODULES({"c", P_C, R_B, NULL}, {"b", P_B, R_A, NULL},
                              {"a", P_A, R_JOURNAL_1, NULL}, {"ok", NULL, NULL, NULL}));
    assert_order(items, "ok !c !b !a");
    assert_error(items, "a", "requires service 'journal' (major 1), which no enabled module");
    assert_error(items, "b", "requires service 'svc.a' whose only provider 'a' cannot start");
    assert_error(items, "c", "requires service 'svc.b' whose only provider 'b' cannot start");
}

/* A second provider keeps a user alive when the first one fails. */
static void test_other_provider_survives(void)
{
    g_autoptr(GPtrArray) items = order_modules(MODULES(
        {"broken", P_A, R_JOURNAL_1, NULL}, {"user", NULL, R_A, NULL}, {"spare", P_A, NULL, NULL}));
    assert_order(items, "spare user !broken");
}

/* An item the caller already failed provides nothing. */
static void test_prefailed_item(void)
{
    g_autoptr(GPtrArray) items = items_new();

    add(items, "user", NULL, R_A, NULL);
    add(items, "provider", P_A, NULL, NULL);
    at(items, 1)->error = g_strdup("could not load");
    core_loader_order(items);
    assert_order(items, "!user !provider");
    g_assert_cmpstr(error_of(items, "provider"), ==, "could not load");
    assert_error(items, "user", "whose only provider 'provider' cannot start");
}

static void test_stable(void)
{
    g_autoptr(GPtrArray) items = order_modules(MODULES(
        {"m1", NULL, NULL, NULL}, {"needs-a", NULL, R_A, NULL}, {"m2", NULL, NULL, NULL},
        {"a", P_A, NULL, NULL}, {"m3", NULL, NULL, NULL}, {"also-needs-a", NULL, R_A, NULL}));
    assert_order(items, "m1 m2 a needs-a m3 also-needs-a");

    /* Sorting a sorted list changes nothing. */
    core_loader_order(items);
    assert_order(items, "m1 m2 a needs-a m3 also-needs-a");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/loader/order/chain", test_chain);
    g_test_add_func("/loader/order/uses", test_uses_orders_when_provider_exists);
    g_test_add_func("/loader/order/uses-cycle", test_uses_cycle_is_not_an_error);
    g_test_add_func("/loader/order/missing-provider", test_missing_provider);
    g_test_add_func("/loader/order/self-does-not-satisfy", test_self_does_not_satisfy);
    g_test_add_func("/loader/order/required-minor", test_required_minor);
    g_test_add_func("/loader/order/required-minor-providers", test_required_minor_providers);
    g_test_add_func("/loader/order/used-minor-older", test_used_minor_older);
    g_test_add_func("/loader/order/cycle", test_cycle_named);
    g_test_add_func("/loader/order/three-cycle", test_three_cycle_named);
    g_test_add_func("/loader/order/exclusive-twice", test_exclusive_twice);
    g_test_add_func("/loader/order/exclusive-once", test_exclusive_once_is_fine);
    g_test_add_func("/loader/order/transitive-failure", test_transitive_failure);
    g_test_add_func("/loader/order/other-provider", test_other_provider_survives);
    g_test_add_func("/loader/order/prefailed", test_prefailed_item);
    g_test_add_func("/loader/order/stable", test_stable);
    return g_test_run();
}
