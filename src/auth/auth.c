#include "auth/auth.h"

#include "core/err.h"

#include <liboath/oath.h>
#include <pthread.h>
#include <sodium.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_status = ATP_ESTATE;

static void init_libraries(void)
{
    /* sodium_init: 0 first time, 1 when already done (e.g. by another library), -1 on failure. */
    if (sodium_init() < 0)
        return;
    if (oath_init() != OATH_OK)
        return;
    init_status = ATP_OK;
}

int auth_init(void)
{
    pthread_once(&init_once, init_libraries);
    return init_status;
}
