/*
 * test-auth-ratelimit.c - the failed-login limit (auth-ratelimit.h) on a
 * clock the test moves: the window slides, logins and addresses are
 * counted apart, a success forgets the login's failures only, attempts in
 * flight count, Retry-After says when the next try may succeed.
 */
#include "auth-ratelimit.h"

static gint64 fake_now;

static gint64 fake_clock(gpointer data)
{
    (void)data;
    return fake_now;
}

static void fail(auth_ratelimit *rl, const char *login, const char *address)
{
    guint retry = 0;
    g_assert_true(auth_ratelimit_begin(rl, login, address, &retry));
    auth_ratelimit_end(rl, login, address, AUTH_ATTEMPT_FAILED);
}

static guint refused_for(auth_ratelimit *rl, const char *login, const char *address)
{
    guint retry = 0;
    g_assert_false(auth_ratelimit_begin(rl, login, address, &retry));
    return retry;
}

static void test_sliding_window(void)
{
    fake_now = 1000000;
    auth_ratelimit *rl = auth_ratelimit_new(3, 60000, fake_clock, NULL);
    fail(rl, "alice", "10.0.0.1"); /* t=0 */
    fake_now += 30000;
    fail(rl, "alice", "10.0.0.2"); /* t=30 */
    fake_now += 10000;
    fail(rl, "alice", "10.0.0.3"); /* t=40 */
    /* three failures in the window: refused until the first leaves it */
    fake_now += 19000; /* t=59 */
    g_assert_cmpuint(refused_for(rl, "alice", "10.0.0.4"), ==, 1);
    fake_now -= 9000;                                               /* t=50 */
    g_assert_cmpuint(refused_for(rl, "ALICE", "10.0.0.4"), ==, 10); /* logins case-folded */
    fake_now += 10000; /* t=60: the first failure is out */
    fail(rl, "alice", "10.0.0.5");
    /* now t=30, 40, 60 in the window: the next frees at t=90 */
    g_assert_cmpuint(refused_for(rl, "alice", "10.0.0.6"), ==, 30);
    /* another login from fresh addresses is not affected */
    guint retry = 0;
    g_assert_true(auth_ratelimit_begin(rl, "bob", "10.0.0.7", &retry));
    auth_ratelimit_end(rl, "bob", "10.0.0.7", AUTH_ATTEMPT_NEUTRAL);
    fake_now += 61000;
    g_assert_true(auth_ratelimit_begin(rl, "alice", "10.0.0.8", &retry));
    auth_ratelimit_end(rl, "alice", "10.0.0.8", AUTH_ATTEMPT_NEUTRAL);
    auth_ratelimit_free(rl);
}

static void test_per_address(void)
{
    fake_now = 5000;
    auth_ratelimit *rl = auth_ratelimit_new(2, 60000, fake_clock, NULL);
    fail(rl, "u1", "192.0.2.9");
    fail(rl, "u2", "192.0.2.9");
    /* a third login from the same address: the address is over */
    g_assert_cmpuint(refused_for(rl, "u3", "192.0.2.9"), ==, 60);
    /* u1 itself is fine from elsewhere */
    guint retry = 0;
    g_assert_true(auth_ratelimit_begin(rl, "u1", "192.0.2.10", &retry));
    auth_ratelimit_end(rl, "u1", "192.0.2.10", AUTH_ATTEMPT_SUCCEEDED);
    auth_ratelimit_free(rl);
}

static void test_success_resets_login(void)
{
    fake_now = 0;
    auth_ratelimit *rl = auth_ratelimit_new(2, 60000, fake_clock, NULL);
    fail(rl, "carol", "a1");
    guint retry = 0;
    g_assert_true(auth_ratelimit_begin(rl, "carol", "a2", &retry));
    auth_ratelimit_end(rl, "carol", "a2", AUTH_ATTEMPT_SUCCEEDED);
    /* the login's failure is forgotten: two more may fail */
    fail(rl, "carol", "a3");
    fail(rl, "carol", "a4");
    g_assert_cmpuint(refused_for(rl, "carol", "a5"), ==, 60);
    /* the address a1 keeps its failure: one more fills it */
    fail(rl, "dave", "a1");
    g_assert_cmpuint(refused_for(rl, "erin", "a1"), ==, 60);
    auth_ratelimit_free(rl);
}

static void test_in_flight(void)
{
    fake_now = 0;
    auth_ratelimit *rl = auth_ratelimit_new(2, 60000, fake_clock, NULL);
    guint retry = 0;
    g_assert_true(auth_ratelimit_begin(rl, "frank", "b1", &retry));
    g_assert_true(auth_ratelimit_begin(rl, "frank", "b2", &retry));
    /* two guesses are being checked: a third waits, briefly */
    g_assert_cmpuint(refused_for(rl, "frank", "b3"), ==, 1);
    auth_ratelimit_end(rl, "frank", "b1", AUTH_ATTEMPT_NEUTRAL);
    g_assert_true(auth_ratelimit_begin(rl, "frank", "b3", &retry));
    auth_ratelimit_end(rl, "frank", "b2", AUTH_ATTEMPT_FAILED);
    auth_ratelimit_end(rl, "frank", "b3", AUTH_ATTEMPT_FAILED);
    g_assert_cmpuint(refused_for(rl, "frank", "b4"), ==, 60);
    auth_ratelimit_free(rl);
}

static void test_forgets(void)
{
    fake_now = 0;
    auth_ratelimit *rl = auth_ratelimit_new(5, 60000, fake_clock, NULL);
    for (int i = 0; i < 100; i++) {
        char address[32], login[32];
        g_snprintf(address, sizeof address, "198.51.100.%d", i);
        g_snprintf(login, sizeof login, "user%d", i);
        fail(rl, login, address);
        fake_now += 10;
    }
    g_assert_cmpuint(auth_ratelimit_size(rl), ==, 200); /* 100 addresses, 100 logins */
    /* entries with nothing left in the window go when touched */
    fake_now += 120000;
    guint retry = 0;
    g_assert_true(auth_ratelimit_begin(rl, "user1", "198.51.100.1", &retry));
    auth_ratelimit_end(rl, "user1", "198.51.100.1", AUTH_ATTEMPT_SUCCEEDED);
    g_assert_cmpuint(auth_ratelimit_size(rl), ==, 198);
    auth_ratelimit_free(rl);
}

static void test_no_limit(void)
{
    auth_ratelimit *rl = auth_ratelimit_new(0, 60000, fake_clock, NULL);
    for (int i = 0; i < 50; i++)
        fail(rl, "grace", "c1");
    g_assert_cmpuint(auth_ratelimit_size(rl), ==, 0);
    auth_ratelimit_free(rl);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/api-auth/ratelimit/sliding-window", test_sliding_window);
    g_test_add_func("/api-auth/ratelimit/per-address", test_per_address);
    g_test_add_func("/api-auth/ratelimit/success-resets-login", test_success_resets_login);
    g_test_add_func("/api-auth/ratelimit/in-flight", test_in_flight);
    g_test_add_func("/api-auth/ratelimit/forgets", test_forgets);
    g_test_add_func("/api-auth/ratelimit/no-limit", test_no_limit);
    return g_test_run();
}
