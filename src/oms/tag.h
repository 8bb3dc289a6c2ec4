/* oms/tag: unique order tags, the key that lets the OMS find its own order at a broker after a
 * timeout or a restart (DESIGN principle 5: an order is persisted with a unique tag before it is
 * sent; an unknown outcome is resolved by looking the tag up).
 *
 * Format (docs/orders.md): 'A' L R S, where
 *   'A'  the format letter: a future format takes another letter, so formats never collide;
 *   L    one base-36 digit, 1..8: the number of digits of R;
 *   R    the run id in base 36, L digits, no leading zero (run 0 is "0");
 *   S    the sequence number in base 36, the rest of the tag, no leading zero (seq 0 is "0").
 * Digits are 0-9 A-Z (upper case only, so a broker that folds case cannot merge two tags). Run
 * ids are below 36^8 and sequences below 36^10, so a tag is 4..20 characters from [A-Z0-9]:
 * "A11" + "7" is run 1, seq 7 -> "A117"; run 123456 (base 36 "2N9C") seq 42 ("16") -> "A42N9C16".
 *
 * Uniqueness: tag_parse inverts tag_format on every (run, seq) it accepts, so distinct pairs give
 * distinct tags. A generator hands out strictly increasing sequence numbers; distinct runs (a new
 * run id per process start, or one run resumed with first_seq above the last sequence stored)
 * therefore never repeat a tag. The same (run id, first_seq) gives the same tags, so backtests
 * stay byte-identical. */
#ifndef ATP_OMS_TAG_H
#define ATP_OMS_TAG_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "model/order.h"

#define TAG_FORMAT_LETTER 'A'
#define TAG_RUN_ID_LIMIT 2821109907456ULL /* 36^8: run ids are < this */
#define TAG_SEQ_LIMIT 3656158440062976ULL /* 36^10: sequence numbers are < this */
#define TAG_BUF (ORDER_TAG_MAX + 1)       /* bytes a tag needs, with its NUL */

/* A tag generator: caller-owned storage, plain value (copying it forks the sequence, so don't). */
struct tag_gen {
    uint64_t run_id;
    uint64_t next_seq; /* sequence number the next tag will carry */
};

/* Starts a generator for run_id (< TAG_RUN_ID_LIMIT) whose first tag carries first_seq
 * (< TAG_SEQ_LIMIT). ATP_OK, or ATP_ERANGE with err->field "run_id" / "first_seq" (and *gen
 * untouched). */
int tag_gen_init(struct tag_gen *gen, uint64_t run_id, uint64_t first_seq, struct atp_err *err);

/* Writes the next tag into out (TAG_BUF bytes) and advances the sequence; *seq_out (may be NULL)
 * gets the sequence number used, for the store. ATP_ERANGE when the sequence is exhausted
 * (TAG_SEQ_LIMIT tags in one run), leaving gen and out untouched. */
int tag_gen_next(struct tag_gen *gen, char out[TAG_BUF], uint64_t *seq_out);

/* The tag of (run_id, seq), written into out (TAG_BUF bytes). ATP_ERANGE when run_id or seq is
 * over its limit (out untouched). Pure: no state. */
int tag_format(uint64_t run_id, uint64_t seq, char out[TAG_BUF]);

/* Decodes a tag made by tag_format. ATP_OK with *run_id and *seq set, or ATP_EINVAL for text that
 * tag_format cannot have produced (wrong letter, bad length digit, lower case, leading zeros,
 * over the limits, too long); outputs untouched then. Pointers may be NULL. */
int tag_parse(const char *tag, uint64_t *run_id, uint64_t *seq);

#endif
