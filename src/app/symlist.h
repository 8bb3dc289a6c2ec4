/* app/symlist: a comma-separated symbol list from the command line, checked against the registry. */
#ifndef ATP_APP_SYMLIST_H
#define ATP_APP_SYMLIST_H

#include <stddef.h>

#include "core/err.h"
#include "model/instrument.h"

#define SYMLIST_MAX 256

struct symlist {
    char *buf;                        /* owned copy of the text, split in place */
    const char *names[SYMLIST_MAX];   /* points into buf */
    size_t n;
};

/* Splits "RELIANCE,TCS" and checks each symbol exists in reg. ATP_EINVAL for an empty entry or
 * more than SYMLIST_MAX, ATP_ENOTFOUND for an unknown symbol (err->field = field_name). */
int symlist_parse(struct symlist *l, const char *text, const struct instreg *reg,
                  const char *field_name, struct atp_err *err);
void symlist_cleanup(struct symlist *l);

#endif
