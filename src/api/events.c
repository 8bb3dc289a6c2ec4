/* api/events: see events.h. A read-write lock, not atomics, because the sink is two words (the
 * function and its argument) that must change together. */
#include "api/events.h"

#include <pthread.h>
#include <stddef.h>

static pthread_rwlock_t sink_lock = PTHREAD_RWLOCK_INITIALIZER;
static api_events_sink_fn sink_fn;
static void *sink_arg;

void api_events_set_sink(api_events_sink_fn fn, void *arg)
{
    pthread_rwlock_wrlock(&sink_lock);
    sink_fn = fn;
    sink_arg = arg;
    pthread_rwlock_unlock(&sink_lock);
}

void api_events_publish(const struct api_event *ev)
{
    pthread_rwlock_rdlock(&sink_lock);
    if (sink_fn)
        sink_fn(sink_arg, ev);
    pthread_rwlock_unlock(&sink_lock);
}
