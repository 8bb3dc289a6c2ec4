#include "md/feed/tickcsv.h"

#include <string.h>

#include "core/px.h"
#include "core/ts.h"
#include "md/feed.h"

/* Puts file, line and field on an error a lower layer (px, ts, csv) filled without them. */
static int locate(struct tickcsv_reader *r, struct atp_err *err, const char *field)
{
    if (!err)
        return ATP_EPARSE;
    atp_err_locate(err, r->csv.name, r->csv.line);
    snprintf(err->field, sizeof err->field, "%s", field);
    return err->code;
}

int tickcsv_reader_init(struct tickcsv_reader *r, FILE *f, const char *name,
                        const struct instreg *reg, struct atp_err *err)
{
    memset(r, 0, sizeof *r);
    csv_reader_init(&r->csv, f, name);
    r->reg = reg;
    int rc = csv_read_row(&r->csv, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return atp_err_set(err, ATP_EPARSE, r->csv.name, 0, NULL,
                           "empty file: expected a header row (timestamp,symbol,ltp,...)");
    static const char *const required[] = {"timestamp", "symbol", "ltp"};
    int *req_cols[] = {&r->col_ts, &r->col_symbol, &r->col_ltp};
    for (int i = 0; i < 3; i++) {
        *req_cols[i] = csv_find_column(&r->csv, required[i]);
        if (*req_cols[i] < 0)
            return atp_err_set(err, ATP_EPARSE, r->csv.name, r->csv.line, required[i],
                               "missing required column '%s' in the header row", required[i]);
    }
    r->col_qty = csv_find_column(&r->csv, "qty");
    r->col_volume = csv_find_column(&r->csv, "volume");
    r->col_bid = csv_find_column(&r->csv, "bid");
    r->col_ask = csv_find_column(&r->csv, "ask");
    r->col_oi = csv_find_column(&r->csv, "oi");
    return ATP_OK;
}

void tickcsv_reader_cleanup(struct tickcsv_reader *r)
{
    csv_reader_cleanup(&r->csv);
}

long tickcsv_reader_tell(const struct tickcsv_reader *r)
{
    return ftell(r->csv.f);
}

int tickcsv_reader_seek(struct tickcsv_reader *r, long offset, long line)
{
    if (fseek(r->csv.f, offset, SEEK_SET) != 0)
        return ATP_EIO;
    clearerr(r->csv.f);
    r->csv.line = line;
    return ATP_OK;
}

/* Optional non-negative integer cell: 0 when empty (flag stays unset), 1 when parsed. */
static int opt_int(struct tickcsv_reader *r, int col, const char *field, int64_t *out,
                   struct atp_err *err)
{
    if (col < 0 || csv_field_get(&r->csv, col).len == 0)
        return 0;
    long long v;
    if (csv_field_int(&r->csv, col, &v, err) != ATP_OK)
        return locate(r, err, field);
    if (v < 0)
        return atp_err_set(err, ATP_EINVAL, r->csv.name, r->csv.line, field,
                           "%s %lld is negative", field, v);
    *out = v;
    return 1;
}

/* Optional non-negative price cell, like opt_int. */
static int opt_px(struct tickcsv_reader *r, int col, const char *field, px_t *out,
                  struct atp_err *err)
{
    struct csv_field c = csv_field_get(&r->csv, col);
    if (col < 0 || c.len == 0)
        return 0;
    if (px_parse(c.ptr, c.len, out, err) != ATP_OK)
        return locate(r, err, field);
    if (*out < 0)
        return atp_err_set(err, ATP_EINVAL, r->csv.name, r->csv.line, field,
                           "%s '%.*s' is negative", field, (int)(c.len > 40 ? 40 : c.len), c.ptr);
    return 1;
}

static int resolve_symbol(struct tickcsv_reader *r, uint32_t *id, struct atp_err *err)
{
    struct csv_field c = csv_field_get(&r->csv, r->col_symbol);
    if (c.len == 0)
        return atp_err_set(err, ATP_EPARSE, r->csv.name, r->csv.line, "symbol", "empty symbol");
    if (r->has_last && strlen(r->last_symbol) == c.len && memcmp(r->last_symbol, c.ptr, c.len) == 0) {
        *id = r->last_id;
        return ATP_OK;
    }
    const struct instrument *in = NULL;
    if (c.len < INST_SYMBOL_MAX) {
        char sym[INST_SYMBOL_MAX];
        memcpy(sym, c.ptr, c.len);
        sym[c.len] = '\0';
        in = r->reg ? instreg_find(r->reg, sym) : NULL;
        if (in) {
            memcpy(r->last_symbol, sym, c.len + 1);
            r->last_id = in->id;
            r->has_last = 1;
        }
    }
    if (!in)
        return atp_err_set(err, ATP_ENOTFOUND, r->csv.name, r->csv.line, "symbol",
                           "unknown symbol '%.*s' (not in the instrument registry)",
                           (int)(c.len > 48 ? 48 : c.len), c.ptr);
    *id = in->id;
    return ATP_OK;
}

int tickcsv_read(struct tickcsv_reader *r, struct tick *out, struct atp_err *err)
{
    int rc;
    for (;;) {
        rc = csv_read_row(&r->csv, err);
        if (rc <= 0)
            return rc;
        /* A repeated header (files joined with cat) is skipped. */
        if (csv_field_eq(&r->csv, r->col_ts, "timestamp") &&
            csv_field_eq(&r->csv, r->col_symbol, "symbol"))
            continue;
        break;
    }
    struct tick t;
    memset(&t, 0, sizeof t);

    struct csv_field c = csv_field_get(&r->csv, r->col_ts);
    int date_only = 0;
    if (ts_parse(c.ptr, c.len, &t.ts, &date_only, err) != ATP_OK)
        return locate(r, err, "timestamp");
    if (!feed_ts_in_range(t.ts))
        return atp_err_set(err, ATP_EPARSE, r->csv.name, r->csv.line, "timestamp",
                           "timestamp '%.*s' is outside the years 1900-2199",
                           (int)(c.len > 40 ? 40 : c.len), c.ptr);
    if (date_only)
        return atp_err_set(err, ATP_EPARSE, r->csv.name, r->csv.line, "timestamp",
                           "timestamp '%.*s' has a date but no time", (int)(c.len > 40 ? 40 : c.len),
                           c.ptr);

    if ((rc = resolve_symbol(r, &t.instrument_id, err)) != ATP_OK)
        return rc;

    c = csv_field_get(&r->csv, r->col_ltp);
    if (c.len == 0)
        return atp_err_set(err, ATP_EPARSE, r->csv.name, r->csv.line, "ltp", "empty ltp");
    if (px_parse(c.ptr, c.len, &t.ltp, err) != ATP_OK)
        return locate(r, err, "ltp");
    if (t.ltp <= 0)
        return atp_err_set(err, ATP_EINVAL, r->csv.name, r->csv.line, "ltp",
                           "ltp '%.*s' is not positive", (int)(c.len > 40 ? 40 : c.len), c.ptr);

    if ((rc = opt_int(r, r->col_qty, "qty", &t.qty, err)) < 0)
        return rc;
    t.flags |= rc ? TICK_HAS_QTY : 0;
    if ((rc = opt_int(r, r->col_volume, "volume", &t.cum_volume, err)) < 0)
        return rc;
    t.flags |= rc ? TICK_HAS_VOLUME : 0;
    if ((rc = opt_px(r, r->col_bid, "bid", &t.bid, err)) < 0)
        return rc;
    t.flags |= rc ? TICK_HAS_BID : 0;
    if ((rc = opt_px(r, r->col_ask, "ask", &t.ask, err)) < 0)
        return rc;
    t.flags |= rc ? TICK_HAS_ASK : 0;
    if ((rc = opt_int(r, r->col_oi, "oi", &t.oi, err)) < 0)
        return rc;
    t.flags |= rc ? TICK_HAS_OI : 0;

    *out = t;
    return 1;
}

int tickcsv_write_header(FILE *f, const char *name, struct atp_err *err)
{
    if (fputs("timestamp,symbol,ltp,qty,volume,bid,ask\n", f) == EOF)
        return atp_err_set(err, ATP_EIO, name, 0, NULL, "write failed");
    return ATP_OK;
}

int tickcsv_write_tick(FILE *f, const char *name, const struct instreg *reg, const struct tick *t,
                       struct atp_err *err)
{
    const struct instrument *in = instreg_get(reg, t->instrument_id);
    if (!in)
        return atp_err_set(err, ATP_ENOTFOUND, name, 0, "symbol",
                           "instrument id %u is not in the registry", t->instrument_id);
    char ts[TS_STR_MAX], ltp[PX_STR_MAX], bid[PX_STR_MAX] = "", ask[PX_STR_MAX] = "";
    char qty[24] = "", vol[24] = "";
    ts_format_ist(t->ts, ts, sizeof ts);
    px_format(t->ltp, ltp, sizeof ltp);
    if (t->flags & TICK_HAS_BID)
        px_format(t->bid, bid, sizeof bid);
    if (t->flags & TICK_HAS_ASK)
        px_format(t->ask, ask, sizeof ask);
    if (t->flags & TICK_HAS_QTY)
        snprintf(qty, sizeof qty, "%lld", (long long)t->qty);
    if (t->flags & TICK_HAS_VOLUME)
        snprintf(vol, sizeof vol, "%lld", (long long)t->cum_volume);
    /* Registry symbols never need quoting in practice ("M&M", "BAJAJ-AUTO"), but be exact. */
    char sym[2 * INST_SYMBOL_MAX + 3];
    if (strpbrk(in->symbol, ",\"\r\n")) {
        size_t n = 0;
        sym[n++] = '"';
        for (const char *p = in->symbol; *p; p++) {
            if (*p == '"')
                sym[n++] = '"';
            sym[n++] = *p;
        }
        sym[n++] = '"';
        sym[n] = '\0';
    } else {
        snprintf(sym, sizeof sym, "%s", in->symbol);
    }
    if (fprintf(f, "%s,%s,%s,%s,%s,%s,%s\n", ts, sym, ltp, qty, vol, bid, ask) < 0)
        return atp_err_set(err, ATP_EIO, name, 0, NULL, "write failed");
    return ATP_OK;
}
