/* api/hutil: what the admin, notification and broker-connection handlers (and the operator
 * commands that share their logic) have in common: path ids, page query parameters, ISO 8601
 * times, list envelopes and audit records. Pure helpers over a request; no state. Any thread. */
#ifndef ATP_API_HUTIL_H
#define ATP_API_HUTIL_H

#include <stdint.h>

#include "api/router.h"
#include "store/store.h"

#define HUTIL_PAGE_DEFAULT 50u /* a list's page size when ?limit= is absent */
#define HUTIL_ISO_MAX 80       /* "2026-01-05T09:15:00.123Z" + NUL, with room for any int year */

/* A positive decimal id of at most 18 digits, else 0 (so "abc", "0", "-1", "1e3" are 0). */
int64_t hutil_parse_id(const char *text);

/* ?cursor= (a positive id, absent: 0) and ?limit= (1..STORE_PAGE_MAX, absent: default_limit) of
 * req into *page. 0 on success; -1 with a 422 "invalid_query" naming the parameter in res. */
int hutil_page(struct api_request *req, struct api_response *res, uint32_t default_limit,
               struct store_page *page);

/* Optional query parameter name as a positive id into *out (absent or empty: 0). 0, or -1 with a
 * 422 naming it. */
int hutil_query_id(struct api_request *req, struct api_response *res, const char *name, int64_t *out);

/* ns since the epoch as UTC ISO 8601 with milliseconds ("2026-01-05T03:45:00.000Z"); "" for 0.
 * Returns buf. */
char *hutil_iso8601(int64_t ns, char buf[HUTIL_ISO_MAX]);

/* {"items": items, "next_cursor": n} (next_cursor only when n != 0). Steals items; NULL on
 * allocation failure. */
json_t *hutil_list(json_t *items, int64_t next_cursor);

/* Who did an audited action: a request's caller, or the operator at the command line. */
struct hutil_actor {
    int64_t user_id;          /* 0: the operator (command line) or anonymous */
    const char *ip;           /* "cli" for the command line */
    const char *user_agent;
    const char *request_id;   /* NULL outside a request */
};

/* The actor of a request. */
struct hutil_actor hutil_actor_of(const struct api_request *req);

/* Appends an audit record (ts now, result "ok"/"denied"/...). details (stolen, may be NULL) is a
 * JSON object; the request id joins it. Never holds secrets: callers pass names, not values. A
 * failed append is logged (the action itself already happened), never fatal. */
void hutil_audit(struct store *s, const struct hutil_actor *who, int64_t account_id, const char *action,
                 const char *resource, const char *result, json_t *details);

/* 503 "unavailable" when the request has no store; 1 when it has one. */
int hutil_have_store(struct api_request *req, struct api_response *res);

#endif
