#include "md/feed/replay.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/cal.h"
#include "md/feed/barcsv.h"
#include "md/feed/tickcsv.h"

/* A cursor is one time-ordered stretch of input: a run of rows of a tick file, or the bars of
 * one symbol of a bar file. Cursors are merged through a heap keyed by (feed time, seq), seq
 * being (file index, line, expansion step) so that equal times come out in file order. */
struct cursor {
    uint32_t file;        /* index in replay.files */
    int is_tick;          /* tick-file run, else bar slice */
    /* tick run */
    FILE *f;
    struct tickcsv_reader rd;
    int rd_ready;         /* rd initialised (needs cleanup) */
    long lines_before;    /* physical lines before the run's first row */
    long offset;          /* byte offset of the line after lines_before lines; -1: right after header */
    long rows;            /* rows in the run */
    long rows_read;
    /* bar slice: file rows [begin, end) */
    size_t begin, end, i;
    int sub;              /* next expansion step 0..3 */
    struct tick exp[4];
    int64_t day;          /* IST day of the cumulative volume */
    int64_t cum;
    /* both */
    ts_ns last_time;      /* feed time of the last item given (order check) */
    struct feed_item item; /* the pending item */
    uint64_t seq;
};

struct replay_file {
    char *path;
    enum replay_kind kind;
    enum tf tf;
    struct barcsv_file bars; /* bar files, rows grouped by symbol in order of first appearance */
};

struct replay {
    struct feed base;
    const struct instreg *reg;
    struct replay_file *files;
    size_t n_files;
    struct cursor *cursors;
    size_t n_cursors, cap_cursors;
    struct feed_heap heap;
};

static uint64_t make_seq(uint32_t file, long line, int sub)
{
    return ((uint64_t)file << 40) | ((uint64_t)line << 2) | (uint64_t)sub;
}

void replay_expand_bar(const struct bar *bar, enum tf tf, uint32_t instrument_id,
                       struct tick out[4])
{
    ts_ns span = feed_bar_end(bar->start, tf) - bar->start;
    int up = bar->close >= bar->open;
    const px_t path[4] = {bar->open, up ? bar->high : bar->low, up ? bar->low : bar->high,
                          bar->close};
    int64_t q = bar->volume / 4;
    for (int k = 0; k < 4; k++) {
        struct tick *t = &out[k];
        memset(t, 0, sizeof *t);
        t->instrument_id = instrument_id;
        t->ts = bar->start + span / 4 * k;
        t->ltp = path[k];
        t->qty = k < 3 ? q : bar->volume - 3 * q;
        t->flags = TICK_HAS_QTY;
        if (bar->oi >= 0) {
            t->oi = bar->oi;
            t->flags |= TICK_HAS_OI;
        }
    }
}

/* ---- cursors ---- */

static int cursor_fill_tick(struct replay *rp, struct cursor *c, struct atp_err *err)
{
    if (c->rows_read == c->rows)
        return 0;
    const char *path = rp->files[c->file].path;
    struct tick t;
    int rc = tickcsv_read(&c->rd, &t, err);
    if (rc < 0)
        return rc;
    if (rc == 0 || t.ts < c->last_time)
        return atp_err_set(err, ATP_ESTATE, path, c->rd.csv.line, NULL,
                           "the file changed since it was opened");
    c->rows_read++;
    memset(&c->item, 0, sizeof c->item);
    c->item.kind = FEED_TICK;
    c->item.instrument_id = t.instrument_id;
    c->item.tick = t;
    c->seq = make_seq(c->file, c->rd.csv.line, 0);
    c->last_time = t.ts;
    return 1;
}

static int cursor_fill_bar(struct replay *rp, struct cursor *c, struct atp_err *err)
{
    const struct replay_file *rf = &rp->files[c->file];
    if (c->i == c->end)
        return 0;
    const struct barcsv_row *row = &rf->bars.rows[c->i];
    memset(&c->item, 0, sizeof c->item);
    c->item.instrument_id = row->instrument_id;
    if (rf->kind == REPLAY_BARS) {
        c->item.kind = FEED_BAR;
        c->item.tf = rf->tf;
        c->item.bar = row->bar;
        c->item.date_only = row->date_only;
        c->seq = make_seq(c->file, row->line, 0);
        c->i++;
    } else {
        if (c->sub == 0) {
            replay_expand_bar(&row->bar, rf->tf, row->instrument_id, c->exp);
            int64_t day = ts_ist_day(row->bar.start);
            if (day != c->day) {
                c->day = day;
                c->cum = 0;
            }
            ts_ns floor = c->last_time;
            for (int k = 0; k < 4; k++) {
                if (c->exp[k].ts < floor) /* bars closer than their period: keep time order */
                    c->exp[k].ts = floor;
                floor = c->exp[k].ts;
                c->cum += c->exp[k].qty;
                c->exp[k].cum_volume = c->cum;
                c->exp[k].flags |= TICK_HAS_VOLUME;
            }
        }
        c->item.kind = FEED_TICK;
        c->item.tick = c->exp[c->sub];
        c->seq = make_seq(c->file, row->line, c->sub);
        if (++c->sub == 4) {
            c->sub = 0;
            c->i++;
        }
    }
    ts_ns t = feed_item_time(&c->item);
    if (t < c->last_time)
        return atp_err_set(err, ATP_EINVAL, rf->path, row->line, NULL,
                           "bars overlap in time; give the right timeframe");
    c->last_time = t;
    return 1;
}

static int cursor_fill(struct replay *rp, struct cursor *c, struct atp_err *err)
{
    return c->is_tick ? cursor_fill_tick(rp, c, err) : cursor_fill_bar(rp, c, err);
}

/* Positions a cursor at its first row and reads its first item. */
static int cursor_reset(struct replay *rp, struct cursor *c, struct atp_err *err)
{
    c->last_time = INT64_MIN;
    if (c->is_tick) {
        const char *path = rp->files[c->file].path;
        long offset = c->offset;
        if (offset < 0) { /* the first run: start right after the header */
            if (c->rd_ready)
                tickcsv_reader_cleanup(&c->rd);
            c->rd_ready = 0;
            rewind(c->f);
            int rc = tickcsv_reader_init(&c->rd, c->f, path, rp->reg, err);
            c->rd_ready = 1;
            if (rc != ATP_OK)
                return rc;
        } else if (tickcsv_reader_seek(&c->rd, offset, c->lines_before) != ATP_OK) {
            return atp_err_set(err, ATP_EIO, path, 0, NULL, "cannot seek");
        }
        c->rows_read = 0;
    } else {
        c->i = c->begin;
        c->sub = 0;
        c->day = INT64_MIN;
        c->cum = 0;
    }
    return cursor_fill(rp, c, err);
}

static int push(struct replay *rp, size_t i)
{
    struct cursor *c = &rp->cursors[i];
    struct feed_heap_entry e = {feed_item_time(&c->item), c->seq, (uint32_t)i};
    return feed_heap_push(&rp->heap, e);
}

static int prime(struct replay *rp, struct atp_err *err)
{
    feed_heap_clear(&rp->heap);
    for (size_t i = 0; i < rp->n_cursors; i++) {
        int rc = cursor_reset(rp, &rp->cursors[i], err);
        if (rc < 0)
            return rc;
        if (rc == 1 && push(rp, i) != ATP_OK)
            return atp_err_set(err, ATP_ESTATE, NULL, 0, NULL, "replay heap overflow");
    }
    return ATP_OK;
}

/* ---- feed ops ---- */

static int replay_next(struct feed *feed, struct feed_item *item, struct atp_err *err)
{
    struct replay *rp = (struct replay *)feed;
    struct feed_heap_entry e;
    if (!feed_heap_pop(&rp->heap, &e))
        return 0;
    struct cursor *c = &rp->cursors[e.src];
    *item = c->item;
    int rc = cursor_fill(rp, c, err);
    if (rc < 0)
        return rc;
    if (rc == 1)
        push(rp, e.src); /* cannot fail: an entry was just popped */
    return 1;
}

static int replay_rewind(struct feed *feed, struct atp_err *err)
{
    return prime((struct replay *)feed, err);
}

static void replay_destroy(struct feed *feed)
{
    struct replay *rp = (struct replay *)feed;
    for (size_t i = 0; i < rp->n_cursors; i++) {
        struct cursor *c = &rp->cursors[i];
        if (c->rd_ready)
            tickcsv_reader_cleanup(&c->rd);
        if (c->f)
            fclose(c->f);
    }
    atp_free(rp->cursors);
    for (size_t i = 0; rp->files && i < rp->n_files; i++) {
        atp_free(rp->files[i].path);
        barcsv_file_cleanup(&rp->files[i].bars);
    }
    atp_free(rp->files);
    feed_heap_cleanup(&rp->heap);
    atp_free(rp);
}

static const struct feed_ops replay_ops = {replay_next, replay_rewind, replay_destroy};

/* ---- opening ---- */

static struct cursor *add_cursor(struct replay *rp, uint32_t file, struct atp_err *err)
{
    if (rp->n_cursors == rp->cap_cursors) {
        size_t cap = rp->cap_cursors ? rp->cap_cursors * 2 : 8;
        struct cursor *p = atp_reallocarray(rp->cursors, cap, sizeof *p);
        if (!p) {
            atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
            return NULL;
        }
        rp->cursors = p;
        rp->cap_cursors = cap;
    }
    struct cursor *c = &rp->cursors[rp->n_cursors++];
    memset(c, 0, sizeof *c);
    c->file = file;
    return c;
}

static void widen(ts_ns t, ts_ns *lo, ts_ns *hi)
{
    if (*lo == FEED_TS_UNKNOWN || t < *lo)
        *lo = t;
    if (*hi == FEED_TS_UNKNOWN || t > *hi)
        *hi = t;
}

/* Byte offsets of the lines following `lines_before[i]` newlines (ascending), by counting. */
static int find_offsets(const char *path, struct cursor *cs, size_t n, struct atp_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return atp_err_set(err, ATP_EIO, path, 0, NULL, "cannot open");
    char buf[65536];
    long lines = 0, pos = 0;
    size_t k = 0, got;
    while (k < n && cs[k].offset < 0) /* the first run needs no offset */
        k++;
    while (k < n && (got = fread(buf, 1, sizeof buf, f)) > 0) {
        for (size_t j = 0; j < got && k < n; j++) {
            if (buf[j] != '\n')
                continue;
            lines++;
            while (k < n && cs[k].lines_before == lines)
                cs[k++].offset = pos + (long)j + 1;
        }
        pos += (long)got;
    }
    fclose(f);
    if (k < n)
        return atp_err_set(err, ATP_ESTATE, path, 0, NULL, "the file changed while it was opened");
    return ATP_OK;
}

/* Scans a tick file: validates every row, finds its time-ordered runs (one cursor each) and
 * widens the time range. */
static int open_ticks(struct replay *rp, uint32_t fi, struct atp_err *err)
{
    const char *path = rp->files[fi].path;
    struct tickcsv_reader rd;
    int rd_ready = 0, rc;
    size_t first = rp->n_cursors;
    FILE *f = fopen(path, "r");
    if (!f) {
        rc = atp_err_set(err, ATP_EIO, path, 0, NULL, "cannot open tick file");
        goto cleanup;
    }
    rc = tickcsv_reader_init(&rd, f, path, rp->reg, err);
    rd_ready = 1;
    if (rc != ATP_OK)
        goto cleanup;
    struct tick t;
    ts_ns prev = INT64_MIN;
    struct cursor *run = NULL;
    for (;;) {
        long before = rd.csv.line;
        rc = tickcsv_read(&rd, &t, err);
        if (rc < 0)
            goto cleanup;
        if (rc == 0)
            break;
        if (!run || t.ts < prev) {
            if (rp->n_cursors - first == REPLAY_MAX_RUNS) {
                rc = atp_err_set(err, ATP_EINVAL, path, rd.csv.line, "timestamp",
                                 "rows go back in time more than %d times; sort the file by "
                                 "timestamp",
                                 REPLAY_MAX_RUNS - 1);
                goto cleanup;
            }
            if (!(run = add_cursor(rp, fi, err))) {
                rc = ATP_ENOMEM;
                goto cleanup;
            }
            run->is_tick = 1;
            run->lines_before = before;
            run->offset = rp->n_cursors - first == 1 ? -1 : 0;
        }
        run->rows++;
        prev = t.ts;
        widen(t.ts, &rp->base.first_ts, &rp->base.last_ts);
    }
    rc = ATP_OK;
    if (rp->n_cursors - first > 1)
        rc = find_offsets(path, rp->cursors + first, rp->n_cursors - first, err);
cleanup:
    if (rd_ready)
        tickcsv_reader_cleanup(&rd);
    if (f)
        fclose(f);
    return rc;
}

/* Loads a bar file, settles its timeframe, groups its rows by symbol (one cursor each). */
static int open_bars(struct replay *rp, uint32_t fi, const struct replay_source *src,
                     struct atp_err *err)
{
    struct replay_file *rf = &rp->files[fi];
    int rc;
    uint32_t *group_of = NULL;  /* per instrument id: group number + 1, 0 = none yet */
    size_t *group_start = NULL; /* per group */
    struct barcsv_row *sorted = NULL;
    FILE *f = fopen(rf->path, "r");
    if (!f)
        return atp_err_set(err, ATP_EIO, rf->path, 0, NULL, "cannot open bar file");
    rc = barcsv_load(&rf->bars, f, rf->path, rp->reg, src->symbol, err);
    fclose(f);
    if (rc != ATP_OK)
        return rc;
    struct barcsv_file *bf = &rf->bars;

    if (src->tf == REPLAY_TF_AUTO) {
        if (bf->n == 0)
            rf->tf = TF_1D;
        else if ((rc = barcsv_detect_tf(bf, rf->path, &rf->tf, err)) != ATP_OK)
            return rc;
    } else if (src->tf < 0 || src->tf >= TF_COUNT) {
        return atp_err_set(err, ATP_EINVAL, rf->path, 0, "tf", "unknown timeframe %d", src->tf);
    } else {
        rf->tf = (enum tf)src->tf;
        if (bf->date_only && rf->tf != TF_1D)
            return atp_err_set(err, ATP_EINVAL, rf->path, 0, "tf",
                               "the file has dates without times (daily bars), not %s bars",
                               tf_name(rf->tf));
    }
    if (rf->tf == TF_1D && !bf->date_only && bf->n > 0) {
        int all_midnight = 1;
        for (size_t i = 0; i < bf->n && all_midnight; i++)
            all_midnight = bf->rows[i].bar.start == ts_ist_midnight(ts_ist_day(bf->rows[i].bar.start));
        for (size_t i = 0; i < bf->n && all_midnight; i++) {
            bf->rows[i].bar.start += CAL_OPEN_NS;
            bf->rows[i].date_only = 1;
        }
    }

    /* Stable grouping by instrument in order of first appearance (a counting sort). */
    size_t n_ids = instreg_count(rp->reg), n_groups = 0;
    group_of = atp_calloc(n_ids ? n_ids : 1, sizeof *group_of);
    group_start = atp_calloc(bf->n + 1, sizeof *group_start);
    sorted = atp_reallocarray(NULL, bf->n ? bf->n : 1, sizeof *sorted);
    if (!group_of || !group_start || !sorted) {
        rc = atp_err_set(err, ATP_ENOMEM, rf->path, 0, NULL, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < bf->n; i++) {
        uint32_t id = bf->rows[i].instrument_id;
        if (!group_of[id])
            group_of[id] = (uint32_t)++n_groups;
        group_start[group_of[id] - 1]++; /* a count for now */
    }
    for (size_t g = 0, acc = 0; g < n_groups; g++) {
        size_t count = group_start[g];
        group_start[g] = acc;
        acc += count;
    }
    size_t first_cursor = rp->n_cursors;
    for (size_t g = 0; g < n_groups; g++) {
        struct cursor *c = add_cursor(rp, fi, err);
        if (!c) {
            rc = ATP_ENOMEM;
            goto cleanup;
        }
        c->begin = c->i = group_start[g];
    }
    for (size_t i = 0; i < bf->n; i++)
        sorted[group_start[group_of[bf->rows[i].instrument_id] - 1]++] = bf->rows[i];
    for (size_t g = 0; g < n_groups; g++)
        rp->cursors[first_cursor + g].end = group_start[g]; /* advanced to the group's end */
    atp_free(bf->rows);
    bf->rows = sorted;
    sorted = NULL;

    /* Time range: the first and last item of each symbol. */
    for (size_t g = 0; g < n_groups; g++) {
        const struct cursor *c = &rp->cursors[first_cursor + g];
        const struct bar *b0 = &bf->rows[c->begin].bar, *b1 = &bf->rows[c->end - 1].bar;
        if (rf->kind == REPLAY_BARS) {
            widen(feed_bar_end(b0->start, rf->tf), &rp->base.first_ts, &rp->base.last_ts);
            widen(feed_bar_end(b1->start, rf->tf), &rp->base.first_ts, &rp->base.last_ts);
        } else {
            struct tick ex[4];
            replay_expand_bar(b1, rf->tf, 0, ex);
            widen(b0->start, &rp->base.first_ts, &rp->base.last_ts);
            widen(ex[3].ts, &rp->base.first_ts, &rp->base.last_ts);
        }
    }
    rc = ATP_OK;
cleanup:
    atp_free(group_of);
    atp_free(group_start);
    atp_free(sorted);
    return rc;
}

int replay_open(const struct replay_source *sources, size_t n, const struct instreg *reg,
                struct feed **out, struct atp_err *err)
{
    int rc;
    *out = NULL;
    if (!reg)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, NULL, "replay needs an instrument registry");
    struct replay *rp = atp_calloc(1, sizeof *rp);
    if (!rp)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    rp->base.ops = &replay_ops;
    rp->base.first_ts = rp->base.last_ts = FEED_TS_UNKNOWN;
    snprintf(rp->base.name, sizeof rp->base.name, "replay");
    rp->reg = reg;
    rp->files = atp_calloc(n ? n : 1, sizeof *rp->files);
    if (!rp->files) {
        rc = atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        struct replay_file *rf = &rp->files[i];
        rp->n_files++;
        rf->kind = sources[i].kind;
        rf->path = atp_strdup(sources[i].path ? sources[i].path : "");
        if (!rf->path) {
            rc = atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
            goto fail;
        }
        if (rf->kind == REPLAY_TICKS)
            rc = open_ticks(rp, (uint32_t)i, err);
        else if (rf->kind == REPLAY_BARS || rf->kind == REPLAY_BAR_TICKS)
            rc = open_bars(rp, (uint32_t)i, &sources[i], err);
        else
            rc = atp_err_set(err, ATP_EINVAL, rf->path, 0, "kind", "unknown replay kind %d",
                             (int)rf->kind);
        if (rc != ATP_OK)
            goto fail;
    }
    /* Every tick run reads through its own FILE, positioned independently. */
    for (size_t i = 0; i < rp->n_cursors; i++) {
        struct cursor *c = &rp->cursors[i];
        if (!c->is_tick)
            continue;
        const char *path = rp->files[c->file].path;
        if (!(c->f = fopen(path, "r"))) {
            rc = atp_err_set(err, ATP_EIO, path, 0, NULL, "cannot open tick file");
            goto fail;
        }
        if (c->offset >= 0) { /* later runs: the header once, then seek */
            rc = tickcsv_reader_init(&c->rd, c->f, path, reg, err);
            c->rd_ready = 1;
            if (rc != ATP_OK)
                goto fail;
        }
    }
    if ((rc = feed_heap_init(&rp->heap, rp->n_cursors)) != ATP_OK) {
        rc = atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
        goto fail;
    }
    if ((rc = prime(rp, err)) != ATP_OK)
        goto fail;
    *out = &rp->base;
    return ATP_OK;
fail:
    replay_destroy(&rp->base);
    return rc;
}

int replay_open_ticks(const char *path, const struct instreg *reg, struct feed **out,
                      struct atp_err *err)
{
    struct replay_source s = {path, REPLAY_TICKS, NULL, REPLAY_TF_AUTO};
    return replay_open(&s, 1, reg, out, err);
}

int replay_open_bars(const char *path, const char *symbol, enum replay_kind kind,
                     const struct instreg *reg, struct feed **out, struct atp_err *err)
{
    if (kind != REPLAY_BARS && kind != REPLAY_BAR_TICKS)
        return atp_err_set(err, ATP_EINVAL, path, 0, "kind", "not a bar replay kind");
    struct replay_source s = {path, kind, symbol, REPLAY_TF_AUTO};
    return replay_open(&s, 1, reg, out, err);
}
