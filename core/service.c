/*
 * service.c - systemd notification and privilege dropping.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "service.h"

void core_service_ready(const char *status)
{
    sd_notifyf(0, "READY=1\nSTATUS=%s", status ? status : "running");
}

void core_service_reloading(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t usec = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%" G_GUINT64_FORMAT "\nSTATUS=reloading", usec);
}

void core_service_stopping(void)
{
    sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

void core_service_status(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    sd_notifyf(0, "STATUS=%s", msg);
    g_free(msg);
}

static gboolean lookup_ids(const char *user, const char *group, uid_t *uid, gid_t *gid,
                           char **error)
{
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        *error = g_strdup_printf("[core] user '%s' does not exist", user);
        return FALSE;
    }
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    if (group) {
        struct group *gr = getgrnam(group);
        if (!gr) {
            *error = g_strdup_printf("[core] group '%s' does not exist", group);
            return FALSE;
        }
        *gid = gr->gr_gid;
    }
    return TRUE;
}

gboolean core_service_drop_privileges(const char *user, const char *group, char **error)
{
    if (!user)
        return TRUE;
    uid_t uid;
    gid_t gid;
    if (!lookup_ids(user, group, &uid, &gid, error))
        return FALSE;
    if (geteuid() != 0) {
        if (geteuid() == uid)
            return TRUE;
        *error = g_strdup_printf("[core] user is '%s', but ucd runs as uid %u and is not root, "
                                 "so it cannot switch users",
                                 user, (unsigned)geteuid());
        return FALSE;
    }
    /* Order matters: supplementary groups and gid while still root, uid last. */
    if (initgroups(user, gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
        *error = g_strdup_printf("cannot switch to user '%s': %s", user, g_strerror(errno));
        return FALSE;
    }
    if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
        *error = g_strdup_printf("switched to user '%s' but root could be regained", user);
        return FALSE;
    }
    return TRUE;
}

gboolean core_service_make_dir(const char *dir, int mode, const char *user, const char *group,
                               char **error)
{
    if (g_mkdir_with_parents(dir, mode) != 0) {
        *error = g_strdup_printf("cannot create directory %s: %s", dir, g_strerror(errno));
        return FALSE;
    }
    if (user && geteuid() == 0) {
        uid_t uid;
        gid_t gid;
        if (!lookup_ids(user, group, &uid, &gid, error))
            return FALSE;
        if (chown(dir, uid, gid) != 0) {
            *error = g_strdup_printf("cannot hand %s to user '%s': %s", dir, user,
                                     g_strerror(errno));
            return FALSE;
        }
    }
    return TRUE;
}
