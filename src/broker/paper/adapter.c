#include "broker/paper/adapter.h"

#include "core/alloc.h"

struct paper_adapter {
    struct broker base; /* first: a struct broker * is a struct paper_adapter * */
    struct paper_broker *pb;
};

static struct paper_broker *pb_of(const struct broker *b)
{
    return ((const struct paper_adapter *)(const void *)b)->pb;
}

static int pa_submit(struct broker *b, const struct order *o, ts_ns now, struct atp_err *err)
{
    return paper_submit(pb_of(b), o, now, err);
}

static int pa_cancel(struct broker *b, uint64_t id, ts_ns now, const char *reason,
                     struct atp_err *err)
{
    return paper_cancel(pb_of(b), id, now, reason, err);
}

static int pa_modify(struct broker *b, uint64_t id, int64_t qty, px_t limit, px_t trigger, ts_ns now,
                     struct atp_err *err)
{
    return paper_modify(pb_of(b), id, qty, limit, trigger, now, err);
}

static int pa_on_tick(struct broker *b, const struct tick *t)
{
    return paper_on_tick(pb_of(b), t);
}

static int pa_on_time(struct broker *b, ts_ns now)
{
    return paper_on_time(pb_of(b), now);
}

static int pa_last_price(const struct broker *b, uint32_t id, px_t *out)
{
    return paper_last_price(pb_of(b), id, out);
}

static void pa_destroy(struct broker *b)
{
    paper_free(pb_of(b));
    atp_free(b);
}

static const struct broker_ops paper_ops = {
    .name = "paper",
    .submit = pa_submit,
    .cancel = pa_cancel,
    .modify = pa_modify,
    .on_tick = pa_on_tick,
    .on_time = pa_on_time,
    .last_price = pa_last_price,
    .destroy = pa_destroy,
};

int paper_broker_open(const struct paper_config *cfg, const struct instreg *reg,
                      const struct cal *cal, const struct broker_events *events,
                      struct broker **out, struct atp_err *err)
{
    *out = NULL;
    struct paper_adapter *pa = atp_calloc(1, sizeof *pa);
    if (!pa)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    struct paper_events pe = {0};
    if (events) {
        pe.ctx = events->ctx;
        pe.on_order_update = events->on_order_update;
        pe.on_fill = events->on_fill;
        pe.on_square_off_due = events->on_square_off_due;
    }
    int rc = paper_new(cfg, reg, cal, &pe, &pa->pb, err);
    if (rc != ATP_OK) {
        atp_free(pa);
        return rc;
    }
    pa->base.ops = &paper_ops;
    *out = &pa->base;
    return ATP_OK;
}

struct paper_broker *paper_broker_of(struct broker *b)
{
    return b && b->ops == &paper_ops ? pb_of(b) : NULL;
}

struct paper_open_arg {
    const struct paper_config *paper;
    const struct kernel_config *cfg;
};

static int open_paper(void *arg, const struct broker_events *events, struct broker **out,
                      struct atp_err *err)
{
    const struct paper_open_arg *a = arg;
    return paper_broker_open(a->paper, a->cfg->reg, a->cfg->cal, events, out, err);
}

int paper_kernel_open(const struct kernel_config *cfg, const struct paper_config *paper,
                      struct kernel **out, struct atp_err *err)
{
    struct paper_open_arg a = {paper, cfg};
    return kernel_new(cfg, open_paper, &a, out, err);
}
