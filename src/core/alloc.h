/* core/alloc: the one allocator wrapper. Every heap allocation in ATP goes through these so
 * tests can count live blocks and inject failures. Thread-safe (atomic counters). */
#ifndef ATP_CORE_ALLOC_H
#define ATP_CORE_ALLOC_H

#include <stddef.h>
#include <stdint.h>

/* Like malloc/calloc/realloc/free/strdup. Return NULL on failure (real or injected).
 * atp_free(NULL) is a no-op. calloc and reallocarray-style overflow is checked. */
void *atp_malloc(size_t size);
void *atp_calloc(size_t count, size_t size);
void *atp_realloc(void *ptr, size_t size);
void *atp_reallocarray(void *ptr, size_t count, size_t size);
char *atp_strdup(const char *s);
void atp_free(void *ptr);

/* Grows the array *arr of *cap elements of elem bytes so it holds at least n (doubling from 8).
 * ATP_OK, or ATP_ENOMEM with *arr and *cap unchanged (also when n would pass UINT32_MAX / 4). */
int atp_array_reserve(void **arr, uint32_t *cap, size_t n, size_t elem);

/* Number of live allocations made through this wrapper (for leak checks in tests). */
long atp_alloc_live(void);

/* Test hook: the n-th allocation from now (1 = the next one) fails, once; 0 disables. Every
 * malloc/calloc/realloc/reallocarray/strdup call counts, except calls refused for size overflow. */
void atp_alloc_fail_after(long n);

#endif
