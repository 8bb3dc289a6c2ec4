/* api/h_signals: POST /api/v1/signals, one signal executed on many trading accounts, each through
 * its own risk gate and kill switch (docs/api.md "Signals"). */
#ifndef ATP_API_H_SIGNALS_H
#define ATP_API_H_SIGNALS_H

#include "api/router.h"

extern const struct api_field h_signals_body[];
void h_signals_execute(struct api_request *req, struct api_response *res);

#endif
