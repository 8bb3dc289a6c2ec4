/* api/request: parsing of the parts of a request the HTTP library leaves to us, all of it input
 * from the network: the request id header, the query string and the JSON body against a route's
 * schema. Never trusts lengths, never crashes, names the field at fault. Pure (no I/O). */
#ifndef ATP_API_REQUEST_H
#define ATP_API_REQUEST_H

#include <stddef.h>

#include "api/router.h"
#include "core/err.h"

#define API_REQUEST_ID_MAX 64 /* longest accepted X-Request-Id, bytes */

/* 1 when text is an acceptable client request id: 1..64 of [A-Za-z0-9._:-]. Others are
 * replaced by a generated one (they end up in logs, so no quotes, spaces or control bytes). */
int api_request_id_valid(const char *text);

/* Value of query parameter name in query ("a=1&b=x%20y"), percent- and '+'-decoded into out
 * (NUL-terminated). ATP_OK; ATP_ENOTFOUND when absent; ATP_EPARSE for a bad %-escape or a
 * decoded NUL; ATP_ERANGE when it does not fit out_size. A key without '=' has value "". On
 * failure out is "" (when out_size > 0). */
int api_query_get(const char *query, const char *name, char *out, size_t out_size);

/* Percent-decodes src[0..len) into out (NUL-terminated). ATP_EPARSE for a bad escape or a
 * decoded NUL, ATP_ERANGE when it does not fit; out is then "". plus_is_space: query-string
 * rules. */
int api_percent_decode(const char *src, size_t len, char *out, size_t out_size, int plus_is_space);

/* Parses body[0..len) as a JSON object and checks it against fields (NULL-name terminated).
 * ATP_OK with *out a new reference. Otherwise *out = NULL and err names the field: "body" for
 * malformed JSON or a non-object (message with line and column), the field's name for a missing
 * required field, a wrong type, an over-long string or an unknown field (cut to a whole UTF-8
 * character; "body" for an empty key). */
int api_body_parse(const char *body, size_t len, const struct api_field *fields, json_t **out,
                   struct atp_err *err);

#endif
