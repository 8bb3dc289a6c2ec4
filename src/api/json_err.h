/* api/json_err: error responses, always {"error":{"code":"...","message":"...","field":"..."}}
 * (field present only when one field is at fault). Codes are stable snake_case strings clients
 * may switch on (docs/api.md lists them); messages are for people. */
#ifndef ATP_API_JSON_ERR_H
#define ATP_API_JSON_ERR_H

#include "api/router.h"

/* Replaces res's body with the error object and sets its status. field may be NULL. On
 * allocation failure res->json stays NULL and the server answers a bare 500. */
void api_error(struct api_response *res, int status, const char *code, const char *field,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The error object alone (new reference), or NULL on allocation failure. */
json_t *api_error_json(const char *code, const char *field, const char *message);

/* Reason phrase of a status ("Not Found"); "Unknown" for others. */
const char *api_status_text(int status);

#endif
