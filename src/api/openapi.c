#include "api/http.h"
#include "api/router.h"

#include <stdio.h>
#include <string.h>

static const char *schema_type(enum api_ftype t)
{
    switch (t) {
    case API_FT_STRING: return "string";
    case API_FT_INT: return "integer";
    case API_FT_BOOL: return "boolean";
    case API_FT_OBJECT: return "object";
    case API_FT_ARRAY: return "array";
    case API_FT_DECIMAL: return "number";
    case API_FT_NUMBER: return "number";
    }
    return "string";
}

static json_t *body_schema(const struct api_field *fields)
{
    json_t *props = json_object(), *required = json_array();
    for (const struct api_field *f = fields; f->name; f++) {
        json_t *p = json_pack("{s:s}", "type", schema_type(f->type));
        if (f->type == API_FT_STRING)
            json_object_set_new(p, "maxLength", json_integer((json_int_t)(f->max_len ? f->max_len : 4096)));
        if (f->desc)
            json_object_set_new(p, "description", json_string(f->desc));
        json_object_set_new(props, f->name, p);
        if (f->required)
            json_array_append_new(required, json_string(f->name));
    }
    return json_pack("{s:s, s:o, s:o, s:b}", "type", "object", "properties", props, "required",
                     required, "additionalProperties", 0);
}

static void lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

json_t *api_openapi_build(const struct api_route *routes, size_t n)
{
    json_t *paths = json_object();
    json_t *error_schema = json_pack(
        "{s:s, s:[s], s:{s:{s:s, s:[s,s], s:{s:{s:s}, s:{s:s}, s:{s:s}}}}}", "type", "object",
        "required", "error", "properties", "error", "type", "object", "required", "code", "message",
        "properties", "code", "type", "string", "message", "type", "string", "field", "type",
        "string");
    for (size_t i = 0; i < n; i++) {
        const struct api_route *r = &routes[i];
        json_t *item = json_object_get(paths, r->pattern);
        if (!item) {
            item = json_object();
            json_object_set_new(paths, r->pattern, item);
        }
        json_t *op = json_pack("{s:s, s:s, s:[s]}", "operationId", r->name, "summary",
                               r->summary ? r->summary : r->name, "tags", r->tag ? r->tag : "default");
        /* Path parameters, from the pattern's {name} segments. */
        json_t *params = json_array();
        for (const char *p = strchr(r->pattern, '{'); p; p = strchr(p + 1, '{')) {
            const char *e = strchr(p, '}');
            if (!e)
                break;
            json_array_append_new(params, json_pack("{s:s%, s:s, s:b, s:{s:s}}", "name", p + 1,
                                                    (size_t)(e - p - 1), "in", "path", "required", 1,
                                                    "schema", "type", "string"));
        }
        if (json_array_size(params))
            json_object_set_new(op, "parameters", params);
        else
            json_decref(params);
        if (r->body)
            json_object_set_new(op, "requestBody",
                                json_pack("{s:b, s:{s:{s:o}}}", "required", 1, "content",
                                          "application/json", "schema", body_schema(r->body)));
        json_t *responses = r->responses ? json_loads(r->responses, 0, NULL) : NULL;
        if (!responses)
            responses = json_pack("{s:{s:s}}", "200", "description", "OK");
        json_object_set_new(responses, "default",
                            json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", "error", "content",
                                      "application/json", "schema", "$ref",
                                      "#/components/schemas/Error"));
        json_object_set_new(op, "responses", responses);
        char method[16];
        snprintf(method, sizeof method, "%s", api_method_name(r->method));
        lower(method);
        json_object_set_new(item, method, op);
    }
    return json_pack("{s:s, s:{s:s, s:s, s:s}, s:o, s:{s:{s:o}}}", "openapi", "3.1.0", "info", "title",
                     "ATP API", "version", ATP_VERSION, "description",
                     "Algorithmic trading platform for Indian markets. Errors are always "
                     "{\"error\":{\"code\",\"message\",\"field\"}}.",
                     "paths", paths, "components", "schemas", "Error", error_schema);
}
