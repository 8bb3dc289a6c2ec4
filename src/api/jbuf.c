#include "api/jbuf.h"

#include <stdarg.h>
#include <stdio.h>

#include "api/json_err.h"
#include "core/alloc.h"

void jbuf_printf(struct jbuf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap <= b->len + (size_t)n)
            cap *= 2;
        char *np = atp_realloc(b->p, cap);
        if (!np) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

void jbuf_str(struct jbuf *b, const char *s)
{
    jbuf_printf(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            jbuf_printf(b, "\\%c", c);
        else if (c < 0x20)
            jbuf_printf(b, "\\u%04x", c);
        else
            jbuf_printf(b, "%c", c);
    }
    jbuf_printf(b, "\"");
}

void jbuf_px(struct jbuf *b, px_t v)
{
    char t[PX_STR_MAX];
    px_format(v, t, sizeof t);
    jbuf_printf(b, "%s", t);
}

char *jbuf_take(struct jbuf *b)
{
    char *p = b->p;
    if (b->failed || !p) {
        atp_free(p);
        p = NULL;
    }
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

void jbuf_send(struct jbuf *b, struct api_response *res, int status)
{
    size_t len = b->len;
    char *text = jbuf_take(b);
    if (!text) {
        api_error(res, 500, "internal", NULL, "out of memory");
        return;
    }
    res->status = status ? status : 200;
    res->text = text;
    res->text_len = len;
    res->content_type = "application/json";
}
