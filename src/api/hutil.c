#include "api/hutil.h"

#include "api/json_err.h"
#include "api/request.h"
#include "core/err.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_PER_S 1000000000LL

int64_t hutil_parse_id(const char *text)
{
    if (!text || !text[0] || strlen(text) > 18)
        return 0;
    int64_t v = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        v = v * 10 + (*p - '0');
    }
    return v;
}

/* Query parameter name into buf; 1 present (maybe empty), 0 absent, -1 malformed (res set). */
static int query_text(struct api_request *req, struct api_response *res, const char *name, char *buf,
                      size_t size)
{
    int rc = api_query_get(req->query ? req->query : "", name, buf, size);
    if (rc == ATP_ENOTFOUND)
        return 0;
    if (rc != ATP_OK) {
        api_error(res, 422, "invalid_query", name, "the query parameter %s is malformed or too long", name);
        return -1;
    }
    return 1;
}

int hutil_query_id(struct api_request *req, struct api_response *res, const char *name, int64_t *out)
{
    char buf[32];
    *out = 0;
    int got = query_text(req, res, name, buf, sizeof buf);
    if (got <= 0 || !buf[0])
        return got < 0 ? -1 : 0;
    *out = hutil_parse_id(buf);
    if (!*out) {
        api_error(res, 422, "invalid_query", name, "%s must be a positive integer", name);
        return -1;
    }
    return 0;
}

int hutil_page(struct api_request *req, struct api_response *res, uint32_t default_limit,
               struct store_page *page)
{
    page->cursor = 0;
    page->limit = default_limit;
    if (hutil_query_id(req, res, "cursor", &page->cursor) != 0)
        return -1;
    int64_t limit = 0;
    if (hutil_query_id(req, res, "limit", &limit) != 0)
        return -1;
    if (limit > (int64_t)STORE_PAGE_MAX) {
        api_error(res, 422, "invalid_query", "limit", "limit must be 1..%u", STORE_PAGE_MAX);
        return -1;
    }
    if (limit)
        page->limit = (uint32_t)limit;
    return 0;
}

char *hutil_iso8601(int64_t ns, char buf[HUTIL_ISO_MAX])
{
    buf[0] = '\0';
    if (ns == 0)
        return buf;
    int64_t s = ns / NS_PER_S, frac = ns % NS_PER_S;
    if (frac < 0) { /* floor division for times before 1970 */
        s--;
        frac += NS_PER_S;
    }
    time_t t = (time_t)s;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return buf;
    snprintf(buf, HUTIL_ISO_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(frac / 1000000));
    return buf;
}

json_t *hutil_list(json_t *items, int64_t next_cursor)
{
    if (!items)
        return NULL;
    json_t *o = json_pack("{s:o}", "items", items);
    if (o && next_cursor)
        json_object_set_new(o, "next_cursor", json_integer(next_cursor));
    return o;
}

struct hutil_actor hutil_actor_of(const struct api_request *req)
{
    struct hutil_actor a = {req->user_id, req->client_ip, req->user_agent, req->request_id};
    return a;
}

void hutil_audit(struct store *s, const struct hutil_actor *who, int64_t account_id, const char *action,
                 const char *resource, const char *result, json_t *details)
{
    struct store_audit a;
    memset(&a, 0, sizeof a);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    a.ts_ns = (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
    a.user_id = who->user_id;
    a.account_id = account_id;
    snprintf(a.action, sizeof a.action, "%s", action);
    snprintf(a.resource, sizeof a.resource, "%s", resource ? resource : "");
    snprintf(a.ip, sizeof a.ip, "%s", who->ip ? who->ip : "");
    snprintf(a.user_agent, sizeof a.user_agent, "%s", who->user_agent ? who->user_agent : "");
    snprintf(a.result, sizeof a.result, "%s", result);
    if (!details)
        details = json_object();
    if (details && who->request_id)
        json_object_set_new(details, "request_id", json_string(who->request_id));
    char *text = details ? json_dumps(details, JSON_COMPACT) : NULL;
    snprintf(a.details, sizeof a.details, "%s", text ? text : "{}");
    free(text);
    json_decref(details);
    int64_t id;
    struct atp_err err;
    atp_err_clear(&err);
    if (store_audit_append(s, &a, &id, &err) != ATP_OK)
        atp_log_kv(LOG_ERROR, "audit", "request_id", who->request_id ? who->request_id : "-",
                   "audit %s failed: %s", action, err.msg);
}

int hutil_have_store(struct api_request *req, struct api_response *res)
{
    if (req->store)
        return 1;
    api_error(res, 503, "unavailable", NULL, "the server has no store");
    return 0;
}
