/* portfolio/charges: transaction charges per executed order (contract in charges.h, formulas,
 * sources and the rate-file format in docs/charges.md). */
#include "portfolio/charges.h"

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/csv.h"
#include "core/ts.h"

/* ---- the charge items and the table's keys -------------------------------------------------- */

/* Items in the order they are computed (GST last: its base is the fees before it). */
enum item {
    ITEM_BROKERAGE = 0,
    ITEM_STT,
    ITEM_EXCHANGE_TXN,
    ITEM_IPFT,
    ITEM_SEBI,
    ITEM_STAMP,
    ITEM_GST,
    ITEM_COUNT
};

static const char *const item_names[ITEM_COUNT] = {
    "brokerage", "stt", "exchange_txn", "ipft", "sebi", "stamp", "gst"};

static const char *const segment_names[CHARGES_SEGMENT_COUNT] = {
    "delivery", "intraday", "futures", "options"};

static const char *const side_names[CHARGES_SIDE_COUNT] = {"buy", "sell"};

/* The table knows two exchanges: the cash/derivatives pair of NSE (NSE, NFO) and of BSE. */
enum venue { VENUE_NSE = 0, VENUE_BSE, VENUE_COUNT };

static const char *const venue_names[VENUE_COUNT] = {"NSE", "BSE"};

#define KEY_COUNT (VENUE_COUNT * CHARGES_SEGMENT_COUNT * ITEM_COUNT * CHARGES_SIDE_COUNT)

/* A rate file has at most this many data rows (the real one has tens): hostile input cannot make
 * the loader allocate without bound. */
#define MAX_ROWS 4096

static int key_of(int venue, int segment, int item, int side)
{
    return ((venue * CHARGES_SEGMENT_COUNT + segment) * ITEM_COUNT + item) * CHARGES_SIDE_COUNT +
           side;
}

/* One version of one key's rate, in force from from_day until the key's next version. */
struct rate_entry {
    int64_t from_day;     /* IST day number */
    charges_rate_t rate;  /* percent of the item's base */
    px_t flat;            /* rupees added per executed order (brokerage only), whole paise */
    px_t cap;             /* per-order ceiling (brokerage only), whole paise; -1 = none */
    bool round_rupee;     /* round to the rupee instead of the paisa */
    long line;            /* source line, for messages */
};

struct charges_table {
    int64_t first_day;
    struct rate_entry *entries;    /* grouped by key, each group in date order */
    uint32_t start[KEY_COUNT + 1]; /* key k's entries are entries[start[k] .. start[k+1]) */
};

/* ---- names ---------------------------------------------------------------------------------- */

const char *charges_segment_name(enum charges_segment s)
{
    return (unsigned)s < CHARGES_SEGMENT_COUNT ? segment_names[s] : "?";
}

const char *charges_side_name(enum charges_side s)
{
    return (unsigned)s < CHARGES_SIDE_COUNT ? side_names[s] : "?";
}

int charges_segment_parse(const char *text, enum charges_segment *out)
{
    if (!text)
        return ATP_EINVAL;
    for (int i = 0; i < CHARGES_SEGMENT_COUNT; i++)
        if (strcasecmp(text, segment_names[i]) == 0) {
            *out = (enum charges_segment)i;
            return ATP_OK;
        }
    if (strcasecmp(text, "cnc") == 0) {
        *out = CHARGES_DELIVERY;
        return ATP_OK;
    }
    if (strcasecmp(text, "mis") == 0) {
        *out = CHARGES_INTRADAY;
        return ATP_OK;
    }
    return ATP_EINVAL;
}

/* ---- rates as text -------------------------------------------------------------------------- */

int charges_rate_parse(const char *text, size_t len, charges_rate_t *out, struct atp_err *err)
{
    if (!text)
        return atp_err_set(err, ATP_EPARSE, NULL, 0, NULL, "no rate text");
    while (len && (text[0] == ' ' || text[0] == '\t')) {
        text++;
        len--;
    }
    while (len && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\r'))
        len--;
    if (len == 0)
        return atp_err_set(err, ATP_EPARSE, NULL, 0, NULL, "empty rate");

    /* Scan the whole text first so that malformed text is EPARSE whatever its size. */
    int64_t whole = 0, frac = 0;
    int int_digits = 0, frac_digits = 0;
    bool dot = false, too_big = false, too_precise = false;
    for (size_t i = 0; i < len; i++) {
        char ch = text[i];
        if (ch == '.' && !dot) {
            dot = true;
        } else if (ch >= '0' && ch <= '9') {
            int d = ch - '0';
            if (!dot) {
                int_digits++;
                if (whole > 100) /* already out of range: stop growing, keep scanning */
                    too_big = true;
                else
                    whole = whole * 10 + d;
            } else if (frac_digits < CHARGES_RATE_DECIMALS) {
                frac = frac * 10 + d;
                frac_digits++;
            } else if (d != 0) {
                too_precise = true;
            }
        } else {
            return atp_err_set(err, ATP_EPARSE, NULL, 0, NULL,
                               ch == '-' ? "a rate cannot be negative"
                                         : "'%c' in a rate (want digits and one '.', in percent)",
                               (ch >= 0x20 && ch < 0x7f) ? ch : '?');
        }
    }
    if (int_digits == 0 && frac_digits == 0)
        return atp_err_set(err, ATP_EPARSE, NULL, 0, NULL, "a rate needs at least one digit");
    if (too_precise)
        return atp_err_set(err, ATP_ERANGE, NULL, 0, NULL,
                           "more than %d decimals of a percent", CHARGES_RATE_DECIMALS);
    for (int i = frac_digits; i < CHARGES_RATE_DECIMALS; i++)
        frac *= 10;
    if (too_big || whole > 100 || whole * CHARGES_RATE_PER_PCT + frac > CHARGES_RATE_MAX)
        return atp_err_set(err, ATP_ERANGE, NULL, 0, NULL, "a rate above 100%%");
    *out = whole * CHARGES_RATE_PER_PCT + frac;
    return ATP_OK;
}

int charges_rate_format(charges_rate_t rate, char *buf, size_t size)
{
    /* Magnitude as unsigned so that INT64_MIN formats too. */
    uint64_t mag = rate < 0 ? (uint64_t)0 - (uint64_t)rate : (uint64_t)rate;
    uint64_t whole = mag / CHARGES_RATE_PER_PCT, frac = mag % CHARGES_RATE_PER_PCT;
    char digits[CHARGES_RATE_DECIMALS + 1];
    int n = CHARGES_RATE_DECIMALS;
    for (int i = CHARGES_RATE_DECIMALS - 1; i >= 0; i--) {
        digits[i] = (char)('0' + frac % 10);
        frac /= 10;
    }
    while (n > 0 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
    return snprintf(buf, size, "%s%llu%s%s", rate < 0 ? "-" : "", (unsigned long long)whole,
                    n ? "." : "", digits);
}

/* ---- exact arithmetic ----------------------------------------------------------------------- */

#define PX_PER_PAISA 100
#define RATE_PER_UNIT ((__int128)CHARGES_RATE_PER_PCT * 100) /* rate units in 100 % */

/* rate x base, rounded half-up (ties away from zero; base is never negative here) to a whole
 * paisa or rupee, in px. Exact: base_px * rate fits easily in 128 bits (< 2^63 * 2^34). */
static __int128 apply_rate(__int128 base_px, charges_rate_t rate, bool round_rupee)
{
    __int128 step = round_rupee ? PX_SCALE : PX_PER_PAISA; /* px in one rounding step */
    __int128 den = RATE_PER_UNIT * step;
    __int128 num = base_px * rate;
    return (num + den / 2) / den * step;
}

/* ---- the loader ----------------------------------------------------------------------------- */

enum col {
    COL_FROM = 0, COL_EXCHANGE, COL_SEGMENT, COL_ITEM, COL_SIDE, COL_RATE, COL_FLAT, COL_CAP,
    COL_ROUND, COL_SOURCE, COL_COUNT
};

static const char *const col_names[COL_COUNT] = {
    "effective_from", "exchange", "segment", "item", "side", "rate_pct", "flat_rupees",
    "cap_rupees", "round", "source"};

static bool col_required(int c)
{
    return c <= COL_RATE;
}

/* A parsed row before expansion: -1 in venue/segment/side stands for "every". */
struct row {
    int venue, segment, item, side;
    struct rate_entry e;
};

struct loader {
    struct csv_reader r;
    struct atp_err *err;
    int col[COL_COUNT];
    int ncols;                   /* fields in the header */
    struct row *rows;
    size_t nrows, cap;
    int64_t last_day;            /* effective_from of the previous row */
    int64_t key_day[KEY_COUNT];  /* latest day each key was given, for duplicate checks */
    long key_line[KEY_COUNT];    /* and the line that gave it (0: never) */
};

static int bad(const struct loader *ld, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Fills err with the reader's file and current line and the field at fault. */
static int bad(const struct loader *ld, int code, const char *field, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return atp_err_set(ld->err, code, ld->r.name, ld->r.line, field, "%s", msg);
}

/* Field text made safe to print: at most 40 bytes, control characters as '?'. */
static const char *shown(struct csv_field f, char *buf, size_t size)
{
    size_t n = f.len < size - 1 ? f.len : size - 1;
    if (n > 40)
        n = 40;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)f.ptr[i];
        buf[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    buf[n] = '\0';
    return buf;
}

static struct csv_field field(const struct loader *ld, int c)
{
    return csv_field_get(&ld->r, ld->col[c]);
}

static bool field_is(struct csv_field f, const char *s)
{
    size_t n = strlen(s);
    return f.len == n && strncasecmp(f.ptr, s, n) == 0;
}

static void format_day(int64_t day, char *buf, size_t size)
{
    int y, m, d;
    ts_civil_from_days(day, &y, &m, &d);
    snprintf(buf, size, "%04d-%02d-%02d", y, m, d);
}

/* A plain YYYY-MM-DD date in 1970..2200 as an IST day number. Parsed here rather than by
 * ts_parse, which accepts times, offsets and epoch milliseconds that have no place in this column
 * and works in nanoseconds that overflow past 2262. */
static int parse_day(struct csv_field f, int64_t *day)
{
    if (f.len != 10 || f.ptr[4] != '-' || f.ptr[7] != '-')
        return ATP_EPARSE;
    int v[3] = {0, 0, 0}, part = 0;
    for (size_t i = 0; i < 10; i++) {
        if (i == 4 || i == 7) {
            part++;
            continue;
        }
        if (f.ptr[i] < '0' || f.ptr[i] > '9')
            return ATP_EPARSE;
        v[part] = v[part] * 10 + (f.ptr[i] - '0');
    }
    if (v[0] < 1970 || v[0] > 2200 || !ts_valid_date(v[0], v[1], v[2]))
        return ATP_EPARSE;
    *day = ts_days_from_civil(v[0], v[1], v[2]);
    return ATP_OK;
}

static int read_header(struct loader *ld)
{
    char s[48];
    for (int c = 0; c < COL_COUNT; c++)
        ld->col[c] = -1;
    ld->ncols = ld->r.nfields;
    for (int i = 0; i < ld->r.nfields; i++) {
        struct csv_field f = csv_field_get(&ld->r, i);
        int c = 0;
        while (c < COL_COUNT && !field_is(f, col_names[c]))
            c++;
        if (c == COL_COUNT)
            return bad(ld, ATP_EPARSE, shown(f, s, sizeof s), "unknown column '%s'",
                       shown(f, s, sizeof s));
        if (ld->col[c] >= 0)
            return bad(ld, ATP_EPARSE, col_names[c], "column '%s' appears twice", col_names[c]);
        ld->col[c] = i;
    }
    for (int c = 0; c < COL_COUNT; c++)
        if (ld->col[c] < 0 && col_required(c))
            return bad(ld, ATP_EPARSE, col_names[c], "required column '%s' is missing",
                       col_names[c]);
    return ATP_OK;
}

/* Matches field c against names[0..n), or "*" (-> -1) when star is allowed. */
static int parse_name(const struct loader *ld, int c, const char *const *names, int n, bool star,
                      const char *want, int *out)
{
    struct csv_field f = field(ld, c);
    char s[48];
    if (star && field_is(f, "*")) {
        *out = -1;
        return ATP_OK;
    }
    for (int i = 0; i < n; i++)
        if (field_is(f, names[i])) {
            *out = i;
            return ATP_OK;
        }
    return bad(ld, ATP_EINVAL, col_names[c], "'%s' is not %s", shown(f, s, sizeof s), want);
}

/* An optional amount in rupees: empty gives dflt; else >= 0 and a whole number of paise. */
static int parse_rupees(const struct loader *ld, int c, px_t dflt, px_t *out)
{
    struct csv_field f = field(ld, c);
    struct atp_err e;
    char s[48];
    if (f.len == 0) {
        *out = dflt;
        return ATP_OK;
    }
    px_t v;
    int rc = px_parse(f.ptr, f.len, &v, &e);
    if (rc != ATP_OK)
        return bad(ld, rc, col_names[c], "'%s' is not an amount in rupees: %s",
                   shown(f, s, sizeof s), e.msg);
    if (v < 0)
        return bad(ld, ATP_ERANGE, col_names[c], "amount %s is negative", shown(f, s, sizeof s));
    if (v % PX_PER_PAISA != 0)
        return bad(ld, ATP_ERANGE, col_names[c], "amount %s is not a whole number of paise",
                   shown(f, s, sizeof s));
    *out = v;
    return ATP_OK;
}

static int parse_row(struct loader *ld, struct row *row)
{
    struct csv_field f;
    struct atp_err e;
    char s[48];
    int rc;

    memset(row, 0, sizeof *row);
    row->e.line = ld->r.line;
    if (ld->r.nfields > ld->ncols)
        return bad(ld, ATP_EPARSE, NULL, "%d fields, the header has %d", ld->r.nfields,
                   ld->ncols);

    /* effective_from: a date alone, taken as that IST day. */
    f = field(ld, COL_FROM);
    if (parse_day(f, &row->e.from_day) != ATP_OK)
        return bad(ld, ATP_EPARSE, col_names[COL_FROM],
                   "'%s' is not a date YYYY-MM-DD in 1970..2200", shown(f, s, sizeof s));
    if (ld->nrows > 0 && row->e.from_day < ld->last_day) {
        char prev[16];
        format_day(ld->last_day, prev, sizeof prev);
        return bad(ld, ATP_EINVAL, col_names[COL_FROM],
                   "%s comes after %s: rows must be in effective_from order",
                   shown(f, s, sizeof s), prev);
    }

    if ((rc = parse_name(ld, COL_EXCHANGE, venue_names, VENUE_COUNT, true, "NSE, BSE or *",
                         &row->venue)))
        return rc;
    if ((rc = parse_name(ld, COL_SEGMENT, segment_names, CHARGES_SEGMENT_COUNT, true,
                         "delivery, intraday, futures, options or *", &row->segment)))
        return rc;
    if ((rc = parse_name(ld, COL_ITEM, item_names, ITEM_COUNT, false,
                         "brokerage, stt, exchange_txn, ipft, sebi, stamp or gst", &row->item)))
        return rc;
    static const char *const sides[3] = {"buy", "sell", "both"};
    if ((rc = parse_name(ld, COL_SIDE, sides, 3, false, "buy, sell or both", &row->side)))
        return rc;
    if (row->side == 2)
        row->side = -1;

    f = field(ld, COL_RATE);
    if ((rc = charges_rate_parse(f.ptr, f.len, &row->e.rate, &e)) != ATP_OK)
        return bad(ld, rc, col_names[COL_RATE], "'%s': %s", shown(f, s, sizeof s), e.msg);

    if ((rc = parse_rupees(ld, COL_FLAT, 0, &row->e.flat)))
        return rc;
    if ((rc = parse_rupees(ld, COL_CAP, -1, &row->e.cap)))
        return rc;
    if (row->item != ITEM_BROKERAGE && row->e.flat != 0)
        return bad(ld, ATP_EINVAL, col_names[COL_FLAT], "only brokerage takes a flat fee");
    if (row->item != ITEM_BROKERAGE && row->e.cap >= 0)
        return bad(ld, ATP_EINVAL, col_names[COL_CAP], "only brokerage takes a cap");
    if (row->e.cap >= 0 && row->e.cap < row->e.flat)
        return bad(ld, ATP_EINVAL, col_names[COL_CAP], "cap is below the flat fee");

    f = field(ld, COL_ROUND);
    if (f.len == 0 || field_is(f, "paisa"))
        row->e.round_rupee = false;
    else if (field_is(f, "rupee"))
        row->e.round_rupee = true;
    else
        return bad(ld, ATP_EINVAL, col_names[COL_ROUND], "'%s' is not paisa or rupee",
                   shown(f, s, sizeof s));
    return ATP_OK;
}

/* Records that the row defines each key it covers on its day; two rows for one key on one day
 * are an overlap. */
static int claim_keys(struct loader *ld, const struct row *row)
{
    for (int v = 0; v < VENUE_COUNT; v++) {
        if (row->venue >= 0 && row->venue != v)
            continue;
        for (int g = 0; g < CHARGES_SEGMENT_COUNT; g++) {
            if (row->segment >= 0 && row->segment != g)
                continue;
            for (int sd = 0; sd < CHARGES_SIDE_COUNT; sd++) {
                if (row->side >= 0 && row->side != sd)
                    continue;
                int k = key_of(v, g, row->item, sd);
                if (ld->key_line[k] && ld->key_day[k] == row->e.from_day)
                    return bad(ld, ATP_EEXIST, col_names[COL_ITEM],
                               "%s %s %s %s is already defined from this date on line %ld",
                               venue_names[v], segment_names[g], item_names[row->item],
                               side_names[sd], ld->key_line[k]);
                ld->key_day[k] = row->e.from_day;
                ld->key_line[k] = row->e.line;
            }
        }
    }
    return ATP_OK;
}

static int push_row(struct loader *ld, const struct row *row)
{
    if (ld->nrows == MAX_ROWS)
        return bad(ld, ATP_ERANGE, NULL, "more than %d rate rows", MAX_ROWS);
    if (ld->nrows == ld->cap) {
        size_t cap = ld->cap ? ld->cap * 2 : 64;
        struct row *rows = atp_reallocarray(ld->rows, cap, sizeof *rows);
        if (!rows)
            return bad(ld, ATP_ENOMEM, NULL, "out of memory");
        ld->rows = rows;
        ld->cap = cap;
    }
    ld->rows[ld->nrows++] = *row;
    ld->last_day = row->e.from_day;
    return ATP_OK;
}

static bool row_covers(const struct row *row, int v, int g, int item, int sd)
{
    return (row->venue < 0 || row->venue == v) && (row->segment < 0 || row->segment == g) &&
           row->item == item && (row->side < 0 || row->side == sd);
}

/* Builds the table from the rows: every key must have a rate from the first day on, so that a
 * forgotten row is an error rather than a silent zero. */
static int build(struct loader *ld, struct charges_table **out)
{
    struct charges_table *t = atp_calloc(1, sizeof *t);
    if (!t)
        return atp_err_set(ld->err, ATP_ENOMEM, ld->r.name, 0, NULL, "out of memory");
    t->first_day = ld->rows[0].e.from_day;

    /* Count each key's versions, check the first date, then place them (rows are in date order,
     * so each key's versions come out in date order). */
    uint32_t count[KEY_COUNT] = {0};
    size_t total = 0;
    for (size_t i = 0; i < ld->nrows; i++)
        for (int k = 0; k < KEY_COUNT; k++) {
            int sd = k % CHARGES_SIDE_COUNT, item = k / CHARGES_SIDE_COUNT % ITEM_COUNT;
            int g = k / (CHARGES_SIDE_COUNT * ITEM_COUNT) % CHARGES_SEGMENT_COUNT;
            int v = k / (CHARGES_SIDE_COUNT * ITEM_COUNT * CHARGES_SEGMENT_COUNT);
            if (row_covers(&ld->rows[i], v, g, item, sd)) {
                count[k]++;
                total++;
            }
        }
    for (int k = 0; k < KEY_COUNT; k++) {
        int sd = k % CHARGES_SIDE_COUNT, item = k / CHARGES_SIDE_COUNT % ITEM_COUNT;
        int g = k / (CHARGES_SIDE_COUNT * ITEM_COUNT) % CHARGES_SEGMENT_COUNT;
        int v = k / (CHARGES_SIDE_COUNT * ITEM_COUNT * CHARGES_SEGMENT_COUNT);
        bool on_first = false;
        for (size_t i = 0; i < ld->nrows && ld->rows[i].e.from_day == t->first_day; i++)
            on_first = on_first || row_covers(&ld->rows[i], v, g, item, sd);
        if (!on_first) {
            char day[16];
            format_day(t->first_day, day, sizeof day);
            charges_table_free(t);
            return atp_err_set(ld->err, ATP_EINVAL, ld->r.name, 0, col_names[COL_ITEM],
                               "no rate for %s %s %s %s on %s, the first effective date (every "
                               "item needs a row there, rate 0 where nothing is charged)",
                               venue_names[v], segment_names[g], item_names[item], side_names[sd],
                               day);
        }
    }
    t->entries = atp_calloc(total, sizeof *t->entries);
    if (!t->entries) {
        charges_table_free(t);
        return atp_err_set(ld->err, ATP_ENOMEM, ld->r.name, 0, NULL, "out of memory");
    }
    t->start[0] = 0;
    for (int k = 0; k < KEY_COUNT; k++)
        t->start[k + 1] = t->start[k] + count[k];
    uint32_t fill[KEY_COUNT];
    memcpy(fill, t->start, sizeof fill);
    for (size_t i = 0; i < ld->nrows; i++)
        for (int k = 0; k < KEY_COUNT; k++) {
            int sd = k % CHARGES_SIDE_COUNT, item = k / CHARGES_SIDE_COUNT % ITEM_COUNT;
            int g = k / (CHARGES_SIDE_COUNT * ITEM_COUNT) % CHARGES_SEGMENT_COUNT;
            int v = k / (CHARGES_SIDE_COUNT * ITEM_COUNT * CHARGES_SEGMENT_COUNT);
            if (row_covers(&ld->rows[i], v, g, item, sd))
                t->entries[fill[k]++] = ld->rows[i].e;
        }
    *out = t;
    return ATP_OK;
}

int charges_table_load_stream(FILE *f, const char *name, struct charges_table **out,
                              struct atp_err *err)
{
    struct loader *ld = NULL;
    int rc;

    atp_err_clear(err);
    if (!out)
        return atp_err_set(err, ATP_EINVAL, name, 0, NULL, "no output table");
    *out = NULL;
    if (!f)
        return atp_err_set(err, ATP_EINVAL, name, 0, NULL, "no file");
    /* The loader's key bookkeeping is a few KB: on the heap, not the caller's stack. */
    ld = atp_calloc(1, sizeof *ld);
    if (!ld)
        return atp_err_set(err, ATP_ENOMEM, name, 0, NULL, "out of memory");
    ld->err = err;
    csv_reader_init(&ld->r, f, name ? name : "charges");

    rc = csv_read_row(&ld->r, err);
    if (rc <= 0) {
        if (rc == 0)
            rc = atp_err_set(err, ATP_EPARSE, ld->r.name, 0, NULL, "empty file: no header row");
        goto cleanup;
    }
    if ((rc = read_header(ld)) != ATP_OK)
        goto cleanup;
    while ((rc = csv_read_row(&ld->r, err)) == 1) {
        struct row row;
        if ((rc = parse_row(ld, &row)) != ATP_OK)
            goto cleanup;
        if ((rc = claim_keys(ld, &row)) != ATP_OK)
            goto cleanup;
        if ((rc = push_row(ld, &row)) != ATP_OK)
            goto cleanup;
    }
    if (rc < 0)
        goto cleanup;
    if (ld->nrows == 0) {
        rc = atp_err_set(err, ATP_EPARSE, ld->r.name, 0, NULL, "no rate rows after the header");
        goto cleanup;
    }
    rc = build(ld, out);

cleanup:
    csv_reader_cleanup(&ld->r);
    atp_free(ld->rows);
    atp_free(ld);
    return rc < 0 ? rc : ATP_OK;
}

int charges_table_load(const char *path, struct charges_table **out, struct atp_err *err)
{
    if (out)
        *out = NULL;
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f)
        return atp_err_set(err, ATP_EIO, path, 0, NULL, "cannot open file");
    int rc = charges_table_load_stream(f, path, out, err);
    fclose(f);
    return rc;
}

void charges_table_free(struct charges_table *t)
{
    if (!t)
        return;
    atp_free(t->entries);
    atp_free(t);
}

int64_t charges_table_first_day(const struct charges_table *t)
{
    return t ? t->first_day : 0;
}

/* ---- computing charges ---------------------------------------------------------------------- */

/* Checks the request and works out its turnover (price x qty) and venue. */
static int check_req(const struct charges_req *req, px_t *turnover, int *venue,
                     struct atp_err *err)
{
    if (!req)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, NULL, "no request");
    if ((unsigned)req->segment >= CHARGES_SEGMENT_COUNT)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "segment", "unknown segment %d",
                           (int)req->segment);
    if ((unsigned)req->side >= CHARGES_SIDE_COUNT)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "side", "unknown side %d", (int)req->side);
    bool derivative = req->segment == CHARGES_FUTURES || req->segment == CHARGES_OPTIONS;
    switch (req->exchange) {
    case EXCH_NSE:
        *venue = VENUE_NSE;
        break;
    case EXCH_BSE:
        *venue = VENUE_BSE;
        break;
    case EXCH_NFO:
    case EXCH_BFO:
        if (!derivative)
            return atp_err_set(err, ATP_EINVAL, NULL, 0, "exchange",
                               "%s is a derivatives exchange, not for %s",
                               exchange_name(req->exchange), segment_names[req->segment]);
        *venue = req->exchange == EXCH_NFO ? VENUE_NSE : VENUE_BSE;
        break;
    default:
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "exchange",
                           "charges are modelled for NSE, BSE, NFO and BFO only, not %s",
                           exchange_name(req->exchange));
    }
    if (req->price <= 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "price", "price must be positive");
    if (req->qty <= 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "qty", "quantity must be positive");
    if (px_mul_qty(req->price, req->qty, turnover) != ATP_OK)
        return atp_err_set(err, ATP_EOVERFLOW, NULL, 0, "qty",
                           "price x quantity does not fit in a px_t");
    return ATP_OK;
}

/* The version of key k in force on day, or NULL before the key's first version. */
static const struct rate_entry *rate_on(const struct charges_table *t, int k, int64_t day)
{
    for (uint32_t i = t->start[k + 1]; i > t->start[k]; i--)
        if (t->entries[i - 1].from_day <= day)
            return &t->entries[i - 1];
    return NULL;
}

/* Writes the components and their total, or fails when the total does not fit. */
static int finish(const __int128 part[ITEM_COUNT], struct charges_breakdown *out,
                  struct atp_err *err)
{
    __int128 total = 0;
    for (int i = 0; i < ITEM_COUNT; i++)
        total += part[i]; /* each part <= turnover or a small fee: no 128-bit overflow */
    if (total > PX_MAX)
        return atp_err_set(err, ATP_EOVERFLOW, NULL, 0, NULL, "charges do not fit in a px_t");
    out->brokerage = (px_t)part[ITEM_BROKERAGE];
    out->stt = (px_t)part[ITEM_STT];
    out->exchange_txn = (px_t)part[ITEM_EXCHANGE_TXN];
    out->ipft = (px_t)part[ITEM_IPFT];
    out->sebi = (px_t)part[ITEM_SEBI];
    out->stamp = (px_t)part[ITEM_STAMP];
    out->gst = (px_t)part[ITEM_GST];
    out->total = (px_t)total;
    return ATP_OK;
}

int charges_indian(const struct charges_table *t, const struct charges_req *req,
                   struct charges_breakdown *out, struct atp_err *err)
{
    px_t turnover = 0;
    int venue = VENUE_NSE, rc;

    atp_err_clear(err);
    if (!t)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, NULL, "no rate table");
    if ((rc = check_req(req, &turnover, &venue, err)) != ATP_OK)
        return rc;
    if (req->ist_day < t->first_day) {
        char day[16], first[16];
        format_day(req->ist_day, day, sizeof day);
        format_day(t->first_day, first, sizeof first);
        return atp_err_set(err, ATP_ERANGE, NULL, 0, "ist_day",
                           "no charges rates for %s: the table starts on %s", day, first);
    }

    __int128 part[ITEM_COUNT];
    for (int item = 0; item < ITEM_COUNT; item++) {
        /* Never NULL: every key has a version from first_day on (checked at load). */
        const struct rate_entry *e =
            rate_on(t, key_of(venue, req->segment, item, req->side), req->ist_day);
        assert(e);
        if (item == ITEM_GST) {
            /* GST base: the broker's and exchange's fees as they appear on the contract note
             * (already rounded); IPFT included, see docs/charges.md. */
            __int128 base = part[ITEM_BROKERAGE] + part[ITEM_EXCHANGE_TXN] + part[ITEM_IPFT] +
                            part[ITEM_SEBI];
            part[item] = apply_rate(base, e->rate, e->round_rupee);
        } else {
            part[item] = apply_rate(turnover, e->rate, e->round_rupee) + e->flat;
            if (e->cap >= 0 && part[item] > e->cap)
                part[item] = e->cap;
        }
    }
    return finish(part, out, err);
}

int charges_flat(charges_rate_t rate, const struct charges_req *req,
                 struct charges_breakdown *out, struct atp_err *err)
{
    px_t turnover = 0;
    int venue = VENUE_NSE, rc;

    atp_err_clear(err);
    if (rate < 0 || rate > CHARGES_RATE_MAX)
        return atp_err_set(err, ATP_ERANGE, NULL, 0, "rate", "flat rate outside 0..100%%");
    if ((rc = check_req(req, &turnover, &venue, err)) != ATP_OK)
        return rc;
    __int128 part[ITEM_COUNT] = {0};
    part[ITEM_BROKERAGE] = apply_rate(turnover, rate, false);
    return finish(part, out, err);
}

int charges_compute(const struct charges_model *m, const struct charges_req *req,
                    struct charges_breakdown *out, struct atp_err *err)
{
    if (!m) {
        atp_err_clear(err);
        return atp_err_set(err, ATP_EINVAL, NULL, 0, NULL, "no charges model");
    }
    switch (m->kind) {
    case CHARGES_MODEL_FLAT:
        return charges_flat(m->flat_rate, req, out, err);
    case CHARGES_MODEL_INDIAN:
        return charges_indian(m->table, req, out, err);
    }
    atp_err_clear(err);
    return atp_err_set(err, ATP_EINVAL, NULL, 0, "kind", "unknown charges model %d", (int)m->kind);
}
