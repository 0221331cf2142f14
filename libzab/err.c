/*
 * err.c -- error strings, names and small static tables of the public API.
 *
 * Generated from ZAB_ERRNO_MAP in zab.h, so codes and strings cannot drift.
 * Every function returns a static string, also for unknown values.
 */
#include "zab.h"

const char *zab_strerror(int err)
{
    switch (err) {
    case ZAB_OK:
        return "success";
#define ZAB__ERR_STR(name, value, text) \
    case ZAB_##name:                    \
        return text;
        ZAB_ERRNO_MAP(ZAB__ERR_STR)
#undef ZAB__ERR_STR
    default:
        return "unknown error";
    }
}

const char *zab_err_name(int err)
{
    switch (err) {
    case ZAB_OK:
        return "ZAB_OK";
#define ZAB__ERR_NAME(name, value, text) \
    case ZAB_##name:                     \
        return "ZAB_" #name;
        ZAB_ERRNO_MAP(ZAB__ERR_NAME)
#undef ZAB__ERR_NAME
    default:
        return "ZAB_UNKNOWN";
    }
}

int zab_version(void)
{
    return ZAB_VERSION_NUMBER;
}

#define ZAB__STR2(x) #x
#define ZAB__STR(x) ZAB__STR2(x)

const char *zab_version_string(void)
{
    return ZAB__STR(ZAB_VERSION_MAJOR) "." ZAB__STR(
        ZAB_VERSION_MINOR) "." ZAB__STR(ZAB_VERSION_PATCH);
}

const char *zab_role_name(int role)
{
    switch (role) {
    case ZAB_LOOKING:
        return "looking";
    case ZAB_FOLLOWING:
        return "following";
    case ZAB_LEADING:
        return "leading";
    case ZAB_OBSERVING:
        return "observing";
    default:
        return "unknown";
    }
}

static const char *const stat_names[ZAB_STAT__COUNT] = {
    "role",           "leader",          "serving",
    "accepted_epoch", "current_epoch",   "election_epoch",
    "last_zxid",      "durable_zxid",    "committed_zxid",
    "delivered_zxid", "outstanding",     "pending_bytes",
    "msgs_sent",      "msgs_received",   "bytes_sent",
    "bytes_received", "msgs_malformed",  "msgs_ignored",
    "send_errors",    "proposals",       "commits",
    "deliveries",     "elections",       "epochs_led",
    "sync_diff",      "sync_trunc",      "sync_snap",
    "sync_late",      "sync_observer",   "requests_forwarded",
    "requests_dropped", "barriers",      "disk_failed",
};

const char *zab_stat_name(int which)
{
    if (which < 0 || which >= ZAB_STAT__COUNT) {
        return 0;
    }
    return stat_names[which];
}
