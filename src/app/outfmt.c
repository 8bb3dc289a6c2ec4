#include "app/outfmt.h"

#include <string.h>

int outfmt_parse(const char *text, enum outfmt *out)
{
    if (strcmp(text, "csv") == 0)
        *out = OUT_CSV;
    else if (strcmp(text, "json") == 0)
        *out = OUT_JSON;
    else
        return ATP_EINVAL;
    return ATP_OK;
}

void outfmt_time(ts_ns t, int date_only, char *buf, size_t size)
{
    if (date_only)
        ts_format_ist_date(t, buf, size);
    else
        ts_format_ist(t, buf, size);
}

void outfmt_bar_csv(FILE *f, const char *symbol, const struct bar *b)
{
    char t[TS_STR_MAX], o[PX_STR_MAX], h[PX_STR_MAX], l[PX_STR_MAX], c[PX_STR_MAX];
    ts_format_ist(b->start, t, sizeof t);
    px_format(b->open, o, sizeof o);
    px_format(b->high, h, sizeof h);
    px_format(b->low, l, sizeof l);
    px_format(b->close, c, sizeof c);
    fprintf(f, "%s,%s,%s,%s,%s,%s,%lld\n", t, symbol, o, h, l, c, (long long)b->volume);
}

json_t *outfmt_px_json(px_t v)
{
    char buf[PX_STR_MAX];
    px_format(v, buf, sizeof buf);
    /* jansson's real printer may round-trip through %.17g; a number-from-text keeps it exact. */
    return json_loads(buf, JSON_DECODE_ANY, NULL);
}

json_t *outfmt_bar_json(const char *symbol, const struct bar *b)
{
    char t[TS_STR_MAX];
    ts_format_ist(b->start, t, sizeof t);
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:I}", "time", t, "symbol", symbol, "open",
                     outfmt_px_json(b->open), "high", outfmt_px_json(b->high), "low",
                     outfmt_px_json(b->low), "close", outfmt_px_json(b->close), "volume",
                     (json_int_t)b->volume);
}

void outfmt_json_dump(json_t *value, FILE *f)
{
    json_dumpf(value, f, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
    fputc('\n', f);
}
