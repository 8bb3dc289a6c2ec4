/* api/jbuf: a small JSON text builder for answers that carry money. Prices and amounts must print
 * exactly (px_format: "2500.05"), which jansson's reals cannot, so such documents are written as
 * text. The builder grows on the heap (atp_malloc); a failed allocation marks it failed and every
 * later call is a no-op, so callers check once, at jbuf_send / jbuf_take. Any thread (a value per
 * thread). */
#ifndef ATP_API_JBUF_H
#define ATP_API_JBUF_H

#include <stddef.h>

#include "api/router.h"
#include "core/px.h"

struct jbuf {
    char *p;
    size_t len, cap;
    int failed; /* an allocation failed: the text is unusable */
};

void jbuf_printf(struct jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string: quotes, backslashes and control bytes escaped, other bytes as they are (the
 * caller passes UTF-8). */
void jbuf_str(struct jbuf *b, const char *s);
/* An exact decimal number (px_format). */
void jbuf_px(struct jbuf *b, px_t v);
/* Hands the text to res as a 200 application/json answer (or answers 500 when building failed);
 * the buffer then belongs to res. status 0 means 200. */
void jbuf_send(struct jbuf *b, struct api_response *res, int status);
/* The NUL-terminated text (owned by the caller, atp_free), or NULL when building failed (the
 * buffer is then freed). */
char *jbuf_take(struct jbuf *b);

#endif
