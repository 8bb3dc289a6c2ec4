#include "backtest/data.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"

int bt_data_init(struct bt_data *d, struct atp_err *err)
{
    memset(d, 0, sizeof *d);
    d->reg = instreg_new();
    if (!d->reg)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    return ATP_OK;
}

void bt_data_cleanup(struct bt_data *d)
{
    if (!d)
        return;
    instreg_free(d->reg);
    atp_free(d->bars);
    memset(d, 0, sizeof *d);
}

int bt_data_add(struct bt_data *d, const struct instreg *master, const char *symbol, const struct bar *bar,
                int *unknown_out, struct atp_err *err)
{
    if (unknown_out)
        *unknown_out = 0;
    if (!symbol || !symbol[0] || strlen(symbol) >= INST_SYMBOL_MAX)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "symbol", "a symbol of 1..%d bytes is required",
                           INST_SYMBOL_MAX - 1);
    const struct instrument *in = instreg_find(d->reg, symbol);
    if (!in) {
        if (d->n_instruments == STRAT_MAX_INSTRUMENTS)
            return atp_err_set(err, ATP_ERANGE, NULL, 0, "symbols", "at most %d symbols in one backtest",
                               STRAT_MAX_INSTRUMENTS);
        const struct instrument *known = master ? instreg_find(master, symbol) : NULL;
        struct instrument add;
        if (known) {
            add = *known;
        } else {
            add = (struct instrument){.exchange = EXCH_NSE, .type = INST_EQ, .lot_size = 1, .tick_size = 100,
                                      .expiry_day = -1};
            snprintf(add.symbol, sizeof add.symbol, "%s", symbol);
        }
        uint32_t id;
        int rc = instreg_add(d->reg, &add, &id);
        if (rc != ATP_OK)
            return atp_err_set(err, rc, NULL, 0, "symbol", "cannot trade symbol '%s'", symbol);
        d->instruments[d->n_instruments++] = id;
        in = instreg_get(d->reg, id);
        if (unknown_out)
            *unknown_out = !known;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 1024;
        struct bt_bar *grown = atp_realloc(d->bars, cap * sizeof *grown);
        if (!grown)
            return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
        d->bars = grown;
        d->cap = cap;
    }
    d->bars[d->n].instrument_id = in->id;
    d->bars[d->n].bar = *bar;
    d->n++;
    return ATP_OK;
}

static void merge_run(struct bt_bar *a, struct bt_bar *tmp, size_t lo, size_t mid, size_t hi)
{
    size_t i = lo, j = mid, k = lo;
    while (i < mid && j < hi)
        tmp[k++] = a[j].bar.start < a[i].bar.start ? a[j++] : a[i++]; /* ties: the left (earlier) one */
    while (i < mid)
        tmp[k++] = a[i++];
    while (j < hi)
        tmp[k++] = a[j++];
    memcpy(a + lo, tmp + lo, (hi - lo) * sizeof *a);
}

void bt_data_sort(struct bt_data *d)
{
    /* Stable: a bottom-up merge sort (qsort is not stable). Without the scratch memory, an
     * insertion sort, which is also stable and fast on the usual already-sorted input. */
    struct bt_bar *a = d->bars;
    struct bt_bar *tmp = d->n > 1 ? atp_malloc(d->n * sizeof *tmp) : NULL;
    if (!tmp) {
        for (size_t i = 1; i < d->n; i++) {
            struct bt_bar x = a[i];
            size_t j = i;
            for (; j > 0 && a[j - 1].bar.start > x.bar.start; j--)
                a[j] = a[j - 1];
            a[j] = x;
        }
        return;
    }
    for (size_t width = 1; width < d->n; width *= 2)
        for (size_t lo = 0; lo + width < d->n; lo += 2 * width) {
            size_t mid = lo + width, hi = lo + 2 * width < d->n ? lo + 2 * width : d->n;
            if (a[mid - 1].bar.start > a[mid].bar.start) /* already in order: nothing to merge */
                merge_run(a, tmp, lo, mid, hi);
        }
    atp_free(tmp);
}

int bt_costs_init(struct bt_costs *c, const char *kind, double commission_frac, const char *charges_csv,
                  struct atp_err *err)
{
    memset(c, 0, sizeof *c);
    if (kind && !strcmp(kind, "none"))
        return ATP_OK;
    if (kind && !strcmp(kind, "india")) {
        int rc = charges_table_load(charges_csv, &c->rates, err);
        if (rc != ATP_OK)
            return rc;
        c->model.kind = CHARGES_MODEL_INDIAN;
        c->model.table = c->rates;
        c->use = &c->model;
        return ATP_OK;
    }
    if (kind && strcmp(kind, "flat"))
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "charges", "must be india, none or flat, not '%.64s'", kind);
    if (!(commission_frac < 1))
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "commission_pct", "must be below 100%%");
    char txt[32];
    snprintf(txt, sizeof txt, "%.6f", (commission_frac >= 0 ? commission_frac : BT_DEFAULT_COMMISSION) * 100);
    c->model.kind = CHARGES_MODEL_FLAT;
    int rc = charges_rate_parse(txt, strlen(txt), &c->model.flat_rate, err);
    if (rc != ATP_OK)
        return rc;
    c->use = &c->model;
    return ATP_OK;
}

void bt_costs_cleanup(struct bt_costs *c)
{
    if (!c)
        return;
    charges_table_free(c->rates);
    memset(c, 0, sizeof *c);
}
