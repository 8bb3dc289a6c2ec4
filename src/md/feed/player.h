/* md/feed/player: releases a feed's items against a wall clock, for the live demo and the
 * server: a speed of 0.5x to 100x market time (or 0: as fast as possible), pause and resume,
 * seek to a market time (forward by skipping, backward by rewinding the feed and skipping), a
 * speed change mid-run, and progress.
 *
 * Pure logic: the caller passes the wall time (any monotonic clock, ns) to every call and sleeps
 * or polls as it likes; nothing here reads a clock or blocks, so tests use a fake clock.
 *
 * Pacing: market time runs at `speed` times wall time from an anchor pair (wall, market). The
 * first item is released at once (the anchor is its feed time) and each later item when market
 * time reaches its feed_item_time. A speed change, pause/resume or seek re-anchors, so market
 * time never jumps. With a max gap set, a stretch with no items longer than it (a night, a
 * weekend) is skipped instead of waited through. Single-threaded; the feed is not owned and must
 * not be used by anyone else while the player drives it. */
#ifndef ATP_MD_FEED_PLAYER_H
#define ATP_MD_FEED_PLAYER_H

#include "md/feed.h"

enum player_status {
    PLAYER_WAIT = 0,   /* nothing due: *wait_ns says how long until the next item is */
    PLAYER_ITEM = 1,   /* *out holds an item that is due */
    PLAYER_END = 2,    /* the feed is exhausted */
    PLAYER_PAUSED = 3, /* paused: nothing will be due until player_resume */
};

#define PLAYER_SPEED_MIN 0.5
#define PLAYER_SPEED_MAX 100.0

struct player;

/* Creates a player over feed (not owned). speed: 0 (as fast as possible) or in
 * [PLAYER_SPEED_MIN, PLAYER_SPEED_MAX], else ATP_EINVAL (field speed). ATP_ENOMEM. */
int player_new(struct feed *feed, double speed, struct player **out, struct atp_err *err);
void player_free(struct player *p);

/* The non-blocking step. Returns PLAYER_ITEM with *out filled when the next item is due at
 * wall_now; PLAYER_WAIT with *wait_ns (> 0) = wall time until it is due; PLAYER_PAUSED;
 * PLAYER_END; or < 0 when the feed fails (err filled). wait_ns may be NULL. Wall times passed
 * to successive calls must not decrease. */
int player_next_due(struct player *p, ts_ns wall_now, struct feed_item *out, ts_ns *wait_ns,
                    struct atp_err *err);

/* Changes the speed from wall_now on (market time does not jump). ATP_EINVAL for a bad speed. */
int player_set_speed(struct player *p, double speed, ts_ns wall_now, struct atp_err *err);
double player_speed(const struct player *p);

/* Pause freezes market time; resume continues from where it froze. Both are idempotent. */
void player_pause(struct player *p, ts_ns wall_now);
void player_resume(struct player *p, ts_ns wall_now);
int player_is_paused(const struct player *p);

/* Moves market time to market_ts from wall_now on: items before market_ts are skipped, the next
 * one released is the first with feed time >= market_ts, when the paced clock reaches it (at once
 * if it is exactly at market_ts). Seeking back rewinds the feed and skips forward. Keeps the
 * paused state. Returns ATP_OK or the feed's error. */
int player_seek(struct player *p, ts_ns market_ts, ts_ns wall_now, struct atp_err *err);

/* Skips any stretch without items longer than max_gap_ns of market time (0 = never skip, the
 * default). */
void player_set_max_gap(struct player *p, ts_ns max_gap_ns);

/* Current market time at wall_now: the paced clock, never ahead of the next pending item; the
 * last item's time at the end; FEED_TS_UNKNOWN before anything is known. */
ts_ns player_market_time(struct player *p, ts_ns wall_now);

/* Fraction of the feed's time range played, 0..1 (1 at the end; 0 when the range is unknown). */
double player_progress(struct player *p, ts_ns wall_now);

#endif
