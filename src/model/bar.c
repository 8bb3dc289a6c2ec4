#include "model/bar.h"

#include <string.h>
#include <strings.h>

#include "core/cal.h"
#include "core/err.h"

static const struct {
    const char *name;
    int64_t period_ns;
} tf_table[TF_COUNT] = {
    [TF_1M] = {"1m", TS_NS_PER_MIN},
    [TF_3M] = {"3m", 3 * TS_NS_PER_MIN},
    [TF_5M] = {"5m", 5 * TS_NS_PER_MIN},
    [TF_15M] = {"15m", 15 * TS_NS_PER_MIN},
    [TF_30M] = {"30m", 30 * TS_NS_PER_MIN},
    [TF_1H] = {"1h", TS_NS_PER_HOUR},
    [TF_1D] = {"1d", CAL_SESSION_NS},
};

const char *tf_name(enum tf tf)
{
    return (unsigned)tf < TF_COUNT ? tf_table[tf].name : "?";
}

int tf_parse(const char *name, enum tf *out)
{
    for (int i = 0; i < TF_COUNT; i++) {
        if (strcasecmp(name, tf_table[i].name) == 0) {
            *out = (enum tf)i;
            return ATP_OK;
        }
    }
    if (strcasecmp(name, "60m") == 0) {
        *out = TF_1H;
        return ATP_OK;
    }
    if (strcasecmp(name, "day") == 0 || strcasecmp(name, "1day") == 0 || strcasecmp(name, "d") == 0) {
        *out = TF_1D;
        return ATP_OK;
    }
    return ATP_EINVAL;
}

int64_t tf_period_ns(enum tf tf)
{
    return (unsigned)tf < TF_COUNT ? tf_table[tf].period_ns : 0;
}

int bar_is_valid(const struct bar *b)
{
    return b->low <= b->high && b->low <= b->open && b->open <= b->high && b->low <= b->close &&
           b->close <= b->high && b->volume >= 0;
}
