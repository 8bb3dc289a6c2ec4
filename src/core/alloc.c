#include "core/alloc.h"

#include "core/err.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static atomic_long live_blocks;
static atomic_long fail_countdown;

/* Returns 1 when the injected failure is due now. */
static int injected_failure(void)
{
    long n = atomic_load(&fail_countdown);
    while (n > 0) {
        if (atomic_compare_exchange_weak(&fail_countdown, &n, n - 1))
            return n == 1;
    }
    return 0;
}

void *atp_malloc(size_t size)
{
    if (injected_failure())
        return NULL;
    void *p = malloc(size ? size : 1);
    if (p)
        atomic_fetch_add(&live_blocks, 1);
    return p;
}

void *atp_calloc(size_t count, size_t size)
{
    /* Checked here, as the header promises: libc's calloc does too, but a sanitizer's calloc
     * aborts the process on it instead of returning NULL. */
    if (size && count > SIZE_MAX / size)
        return NULL;
    if (injected_failure())
        return NULL;
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p)
        atomic_fetch_add(&live_blocks, 1);
    return p;
}

void *atp_realloc(void *ptr, size_t size)
{
    if (!ptr)
        return atp_malloc(size);
    if (injected_failure())
        return NULL;
    return realloc(ptr, size ? size : 1);
}

void *atp_reallocarray(void *ptr, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    return atp_realloc(ptr, count * size);
}

char *atp_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = atp_malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

void atp_free(void *ptr)
{
    if (!ptr)
        return;
    atomic_fetch_sub(&live_blocks, 1);
    free(ptr);
}

long atp_alloc_live(void)
{
    return atomic_load(&live_blocks);
}

void atp_alloc_fail_after(long n)
{
    atomic_store(&fail_countdown, n);
}

int atp_array_reserve(void **arr, uint32_t *cap, size_t n, size_t elem)
{
    if (n <= *cap)
        return ATP_OK;
    if (n > UINT32_MAX / 4)
        return ATP_ENOMEM;
    size_t c = *cap ? *cap : 8;
    while (c < n)
        c *= 2;
    void *p = atp_reallocarray(*arr, c, elem);
    if (!p)
        return ATP_ENOMEM;
    *arr = p;
    *cap = (uint32_t)c;
    return ATP_OK;
}
