#include "api/json_err.h"

#include <stdarg.h>
#include <stdio.h>

json_t *api_error_json(const char *code, const char *field, const char *message)
{
    json_t *inner = json_pack("{s:s, s:s}", "code", code ? code : "error", "message",
                              message ? message : "");
    if (!inner)
        return NULL;
    if (field && field[0] && json_object_set_new(inner, "field", json_string(field)) != 0) {
        json_decref(inner);
        return NULL;
    }
    return json_pack("{s:o}", "error", inner);
}

void api_error(struct api_response *res, int status, const char *code, const char *field,
               const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_decref(res->json);
    res->status = status;
    res->json = api_error_json(code, field, msg);
}

const char *api_status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 422: return "Unprocessable Content";
    case 423: return "Locked";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}
