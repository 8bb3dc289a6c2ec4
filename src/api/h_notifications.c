#include "api/h_notifications.h"

#include "api/hutil.h"
#include "api/json_err.h"
#include "api/notify.h"
#include "api/request.h"
#include "core/alloc.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>

void h_notifications_list(struct api_request *req, struct api_response *res)
{
    struct store_page page;
    if (!hutil_have_store(req, res) || hutil_page(req, res, HUTIL_PAGE_DEFAULT, &page) != 0)
        return;
    char unread[8] = "";
    int rc = api_query_get(req->query ? req->query : "", "unread", unread, sizeof unread);
    if ((rc != ATP_OK && rc != ATP_ENOTFOUND) ||
        (rc == ATP_OK && strcmp(unread, "") && strcmp(unread, "0") && strcmp(unread, "1") &&
         strcmp(unread, "true") && strcmp(unread, "false"))) {
        api_error(res, 422, "invalid_query", "unread", "unread is 1 (only unread ones) or 0");
        return;
    }
    int unread_only = !strcmp(unread, "1") || !strcmp(unread, "true");
    struct store_notification *out = atp_calloc(page.limit, sizeof *out);
    struct store_page_out po = {0};
    if (!out || store_notif_list(req->store, req->user_id, unread_only, &page, out, &po, NULL) != ATP_OK) {
        atp_free(out);
        api_error(res, 500, "internal", NULL, "cannot list the notifications");
        return;
    }
    json_t *items = json_array();
    for (uint32_t i = 0; items && i < po.count; i++)
        json_array_append_new(items, notify_json(&out[i]));
    atp_free(out);
    res->json = hutil_list(items, po.next_cursor);
}

void h_notifications_read(struct api_request *req, struct api_response *res)
{
    if (!hutil_have_store(req, res))
        return;
    int64_t id = hutil_parse_id(api_param(req, "id"));
    if (!id || store_notif_mark_read(req->store, req->user_id, id, NULL) != ATP_OK) {
        api_error(res, 404, "not_found", NULL, "no such notification");
        return;
    }
    res->json = json_pack("{s:I, s:b}", "id", (json_int_t)id, "read", 1);
}

void h_notifications_read_all(struct api_request *req, struct api_response *res)
{
    if (!hutil_have_store(req, res))
        return;
    int n = 0;
    if (store_notif_mark_all_read(req->store, req->user_id, &n, NULL) != ATP_OK) {
        api_error(res, 500, "internal", NULL, "cannot mark the notifications read");
        return;
    }
    res->json = json_pack("{s:i}", "marked", n);
}

/* ---- preferences ---- */

/* Every type x channel with its effective value, into res. */
static void answer_prefs(struct api_request *req, struct api_response *res)
{
    unsigned char *enabled = atp_calloc(notify_n_types * NOTIFY_N_CHANNELS, 1);
    if (!enabled || notify_prefs_get(req->store, req->user_id, enabled, NULL) != ATP_OK) {
        atp_free(enabled);
        api_error(res, 500, "internal", NULL, "cannot read the preferences");
        return;
    }
    json_t *items = json_array();
    for (size_t t = 0; items && t < notify_n_types; t++)
        for (int c = 0; c < NOTIFY_N_CHANNELS; c++)
            json_array_append_new(items, json_pack("{s:s, s:s, s:b, s:b, s:s}", "type", notify_types[t].name,
                                                   "channel", notify_channel_name(c), "enabled",
                                                   enabled[t * NOTIFY_N_CHANNELS + (size_t)c], "delivered",
                                                   notify_channel_delivered(c), "summary",
                                                   notify_types[t].summary));
    atp_free(enabled);
    res->json = hutil_list(items, 0);
}

void h_notifications_prefs_get(struct api_request *req, struct api_response *res)
{
    if (hutil_have_store(req, res))
        answer_prefs(req, res);
}

const struct api_field h_notifications_prefs_body[] = {
    {"items", API_FT_ARRAY, 1, 64, "[{type, channel, enabled}]: the preferences to set (others keep theirs)"},
    {NULL, 0, 0, 0, NULL},
};

void h_notifications_prefs_put(struct api_request *req, struct api_response *res)
{
    if (!hutil_have_store(req, res))
        return;
    json_t *items = json_object_get(req->json, "items");
    size_t n = json_array_size(items);
    char field[48];
    /* All checked before any is stored: a bad item changes nothing. */
    for (size_t i = 0; i < n; i++) {
        json_t *it = json_array_get(items, i);
        const char *type = json_string_value(json_object_get(it, "type"));
        const char *channel = json_string_value(json_object_get(it, "channel"));
        json_t *enabled = json_object_get(it, "enabled");
        if (!json_is_object(it) || json_object_size(it) != 3 || !type || !channel || !json_is_boolean(enabled)) {
            snprintf(field, sizeof field, "items[%zu]", i);
            api_error(res, 422, "invalid_field", field,
                      "each item is {\"type\": string, \"channel\": string, \"enabled\": true|false}");
            return;
        }
        if (notify_type_index(type) < 0) {
            snprintf(field, sizeof field, "items[%zu].type", i);
            api_error(res, 422, "invalid_field", field, "unknown notification type '%.64s'", type);
            return;
        }
        if (notify_channel_index(channel) < 0) {
            snprintf(field, sizeof field, "items[%zu].channel", i);
            api_error(res, 422, "invalid_field", field, "unknown channel '%.32s' (in_app, email, telegram)",
                      channel);
            return;
        }
    }
    for (size_t i = 0; i < n; i++) {
        json_t *it = json_array_get(items, i);
        struct store_notif_pref p;
        memset(&p, 0, sizeof p);
        p.user_id = req->user_id;
        snprintf(p.type, sizeof p.type, "%s", json_string_value(json_object_get(it, "type")));
        snprintf(p.channel, sizeof p.channel, "%s", json_string_value(json_object_get(it, "channel")));
        p.enabled = json_is_true(json_object_get(it, "enabled"));
        if (store_pref_set(req->store, &p, NULL) != ATP_OK) {
            api_error(res, 500, "internal", NULL, "cannot store the preferences");
            return;
        }
    }
    answer_prefs(req, res);
}
