#include "app/symlist.h"

#include <string.h>

#include "core/alloc.h"

int symlist_parse(struct symlist *l, const char *text, const struct instreg *reg,
                  const char *field_name, struct atp_err *err)
{
    memset(l, 0, sizeof *l);
    l->buf = atp_strdup(text);
    if (!l->buf)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, field_name, "out of memory");
    char *save = NULL;
    for (char *s = l->buf;; s = NULL) {
        char *tok = strtok_r(s, ",", &save);
        if (!tok)
            break;
        while (*tok == ' ')
            tok++;
        if (!*tok)
            return atp_err_set(err, ATP_EINVAL, NULL, 0, field_name, "empty symbol in list");
        if (l->n == SYMLIST_MAX)
            return atp_err_set(err, ATP_EINVAL, NULL, 0, field_name, "more than %d symbols",
                               SYMLIST_MAX);
        if (!instreg_find(reg, tok))
            return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, field_name,
                               "unknown symbol '%s' (atp instruments --search lists them)", tok);
        l->names[l->n++] = tok;
    }
    if (l->n == 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, field_name, "no symbols given");
    return ATP_OK;
}

void symlist_cleanup(struct symlist *l)
{
    atp_free(l->buf);
    memset(l, 0, sizeof *l);
}
