/* model/instrument: instruments and the registry that maps standard symbols and brokers' symbols
 * and tokens to them. The registry is filled at start-up (data/instruments.csv, brokers' masters)
 * and is immutable afterwards, so any thread may read it without locks. */
#ifndef ATP_MODEL_INSTRUMENT_H
#define ATP_MODEL_INSTRUMENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "core/px.h"

enum exchange { EXCH_NSE = 0, EXCH_BSE, EXCH_NFO, EXCH_BFO, EXCH_CDS, EXCH_MCX, EXCH_COUNT };
enum inst_type { INST_EQ = 0, INST_INDEX, INST_FUT, INST_CE, INST_PE, INST_TYPE_COUNT };
enum broker_id { BROKER_KITE = 0, BROKER_ANGEL, BROKER_UPSTOX, BROKER_FYERS, BROKER_DHAN, BROKER_COUNT };

#define INST_SYMBOL_MAX 48
#define INST_NAME_MAX 64
#define INST_TOKEN_MAX 40

struct instrument_broker_ref {
    char symbol[INST_SYMBOL_MAX]; /* the broker's trading symbol, "" when unknown */
    char token[INST_TOKEN_MAX];   /* the broker's token / security id / instrument key, "" when unknown */
};

struct instrument {
    uint32_t id;                    /* dense index in its registry, assigned on add */
    char symbol[INST_SYMBOL_MAX];   /* standard symbol: "RELIANCE", "NIFTY", "NIFTY26DECFUT" */
    enum exchange exchange;
    enum inst_type type;
    char name[INST_NAME_MAX];       /* company or index name */
    char underlying[INST_SYMBOL_MAX]; /* derivatives: underlying standard symbol, else "" */
    char isin[16];                  /* "" when unknown */
    int64_t lot_size;               /* >= 1 */
    px_t tick_size;                 /* > 0 */
    int64_t expiry_day;             /* IST day number (ts_ist_day), -1 when none */
    px_t strike;                    /* options only, else 0 */
    struct instrument_broker_ref broker[BROKER_COUNT];
};

/* Names and parsers for the enums ("NSE", "EQ", "kite"). Parsers are case-insensitive and return
 * ATP_EINVAL for unknown text. Brokers: kite (alias zerodha), angel, upstox, fyers, dhan. */
const char *exchange_name(enum exchange e);
int exchange_parse(const char *text, enum exchange *out);
const char *inst_type_name(enum inst_type t);
int inst_type_parse(const char *text, enum inst_type *out);
const char *broker_name(enum broker_id b);
int broker_parse(const char *text, enum broker_id *out);

/* Validation against the instrument's tick and lot sizes: ATP_OK, or ATP_ERANGE with a message
 * giving the numbers ("price 100.03 is not a multiple of tick size 0.05"). */
int instrument_check_price(const struct instrument *in, px_t price, struct atp_err *err);
int instrument_check_qty(const struct instrument *in, int64_t qty, struct atp_err *err);

struct instreg;

struct instreg *instreg_new(void);
void instreg_free(struct instreg *reg);

/* Adds a copy of *in (its id is assigned and returned through id_out, which may be NULL).
 * ATP_EEXIST when (exchange, symbol) is already present; ATP_EINVAL for an invalid instrument
 * (empty symbol, lot < 1, tick <= 0), ATP_ENOMEM. */
int instreg_add(struct instreg *reg, const struct instrument *in, uint32_t *id_out);

/* Loads ATP's instrument master (data/instruments.csv, format in docs/instruments.md).
 * All-or-nothing per file: on error nothing from the file is kept and err names file, line and
 * column. Returns ATP_OK, ATP_EIO, ATP_EPARSE, ATP_EINVAL or ATP_EEXIST. */
int instreg_load_csv(struct instreg *reg, const char *path, struct atp_err *err);
int instreg_load_csv_stream(struct instreg *reg, FILE *f, const char *name, struct atp_err *err);

/* Loads Kite Connect's instrument CSV. A row whose (exchange, tradingsymbol) names an instrument
 * already in the registry fills its Kite symbol and token; other rows are added as new instruments
 * whose standard symbol is the tradingsymbol. All-or-nothing like instreg_load_csv. */
int instreg_load_kite_csv(struct instreg *reg, const char *path, struct atp_err *err);
int instreg_load_kite_csv_stream(struct instreg *reg, FILE *f, const char *name, struct atp_err *err);

size_t instreg_count(const struct instreg *reg);
/* Instrument by id, NULL when out of range. Pointers stay valid until instreg_free (the registry
 * never moves instruments once added). */
const struct instrument *instreg_get(const struct instreg *reg, uint32_t id);

/* By standard symbol: the NSE listing when the symbol exists on several exchanges, else the only
 * one; NULL when absent. Case-sensitive (symbols are upper case). */
const struct instrument *instreg_find(const struct instreg *reg, const char *symbol);
const struct instrument *instreg_find_on(const struct instreg *reg, enum exchange ex,
                                         const char *symbol);

/* By a broker's token (Kite instrument_token, Angel symboltoken, Upstox instrument_key, Fyers
 * fytoken, Dhan securityId), and by a broker's trading symbol on an exchange. NULL when absent. */
const struct instrument *instreg_find_token(const struct instreg *reg, enum broker_id b,
                                            const char *token);
const struct instrument *instreg_find_broker_symbol(const struct instreg *reg, enum broker_id b,
                                                    enum exchange ex, const char *symbol);

#endif
