#include "api/router.h"

#include "api/request.h"

#include <string.h>

static const struct {
    unsigned bit;
    const char *name;
} methods[] = {
    {API_GET, "GET"},     {API_HEAD, "HEAD"},     {API_POST, "POST"},      {API_PUT, "PUT"},
    {API_PATCH, "PATCH"}, {API_DELETE, "DELETE"}, {API_OPTIONS, "OPTIONS"},
};
#define N_METHODS (sizeof methods / sizeof methods[0])

const char *api_method_name(unsigned method)
{
    for (size_t i = 0; i < N_METHODS; i++)
        if (methods[i].bit == method)
            return methods[i].name;
    return "?";
}

unsigned api_method_parse(const char *text)
{
    for (size_t i = 0; text && i < N_METHODS; i++)
        if (strcmp(methods[i].name, text) == 0)
            return methods[i].bit;
    return 0;
}

char *api_method_list(unsigned mask, char *buf, size_t size)
{
    size_t n = 0;
    if (size == 0)
        return buf;
    buf[0] = '\0';
    for (size_t i = 0; i < N_METHODS; i++) {
        if (!(mask & methods[i].bit))
            continue;
        int w = snprintf(buf + n, size - n, "%s%s", n ? ", " : "", methods[i].name);
        if (w < 0 || (size_t)w >= size - n)
            break;
        n += (size_t)w;
    }
    return buf;
}

/* Matches one pattern against path. 1 on match, params filled; 0 otherwise. *literal_score
 * counts literal segments, so a literal route beats a {param} route on the same path. */
static int match_one(const char *pattern, const char *path, struct api_param *params, int *n_params,
                     int *literal_score)
{
    const char *p = pattern, *s = path;
    int np = 0, score = 0;
    if (*p != '/' || *s != '/')
        return 0;
    while (*p == '/' && *s == '/') {
        p++;
        s++;
        const char *pe = strchr(p, '/'), *se = strchr(s, '/');
        size_t pl = pe ? (size_t)(pe - p) : strlen(p), sl = se ? (size_t)(se - s) : strlen(s);
        if (pl >= 2 && p[0] == '{' && p[pl - 1] == '}') {
            if (sl == 0 || np >= API_MAX_PARAMS)
                return 0;
            /* The server hands us a decoded path, so the value is taken as it is. */
            if (sl >= API_PARAM_MAX)
                return 0;
            params[np].name = p + 1;
            params[np].name_len = pl - 2;
            memcpy(params[np].value, s, sl);
            params[np].value[sl] = '\0';
            np++;
        } else {
            if (pl != sl || memcmp(p, s, pl) != 0)
                return 0;
            score++;
        }
        p += pl;
        s += sl;
    }
    if (*p != '\0' || *s != '\0')
        return 0;
    *n_params = np;
    *literal_score = score;
    return 1;
}

enum api_match api_route_match(const struct api_route *routes, size_t n, unsigned method,
                               const char *path, const struct api_route **out,
                               struct api_param *params, int *n_params, unsigned *allowed)
{
    const struct api_route *best = NULL;
    int best_score = -1, best_np = 0;
    unsigned mask = 0;
    struct api_param tmp[API_MAX_PARAMS];
    *out = NULL;
    *n_params = 0;
    if (allowed)
        *allowed = 0;
    if (!path)
        return API_MATCH_NOT_FOUND;
    for (size_t i = 0; i < n; i++) {
        int np = 0, score = 0;
        if (!match_one(routes[i].pattern, path, tmp, &np, &score))
            continue;
        mask |= routes[i].method;
        if (routes[i].method & API_GET)
            mask |= API_HEAD;
        int method_ok = routes[i].method == method || (method == API_HEAD && routes[i].method == API_GET);
        if (method_ok && score > best_score) {
            best = &routes[i];
            best_score = score;
            best_np = np;
            memcpy(params, tmp, sizeof tmp[0] * (size_t)np);
        }
    }
    if (best) {
        *out = best;
        *n_params = best_np;
        return API_MATCH_OK;
    }
    if (allowed)
        *allowed = mask;
    return mask ? API_MATCH_BAD_METHOD : API_MATCH_NOT_FOUND;
}

const char *api_param(const struct api_request *req, const char *name)
{
    size_t len = strlen(name);
    for (int i = 0; i < req->n_params; i++)
        if (req->params[i].name_len == len && memcmp(req->params[i].name, name, len) == 0)
            return req->params[i].value;
    return NULL;
}

int api_pattern_valid(const char *pattern)
{
    int np = 0;
    if (!pattern || pattern[0] != '/')
        return 0;
    if (pattern[1] == '\0')
        return 1;
    const char *p = pattern;
    while (*p == '/') {
        p++;
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0)
            return 0;
        if (p[0] == '{') {
            if (len < 3 || p[len - 1] != '}' || ++np > API_MAX_PARAMS)
                return 0;
            for (size_t i = 1; i + 1 < len; i++)
                if (!((p[i] >= 'a' && p[i] <= 'z') || p[i] == '_'))
                    return 0;
        } else {
            for (size_t i = 0; i < len; i++)
                if (p[i] == '{' || p[i] == '}')
                    return 0;
        }
        p += len;
    }
    return *p == '\0';
}
