#include "md/feed/player.h"

#include <math.h>

#include "core/alloc.h"

struct player {
    struct feed *feed;        /* not owned */
    double speed;             /* 0 = as fast as possible */
    int paused;
    int started;              /* the anchors are set */
    ts_ns wall_anchor;        /* market time was market_anchor at wall time wall_anchor */
    ts_ns market_anchor;
    struct feed_item pending; /* the next item, read ahead */
    ts_ns pending_time;
    int has_pending;
    int ended;
    ts_ns last_consumed;      /* feed time of the last item released or skipped; INT64_MIN */
    ts_ns max_gap;
    int failed;               /* the feed's error code once it failed, 0 before */
    struct atp_err failure;   /* ... and its detail, given again on every later call */
};

static int valid_speed(double speed)
{
    return speed == 0.0 || (speed >= PLAYER_SPEED_MIN && speed <= PLAYER_SPEED_MAX);
}

int player_new(struct feed *feed, double speed, struct player **out, struct atp_err *err)
{
    *out = NULL;
    if (!valid_speed(speed))
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "speed",
                           "speed must be 0 (as fast as possible) or between %g and %g",
                           PLAYER_SPEED_MIN, PLAYER_SPEED_MAX);
    struct player *p = atp_calloc(1, sizeof *p);
    if (!p)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    p->feed = feed;
    p->speed = speed;
    p->last_consumed = INT64_MIN;
    *out = p;
    return ATP_OK;
}

void player_free(struct player *p)
{
    atp_free(p);
}

/* Reads the next item into pending if there is none. 1 pending, 0 ended, < 0 error. */
static int fill(struct player *p, struct atp_err *err)
{
    if (p->has_pending)
        return 1;
    if (p->ended)
        return 0;
    if (p->failed) {
        if (err)
            *err = p->failure;
        return p->failed;
    }
    int rc = feed_next(p->feed, &p->pending, &p->failure);
    if (rc < 0) {
        p->failed = rc;
        if (err)
            *err = p->failure;
        return rc;
    }
    if (rc == 0) {
        p->ended = 1;
        return 0;
    }
    p->has_pending = 1;
    p->pending_time = feed_item_time(&p->pending);
    return 1;
}

/* The paced market clock (no clamping). Only meaningful once started. */
static ts_ns clock_at(const struct player *p, ts_ns wall_now)
{
    if (p->paused || p->speed == 0.0 || wall_now <= p->wall_anchor)
        return p->market_anchor;
    return p->market_anchor + (ts_ns)floor((double)(wall_now - p->wall_anchor) * p->speed);
}

static void anchor(struct player *p, ts_ns market, ts_ns wall_now)
{
    p->market_anchor = market;
    p->wall_anchor = wall_now;
    p->started = 1;
}

int player_next_due(struct player *p, ts_ns wall_now, struct feed_item *out, ts_ns *wait_ns,
                    struct atp_err *err)
{
    if (wait_ns)
        *wait_ns = 0;
    int rc = fill(p, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return PLAYER_END;
    if (p->paused)
        return PLAYER_PAUSED;
    ts_ns t = p->pending_time;
    if (!p->started)
        anchor(p, t, wall_now); /* the first item is due at once */
    ts_ns now = clock_at(p, wall_now);
    if (p->max_gap > 0 && t - now > p->max_gap)
        anchor(p, now = t, wall_now); /* skip a night or a weekend */
    if (p->speed != 0.0 && now < t) {
        if (wait_ns) {
            ts_ns w = (ts_ns)ceil((double)(t - now) / p->speed);
            if (w < 1)
                w = 1;
            while (clock_at(p, wall_now + w) < t) /* guard against rounding */
                w++;
            *wait_ns = w;
        }
        return PLAYER_WAIT;
    }
    *out = p->pending;
    p->has_pending = 0;
    p->last_consumed = t;
    if (p->speed == 0.0 && t > p->market_anchor)
        p->market_anchor = t;
    return PLAYER_ITEM;
}

int player_set_speed(struct player *p, double speed, ts_ns wall_now, struct atp_err *err)
{
    if (!valid_speed(speed))
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "speed",
                           "speed must be 0 (as fast as possible) or between %g and %g",
                           PLAYER_SPEED_MIN, PLAYER_SPEED_MAX);
    if (p->started)
        anchor(p, clock_at(p, wall_now), wall_now);
    p->speed = speed;
    return ATP_OK;
}

double player_speed(const struct player *p)
{
    return p->speed;
}

void player_pause(struct player *p, ts_ns wall_now)
{
    if (p->paused)
        return;
    if (p->started)
        anchor(p, clock_at(p, wall_now), wall_now);
    p->paused = 1;
}

void player_resume(struct player *p, ts_ns wall_now)
{
    if (!p->paused)
        return;
    p->paused = 0;
    if (p->started)
        p->wall_anchor = wall_now;
}

int player_is_paused(const struct player *p)
{
    return p->paused;
}

int player_seek(struct player *p, ts_ns market_ts, ts_ns wall_now, struct atp_err *err)
{
    int rc;
    if (p->last_consumed != INT64_MIN && market_ts <= p->last_consumed) {
        /* items at or after market_ts were already consumed: start over */
        if ((rc = feed_rewind(p->feed, err)) < 0)
            return rc;
        p->has_pending = 0;
        p->ended = 0;
        p->failed = 0;
        p->last_consumed = INT64_MIN;
    }
    while ((rc = fill(p, err)) == 1 && p->pending_time < market_ts) {
        p->last_consumed = p->pending_time;
        p->has_pending = 0;
    }
    if (rc < 0)
        return rc;
    anchor(p, market_ts, wall_now);
    return ATP_OK;
}

void player_set_max_gap(struct player *p, ts_ns max_gap_ns)
{
    p->max_gap = max_gap_ns > 0 ? max_gap_ns : 0;
}

ts_ns player_market_time(struct player *p, ts_ns wall_now)
{
    int rc = fill(p, NULL);
    if (!p->started) {
        if (rc == 1)
            return p->pending_time;
        return p->feed->first_ts;
    }
    ts_ns now = clock_at(p, wall_now);
    if (rc == 1 && now > p->pending_time)
        now = p->pending_time;
    if (rc == 0 && p->last_consumed != INT64_MIN && now > p->last_consumed)
        now = p->last_consumed;
    return now;
}

double player_progress(struct player *p, ts_ns wall_now)
{
    ts_ns first, last;
    if (fill(p, NULL) == 0 && p->ended)
        return 1.0;
    if (!feed_time_range(p->feed, &first, &last))
        return 0.0;
    ts_ns now = player_market_time(p, wall_now);
    if (now == FEED_TS_UNKNOWN || last <= first)
        return 0.0;
    double x = (double)(now - first) / (double)(last - first);
    return x < 0.0 ? 0.0 : x > 1.0 ? 1.0 : x;
}
