#include "api/notify.h"

#include "api/events.h"
#include "api/hutil.h"
#include "core/alloc.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Defaults: everything in-app; security events by email too (once email is delivered, a lockout
 * or a password change is what a user must hear about even when not logged in); telegram is
 * opt-in. */
const struct notify_type notify_types[] = {
    {NOTIFY_SECURITY_LOCKOUT, "your account was locked after failed logins", {1, 1, 0}},
    {NOTIFY_SECURITY_PASSWORD, "your password was changed", {1, 1, 0}},
    {NOTIFY_INVITATION_RECEIVED, "you were invited to a trading account", {1, 0, 0}},
    {NOTIFY_INVITATION_ACCEPTED, "someone accepted your invitation", {1, 0, 0}},
    {NOTIFY_RISK, "risk limits hit or breached", {1, 0, 0}},
    {NOTIFY_ORDER, "order placed, filled, rejected or cancelled", {1, 0, 0}},
    {NOTIFY_STRATEGY, "a strategy started, stopped or failed", {1, 0, 0}},
    {NOTIFY_SYSTEM, "platform announcements and maintenance", {1, 0, 0}},
};
const size_t notify_n_types = sizeof notify_types / sizeof notify_types[0];

static const char *const channel_names[NOTIFY_N_CHANNELS] = {"in_app", "email", "telegram"};

const char *notify_channel_name(int channel)
{
    return channel >= 0 && channel < NOTIFY_N_CHANNELS ? channel_names[channel] : NULL;
}

int notify_channel_delivered(int channel) { return channel == NOTIFY_IN_APP; }

int notify_type_index(const char *name)
{
    for (size_t i = 0; name && i < notify_n_types; i++)
        if (!strcmp(notify_types[i].name, name))
            return (int)i;
    return -1;
}

int notify_channel_index(const char *name)
{
    for (int c = 0; name && c < NOTIFY_N_CHANNELS; c++)
        if (!strcmp(channel_names[c], name))
            return c;
    return -1;
}

int notify_prefs_get(struct store *s, int64_t user_id, unsigned char *enabled, struct atp_err *err)
{
    for (size_t t = 0; t < notify_n_types; t++)
        for (int c = 0; c < NOTIFY_N_CHANNELS; c++)
            enabled[t * NOTIFY_N_CHANNELS + c] = notify_types[t].defaults[c];
    /* A user has at most types x channels rows of known names; unknown ones (a type retired
     * since) are skipped. */
    struct store_page page = {0, 100};
    struct store_notif_pref *rows = atp_calloc(page.limit, sizeof *rows);
    if (!rows)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    int rc = ATP_OK;
    for (;;) {
        struct store_page_out po = {0};
        rc = store_pref_list(s, user_id, &page, rows, &po, err);
        if (rc != ATP_OK)
            break;
        for (uint32_t i = 0; i < po.count; i++) {
            int t = notify_type_index(rows[i].type), c = notify_channel_index(rows[i].channel);
            if (t >= 0 && c >= 0)
                enabled[(size_t)t * NOTIFY_N_CHANNELS + (size_t)c] = rows[i].enabled ? 1 : 0;
        }
        if (!po.next_cursor)
            break;
        page.cursor = po.next_cursor;
    }
    atp_free(rows);
    return rc;
}

json_t *notify_json(const struct store_notification *n)
{
    char ts[HUTIL_ISO_MAX];
    return json_pack("{s:I, s:s, s:s, s:s, s:b, s:s, s:I}", "id", (json_int_t)n->id, "type", n->type, "title",
                     n->title, "body", n->body, "read", n->read, "ts", hutil_iso8601(n->ts_ns, ts), "ts_ns",
                     (json_int_t)n->ts_ns);
}

int notify_user_ex(struct store *s, int64_t user_id, const char *type, const char *title, const char *body,
                   int *delivered, struct atp_err *err)
{
    if (delivered)
        *delivered = 0;
    int t = notify_type_index(type);
    if (t < 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "type", "unknown notification type '%s'", type ? type : "");
    unsigned char enabled[sizeof notify_types / sizeof notify_types[0] * NOTIFY_N_CHANNELS];
    int rc = notify_prefs_get(s, user_id, enabled, err);
    if (rc != ATP_OK)
        return rc;
    if (!enabled[(size_t)t * NOTIFY_N_CHANNELS + NOTIFY_IN_APP])
        return ATP_OK; /* the user turned it off */
    struct store_notification *n = atp_calloc(1, sizeof *n); /* 2.5 KiB: not on a worker's stack */
    if (!n)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    n->user_id = user_id;
    snprintf(n->type, sizeof n->type, "%s", type);
    snprintf(n->title, sizeof n->title, "%s", title ? title : "");
    snprintf(n->body, sizeof n->body, "%s", body ? body : "");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    n->ts_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    int64_t id = 0;
    rc = store_notif_create(s, n, &id, err);
    if (rc == ATP_OK) {
        if (delivered)
            *delivered = 1;
        n->id = id;
        json_t *j = notify_json(n);
        char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (text) {
            struct api_event ev = {"notifications", "notification", 0, user_id, text};
            api_events_publish(&ev);
        }
        free(text); /* jansson's allocator */
        json_decref(j);
    }
    atp_free(n);
    return rc;
}

int notify_user(struct store *s, int64_t user_id, const char *type, const char *title, const char *body)
{
    struct atp_err err;
    atp_err_clear(&err);
    int rc = notify_user_ex(s, user_id, type, title, body, NULL, &err);
    if (rc != ATP_OK)
        atp_log(LOG_ERROR, "notify", "notification %s to user %lld failed: %s", type ? type : "?",
                (long long)user_id, err.msg);
    return rc;
}

void notify_lockout(struct store *s, int64_t user_id, int64_t locked_until_ns)
{
    char until[HUTIL_ISO_MAX], body[160];
    snprintf(body, sizeof body,
             "Three wrong passwords in a row locked your account until %s. If this was not you, change "
             "your password after the lock ends, or ask an admin to unlock it.",
             hutil_iso8601(locked_until_ns, until));
    notify_user(s, user_id, NOTIFY_SECURITY_LOCKOUT, "Your account was locked", body);
}

void notify_password_changed(struct store *s, int64_t user_id)
{
    notify_user(s, user_id, NOTIFY_SECURITY_PASSWORD, "Your password was changed",
                "Your password was changed and your other sessions were logged out. If this was not you, "
                "contact an admin now.");
}
