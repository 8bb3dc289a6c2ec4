#include "md/feed/barcsv.h"

#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/cal.h"
#include "core/px.h"
#include "core/ts.h"
#include "md/feed.h"

#define SHOWN(c) (int)((c).len > 40 ? 40 : (c).len), (c).ptr

static int locate(struct barcsv_reader *r, struct atp_err *err, const char *field)
{
    if (!err)
        return ATP_EPARSE;
    atp_err_locate(err, r->csv.name, r->csv.line);
    snprintf(err->field, sizeof err->field, "%s", field);
    return err->code;
}

static const struct instrument *find_symbol(const struct instreg *reg, const char *p, size_t len)
{
    if (!reg || len == 0 || len >= INST_SYMBOL_MAX)
        return NULL;
    char sym[INST_SYMBOL_MAX];
    memcpy(sym, p, len);
    sym[len] = '\0';
    return instreg_find(reg, sym);
}

int barcsv_reader_init(struct barcsv_reader *r, FILE *f, const char *name,
                       const struct instreg *reg, const char *symbol, struct atp_err *err)
{
    memset(r, 0, sizeof *r);
    csv_reader_init(&r->csv, f, name);
    r->reg = reg;
    r->date_only_mode = -1;
    r->col_time = -1;
    int rc = csv_read_row(&r->csv, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return atp_err_set(err, ATP_EPARSE, r->csv.name, 0, NULL,
                           "empty file: expected a header row (date,open,high,low,close,volume)");

    static const char *const ts_names[] = {"datetime", "timestamp", "date", "time"};
    r->col_ts = -1;
    for (int i = 0; i < 4 && r->col_ts < 0; i++) {
        r->col_ts = csv_find_column(&r->csv, ts_names[i]);
        r->ts_name = ts_names[i];
    }
    if (r->col_ts < 0)
        return atp_err_set(err, ATP_EPARSE, r->csv.name, r->csv.line, "date",
                           "missing time column: expected one named date, datetime, timestamp "
                           "or time");
    if (strcmp(r->ts_name, "date") == 0)
        r->col_time = csv_find_column(&r->csv, "time"); /* "Date,Time,Open,..." files */

    static const char *const required[] = {"open", "high", "low", "close"};
    int *req_cols[] = {&r->col_open, &r->col_high, &r->col_low, &r->col_close};
    for (int i = 0; i < 4; i++) {
        *req_cols[i] = csv_find_column(&r->csv, required[i]);
        if (*req_cols[i] < 0)
            return atp_err_set(err, ATP_EPARSE, r->csv.name, r->csv.line, required[i],
                               "missing required column '%s' in the header row", required[i]);
    }
    r->col_volume = csv_find_column(&r->csv, "volume");
    r->col_oi = csv_find_column(&r->csv, "oi");
    r->col_symbol = csv_find_column(&r->csv, "symbol");

    if (r->col_symbol < 0) {
        size_t len = symbol ? strlen(symbol) : 0;
        if (len >= INST_SYMBOL_MAX)
            return atp_err_set(err, ATP_EINVAL, r->csv.name, 0, "symbol",
                               "symbol '%.48s...' is too long", symbol);
        if (len)
            memcpy(r->default_symbol, symbol, len + 1);
        r->default_id = BARCSV_NO_INSTRUMENT;
        if (reg) {
            if (!len)
                return atp_err_set(err, ATP_EINVAL, r->csv.name, r->csv.line, "symbol",
                                   "the file has no symbol column: name its symbol");
            const struct instrument *in = find_symbol(reg, symbol, len);
            if (!in)
                return atp_err_set(err, ATP_ENOTFOUND, r->csv.name, 0, "symbol",
                                   "unknown symbol '%.48s' (not in the instrument registry)",
                                   symbol);
            r->default_id = in->id;
        }
    }
    return ATP_OK;
}

void barcsv_reader_cleanup(struct barcsv_reader *r)
{
    csv_reader_cleanup(&r->csv);
    atp_free(r->seen);
    atp_free(r->slots);
    r->seen = NULL;
    r->slots = NULL;
    r->n_seen = r->cap_seen = r->n_slots = 0;
}

static uint64_t hash_symbol(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* The seen-entry of a symbol, added (last_start INT64_MIN) when new; NULL on ENOMEM. */
static struct barcsv_seen *seen_get(struct barcsv_reader *r, const char *symbol)
{
    if (r->n_slots) {
        for (size_t i = hash_symbol(symbol) & (r->n_slots - 1);; i = (i + 1) & (r->n_slots - 1)) {
            uint32_t k = r->slots[i];
            if (!k)
                break;
            if (strcmp(r->seen[k - 1].symbol, symbol) == 0)
                return &r->seen[k - 1];
        }
    }
    if (2 * (r->n_seen + 1) > r->n_slots) { /* keep the table at most half full */
        size_t n_slots = r->n_slots ? 2 * r->n_slots : 16;
        uint32_t *slots = atp_calloc(n_slots, sizeof *slots);
        if (!slots)
            return NULL;
        for (size_t k = 0; k < r->n_seen; k++) {
            size_t i = hash_symbol(r->seen[k].symbol) & (n_slots - 1);
            while (slots[i])
                i = (i + 1) & (n_slots - 1);
            slots[i] = (uint32_t)k + 1;
        }
        atp_free(r->slots);
        r->slots = slots;
        r->n_slots = n_slots;
    }
    if (r->n_seen == r->cap_seen) {
        size_t cap = r->cap_seen ? 2 * r->cap_seen : 8;
        struct barcsv_seen *p = atp_reallocarray(r->seen, cap, sizeof *p);
        if (!p)
            return NULL;
        r->seen = p;
        r->cap_seen = cap;
    }
    struct barcsv_seen *e = &r->seen[r->n_seen++];
    snprintf(e->symbol, sizeof e->symbol, "%s", symbol);
    e->last_start = INT64_MIN;
    size_t i = hash_symbol(symbol) & (r->n_slots - 1);
    while (r->slots[i])
        i = (i + 1) & (r->n_slots - 1);
    r->slots[i] = (uint32_t)r->n_seen;
    return e;
}

static int is_null(struct csv_field c)
{
    return c.len == 4 && strncasecmp(c.ptr, "null", 4) == 0;
}

static int read_px(struct barcsv_reader *r, int col, const char *field, px_t *out,
                   struct atp_err *err)
{
    struct csv_field c = csv_field_get(&r->csv, col);
    if (c.len == 0)
        return atp_err_set(err, ATP_EPARSE, r->csv.name, r->csv.line, field, "empty %s", field);
    if (px_parse_round(c.ptr, c.len, out, err) != ATP_OK)
        return locate(r, err, field);
    if (*out <= 0)
        return atp_err_set(err, ATP_EINVAL, r->csv.name, r->csv.line, field,
                           "%s '%.*s' is not positive", field, SHOWN(c));
    return ATP_OK;
}

static int read_time(struct barcsv_reader *r, ts_ns *start, int *date_only, struct atp_err *err)
{
    struct csv_field c = csv_field_get(&r->csv, r->col_ts);
    const char *field = r->ts_name;
    char joined[96];
    if (r->col_time >= 0) {
        struct csv_field t = csv_field_get(&r->csv, r->col_time);
        if (c.len + 1 + t.len >= sizeof joined)
            return atp_err_set(err, ATP_EPARSE, r->csv.name, r->csv.line, field,
                               "date and time too long");
        memcpy(joined, c.ptr, c.len);
        joined[c.len] = ' ';
        memcpy(joined + c.len + 1, t.ptr, t.len);
        c.ptr = joined;
        c.len += 1 + t.len;
    }
    if (c.len == 0)
        return atp_err_set(err, ATP_EPARSE, r->csv.name, r->csv.line, field, "empty %s", field);
    if (ts_parse(c.ptr, c.len, start, date_only, err) != ATP_OK)
        return locate(r, err, field);
    if (!feed_ts_in_range(*start))
        return atp_err_set(err, ATP_EPARSE, r->csv.name, r->csv.line, field,
                           "'%.*s' is outside the years 1900-2199", SHOWN(c));
    if (*date_only)
        *start += CAL_OPEN_NS; /* a trading day: labelled at the 09:15 IST open */
    if (r->date_only_mode >= 0 && r->date_only_mode != *date_only)
        return atp_err_set(err, ATP_EINVAL, r->csv.name, r->csv.line, field,
                           "'%.*s' %s, but earlier rows %s", SHOWN(c),
                           *date_only ? "is a date without a time" : "has a time",
                           *date_only ? "have times" : "are dates without a time");
    r->date_only_mode = *date_only;
    return ATP_OK;
}

static int read_symbol(struct barcsv_reader *r, struct barcsv_row *row, struct atp_err *err)
{
    if (r->col_symbol < 0) {
        memcpy(row->symbol, r->default_symbol, sizeof row->symbol);
        row->instrument_id = r->default_id;
        return ATP_OK;
    }
    struct csv_field c = csv_field_get(&r->csv, r->col_symbol);
    if (c.len == 0)
        return atp_err_set(err, ATP_EPARSE, r->csv.name, r->csv.line, "symbol", "empty symbol");
    if (c.len >= INST_SYMBOL_MAX)
        return atp_err_set(err, r->reg ? ATP_ENOTFOUND : ATP_EPARSE, r->csv.name, r->csv.line,
                           "symbol", "symbol '%.*s...' is too long", SHOWN(c));
    memcpy(row->symbol, c.ptr, c.len);
    row->symbol[c.len] = '\0';
    row->instrument_id = BARCSV_NO_INSTRUMENT;
    if (!r->reg)
        return ATP_OK;
    if (r->has_last && strcmp(r->last_symbol, row->symbol) == 0) {
        row->instrument_id = r->last_id;
        return ATP_OK;
    }
    const struct instrument *in = find_symbol(r->reg, c.ptr, c.len);
    if (!in)
        return atp_err_set(err, ATP_ENOTFOUND, r->csv.name, r->csv.line, "symbol",
                           "unknown symbol '%.*s' (not in the instrument registry)", SHOWN(c));
    memcpy(r->last_symbol, row->symbol, sizeof r->last_symbol);
    r->last_id = in->id;
    r->has_last = 1;
    row->instrument_id = in->id;
    return ATP_OK;
}

int barcsv_read(struct barcsv_reader *r, struct barcsv_row *out, struct atp_err *err)
{
    int rc;
    for (;;) {
        rc = csv_read_row(&r->csv, err);
        if (rc <= 0)
            return rc;
        if (csv_field_eq(&r->csv, r->col_ts, r->ts_name) && csv_field_eq(&r->csv, r->col_open, "open"))
            continue; /* a repeated header (files joined with cat) */
        break;
    }
    struct barcsv_row row;
    memset(&row, 0, sizeof row);
    row.line = r->csv.line;
    row.bar.oi = -1;
    row.bar.ticks = 1;

    static const char *const names[] = {"open", "high", "low", "close", "volume"};
    const int cols[] = {r->col_open, r->col_high, r->col_low, r->col_close, r->col_volume};
    for (int i = 0; i < 5; i++) {
        if (cols[i] >= 0 && is_null(csv_field_get(&r->csv, cols[i])))
            return atp_err_set(err, ATP_EPARSE, r->csv.name, r->csv.line, names[i],
                               "Yahoo 'null' row: the source has no data for this date; "
                               "delete the row");
    }

    if ((rc = read_time(r, &row.bar.start, &row.date_only, err)) != ATP_OK)
        return rc;
    if ((rc = read_symbol(r, &row, err)) != ATP_OK)
        return rc;
    if ((rc = read_px(r, r->col_open, "open", &row.bar.open, err)) != ATP_OK ||
        (rc = read_px(r, r->col_high, "high", &row.bar.high, err)) != ATP_OK ||
        (rc = read_px(r, r->col_low, "low", &row.bar.low, err)) != ATP_OK ||
        (rc = read_px(r, r->col_close, "close", &row.bar.close, err)) != ATP_OK)
        return rc;
    if (r->col_volume >= 0) {
        long long v;
        if (csv_field_get(&r->csv, r->col_volume).len == 0)
            return atp_err_set(err, ATP_EPARSE, r->csv.name, r->csv.line, "volume", "empty volume");
        if (csv_field_int(&r->csv, r->col_volume, &v, err) != ATP_OK)
            return locate(r, err, "volume");
        if (v < 0)
            return atp_err_set(err, ATP_EINVAL, r->csv.name, r->csv.line, "volume",
                               "volume %lld is negative", v);
        row.bar.volume = v;
    }
    if (r->col_oi >= 0 && csv_field_get(&r->csv, r->col_oi).len > 0) {
        long long v;
        if (csv_field_int(&r->csv, r->col_oi, &v, err) != ATP_OK)
            return locate(r, err, "oi");
        if (v < 0)
            return atp_err_set(err, ATP_EINVAL, r->csv.name, r->csv.line, "oi",
                               "oi %lld is negative", v);
        row.bar.oi = v;
    }

    const struct bar *b = &row.bar;
    char a[PX_STR_MAX], c[PX_STR_MAX];
    if (b->high < b->open || b->high < b->close) {
        px_format(b->high, a, sizeof a);
        px_format(b->high < b->open ? b->open : b->close, c, sizeof c);
        return atp_err_set(err, ATP_EINVAL, r->csv.name, r->csv.line, "high",
                           "high %s is below the %s %s", a, b->high < b->open ? "open" : "close", c);
    }
    if (b->low > b->open || b->low > b->close) {
        px_format(b->low, a, sizeof a);
        px_format(b->low > b->open ? b->open : b->close, c, sizeof c);
        return atp_err_set(err, ATP_EINVAL, r->csv.name, r->csv.line, "low",
                           "low %s is above the %s %s", a, b->low > b->open ? "open" : "close", c);
    }

    struct barcsv_seen *seen = seen_get(r, row.symbol);
    if (!seen)
        return atp_err_set(err, ATP_ENOMEM, r->csv.name, r->csv.line, NULL, "out of memory");
    if (seen->last_start != INT64_MIN) {
        if (b->start <= seen->last_start) {
            char t1[TS_STR_MAX], t2[TS_STR_MAX];
            ts_format_ist(b->start, t1, sizeof t1);
            ts_format_ist(seen->last_start, t2, sizeof t2);
            return atp_err_set(err, ATP_EINVAL, r->csv.name, r->csv.line, r->ts_name,
                               "bar at %s is not after the previous bar of its symbol (%s); "
                               "bars must be in increasing time order per symbol",
                               t1, t2);
        }
        ts_ns gap;
        if (!__builtin_sub_overflow(b->start, seen->last_start, &gap) &&
            (r->min_gap_ns == 0 || gap < r->min_gap_ns))
            r->min_gap_ns = gap;
    }
    seen->last_start = b->start;
    *out = row;
    return 1;
}

int barcsv_load(struct barcsv_file *out, FILE *f, const char *name, const struct instreg *reg,
                const char *symbol, struct atp_err *err)
{
    memset(out, 0, sizeof *out);
    struct barcsv_reader r;
    struct barcsv_row *rows = NULL;
    size_t n = 0, cap = 0;
    int rc = barcsv_reader_init(&r, f, name, reg, symbol, err);
    if (rc != ATP_OK)
        goto cleanup;
    struct barcsv_row row;
    while ((rc = barcsv_read(&r, &row, err)) == 1) {
        if (n == cap) {
            if (cap >= BARCSV_MAX_ROWS) {
                rc = atp_err_set(err, ATP_ERANGE, r.csv.name, r.csv.line, NULL,
                                 "more than %d bars in one file", BARCSV_MAX_ROWS);
                goto cleanup;
            }
            size_t ncap = cap ? cap * 2 : 256;
            struct barcsv_row *p = atp_reallocarray(rows, ncap, sizeof *rows);
            if (!p) {
                rc = atp_err_set(err, ATP_ENOMEM, r.csv.name, r.csv.line, NULL, "out of memory");
                goto cleanup;
            }
            rows = p;
            cap = ncap;
        }
        rows[n++] = row;
    }
    if (rc < 0)
        goto cleanup;
    out->rows = rows;
    out->n = n;
    out->has_symbol_column = r.col_symbol >= 0;
    out->date_only = r.date_only_mode == 1;
    out->min_gap_ns = r.min_gap_ns;
    rows = NULL;
    rc = ATP_OK;
cleanup:
    atp_free(rows);
    barcsv_reader_cleanup(&r);
    return rc;
}

void barcsv_file_cleanup(struct barcsv_file *file)
{
    atp_free(file->rows);
    memset(file, 0, sizeof *file);
}

int barcsv_tf_from_gap(int date_only, ts_ns min_gap_ns, enum tf *out, struct atp_err *err)
{
    if (date_only) {
        *out = TF_1D;
        return ATP_OK;
    }
    if (min_gap_ns <= 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "tf",
                           "cannot detect the timeframe: no symbol has two bars; give it");
    for (int i = 0; i < TF_COUNT; i++) {
        if (i != TF_1D && tf_period_ns((enum tf)i) == min_gap_ns) {
            *out = (enum tf)i;
            return ATP_OK;
        }
    }
    if (min_gap_ns % TS_NS_PER_DAY == 0) {
        *out = TF_1D;
        return ATP_OK;
    }
    long long s = (long long)(min_gap_ns / TS_NS_PER_SEC);
    return atp_err_set(err, ATP_EINVAL, NULL, 0, "tf",
                       "bars are %lldh%02lldm%02llds apart at the closest: not a known timeframe "
                       "(1m 3m 5m 15m 30m 1h 1d)",
                       s / 3600, s / 60 % 60, s % 60);
}

int barcsv_detect_tf(const struct barcsv_file *file, const char *name, enum tf *out,
                     struct atp_err *err)
{
    int rc = barcsv_tf_from_gap(file->date_only, file->min_gap_ns, out, err);
    if (rc != ATP_OK && err)
        atp_err_locate(err, name, 0);
    return rc;
}
