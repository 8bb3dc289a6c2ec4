#include "api/request.h"

#include <stdio.h>
#include <string.h>

int api_request_id_valid(const char *text)
{
    size_t n = 0;
    if (!text)
        return 0;
    for (; text[n]; n++) {
        char c = text[n];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == ':' || c == '-';
        if (!ok || n >= API_REQUEST_ID_MAX)
            return 0;
    }
    return n > 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* api_percent_decode without the cleanup: a failure may leave a partial, unterminated value. */
static int percent_decode(const char *src, size_t len, char *out, size_t out_size, int plus_is_space)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '%') {
            if (len - i < 3)
                return ATP_EPARSE;
            int h = hexval(src[i + 1]), l = hexval(src[i + 2]);
            if (h < 0 || l < 0)
                return ATP_EPARSE;
            c = (char)(h * 16 + l);
            i += 2;
            if (c == '\0')
                return ATP_EPARSE;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        } else if (c == '\0') {
            return ATP_EPARSE;
        }
        if (n + 1 >= out_size)
            return ATP_ERANGE;
        out[n++] = c;
    }
    out[n] = '\0';
    return ATP_OK;
}

int api_percent_decode(const char *src, size_t len, char *out, size_t out_size, int plus_is_space)
{
    if (out_size == 0)
        return ATP_ERANGE;
    int rc = percent_decode(src, len, out, out_size, plus_is_space);
    if (rc != ATP_OK)
        out[0] = '\0'; /* a caller ignoring rc must not read a partial, unterminated value */
    return rc;
}

int api_query_get(const char *query, const char *name, char *out, size_t out_size)
{
    size_t name_len = strlen(name);
    const char *p = query;
    if (out_size)
        out[0] = '\0';
    while (p && *p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t key_len = eq ? (size_t)(eq - p) : len;
        char key[128];
        if (key_len > 0 && api_percent_decode(p, key_len, key, sizeof key, 1) == ATP_OK &&
            strlen(key) == name_len && memcmp(key, name, name_len) == 0) {
            if (!eq)
                return out_size ? ATP_OK : ATP_ERANGE;
            return api_percent_decode(eq + 1, len - key_len - 1, out, out_size, 1);
        }
        p = amp ? amp + 1 : NULL;
    }
    return ATP_ENOTFOUND;
}

static const char *type_name(enum api_ftype t)
{
    switch (t) {
    case API_FT_STRING: return "a string";
    case API_FT_INT: return "an integer";
    case API_FT_BOOL: return "a boolean";
    case API_FT_OBJECT: return "an object";
    case API_FT_ARRAY: return "an array";
    case API_FT_DECIMAL: return "a number or a decimal string";
    case API_FT_NUMBER: return "a number";
    }
    return "?";
}

static int type_ok(const json_t *v, enum api_ftype t)
{
    switch (t) {
    case API_FT_STRING: return json_is_string(v);
    case API_FT_INT: return json_is_integer(v);
    case API_FT_BOOL: return json_is_boolean(v);
    case API_FT_OBJECT: return json_is_object(v);
    case API_FT_ARRAY: return json_is_array(v);
    case API_FT_DECIMAL: return json_is_number(v) || json_is_string(v);
    case API_FT_NUMBER: return json_is_number(v);
    }
    return 0;
}

int api_body_parse(const char *body, size_t len, const struct api_field *fields, json_t **out,
                   struct atp_err *err)
{
    json_error_t jerr;
    *out = NULL;
    atp_err_clear(err);
    if (!body || len == 0)
        return atp_err_set(err, ATP_EPARSE, NULL, 0, "body", "a JSON object body is required");
    /* REJECT_DUPLICATES: {"role":"trader","role":"admin"} must not mean whichever came last. */
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return atp_err_set(err, ATP_EPARSE, NULL, 0, "body", "malformed JSON at line %d column %d: %s",
                           jerr.line, jerr.column, jerr.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return atp_err_set(err, ATP_EPARSE, NULL, 0, "body", "the body must be a JSON object");
    }
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value) {
        const struct api_field *f = fields;
        while (f && f->name && strcmp(f->name, key) != 0)
            f++;
        if (!f || !f->name) {
            if (!key[0]) { /* an error without a field would name nothing: the body is at fault */
                json_decref(root);
                return atp_err_set(err, ATP_EINVAL, NULL, 0, "body", "an empty key is not a field");
            }
            /* The key is the client's (valid UTF-8, jansson checked): cut it at a character
             * boundary, or the error answer itself would not be valid JSON text (a 500). */
            char shown[48];
            size_t n = strlen(key);
            if (n >= sizeof shown)
                for (n = sizeof shown - 1; n > 0 && ((unsigned char)key[n] & 0xC0) == 0x80; n--)
                    ;
            memcpy(shown, key, n);
            shown[n] = '\0';
            json_decref(root);
            return atp_err_set(err, ATP_EINVAL, NULL, 0, shown, "unknown field");
        }
    }
    for (const struct api_field *f = fields; f && f->name; f++) {
        json_t *v = json_object_get(root, f->name);
        int rc = ATP_OK;
        if (!v || json_is_null(v)) {
            if (f->required)
                rc = atp_err_set(err, ATP_EINVAL, NULL, 0, f->name, "is required");
        } else if (!type_ok(v, f->type)) {
            rc = atp_err_set(err, ATP_EINVAL, NULL, 0, f->name, "must be %s", type_name(f->type));
        } else if (f->type == API_FT_STRING) {
            size_t max = f->max_len ? f->max_len : 4096;
            if (json_string_length(v) > max)
                rc = atp_err_set(err, ATP_ERANGE, NULL, 0, f->name, "is longer than %zu bytes", max);
            else if (strlen(json_string_value(v)) != json_string_length(v))
                rc = atp_err_set(err, ATP_EINVAL, NULL, 0, f->name, "must not contain NUL");
        } else if (f->type == API_FT_ARRAY) {
            size_t max = f->max_len ? f->max_len : 1000;
            if (json_array_size(v) > max)
                rc = atp_err_set(err, ATP_ERANGE, NULL, 0, f->name, "has more than %zu elements", max);
        }
        if (rc != ATP_OK) {
            json_decref(root);
            return rc;
        }
    }
    *out = root;
    return ATP_OK;
}
