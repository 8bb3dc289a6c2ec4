/* md/indicators/registry: the built-in indicator definitions (private to src/md; callers use
 * the catalog functions of md/indicator.h). Immutable; safe to read from any thread. */
#ifndef ATP_MD_INDICATORS_REGISTRY_H
#define ATP_MD_INDICATORS_REGISTRY_H

#include <stddef.h>

#include "atp/indicator.h"

extern const struct atp_indicator_def *const ind_registry[];
extern const size_t ind_registry_count;

#endif
