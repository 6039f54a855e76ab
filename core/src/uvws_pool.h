/* Fixed-size blocks carved out of slabs of their own (mmap'd, not malloc's
 * heap), for objects that live long and come in large numbers: server
 * connections. Why: a connection's handshake allocates and frees buffers
 * (request head, response) between the allocations of long-lived
 * connections; with everything in malloc's heap, the freed holes end up
 * between live connections and the heap cannot shrink or pack them. With
 * connections in slabs, live ones stay dense and the heap only holds
 * short-lived memory that later handshakes reuse.
 *
 * One pool per loop (uvws_loopctx_t): no locking. Not for debug builds'
 * quarantined handles (uvws_debug.c frees those with free()). */
#ifndef UVWS_POOL_H
#define UVWS_POOL_H

#include <stddef.h>

typedef struct uvws_slab uvws_slab_t;

typedef struct uvws_pool {
  size_t block;          /* bytes per block, rounded to alignment */
  unsigned per_slab;     /* blocks in one slab */
  uvws_slab_t *partial;  /* slabs with at least one free block */
  uvws_slab_t *spare;    /* one empty slab kept to avoid map/unmap churn */
  size_t slabs;          /* slabs mapped, spare included */
} uvws_pool_t;

/* Blocks of `size` bytes (any alignment up to 16). */
void uvws_pool_init(uvws_pool_t *p, size_t size);
/* A zeroed block, or NULL when out of memory. */
void *uvws_pool_alloc(uvws_pool_t *p);
/* Give back a block of this pool; an empty slab is unmapped (one is kept). */
void uvws_pool_free(uvws_pool_t *p, void *block);
/* Unmap everything; every block must have been freed. */
void uvws_pool_destroy(uvws_pool_t *p);

#endif
