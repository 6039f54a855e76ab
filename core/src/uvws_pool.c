/* Slab pool of fixed-size blocks: see uvws_pool.h for why.
 *
 * A slab is UVWS_SLAB_SIZE bytes aligned to its size, so the slab of a
 * block is found by masking its address. Its header holds a free list of
 * its own blocks and a count of those in use. Allocation takes from the
 * first slab that has room, so a full slab stays out of the way and
 * freeing into a slab puts it back in front: new connections fill the
 * holes of old ones before any fresh slab is touched. */
#include "uvws_pool.h"

#include <stdint.h>
#include <string.h>

#ifdef _WIN32
#include <malloc.h>
#else
#include <sys/mman.h>
#endif

/* 64 KiB: 140-odd connections per slab, small enough that an idle server
 * does not keep much, large enough that mapping is rare. */
#define UVWS_SLAB_SIZE ((size_t)64 * 1024)

struct uvws_slab {
  uvws_slab_t *prev, *next; /* in pool->partial */
  void *free;               /* free blocks, linked through their first word */
  unsigned used;
  unsigned fresh;           /* blocks never handed out yet: [fresh, per_slab) */
  int listed;               /* in pool->partial */
};

/* Blocks start after the header, 16-aligned. */
#define SLAB_HDR ((sizeof(uvws_slab_t) + 15) & ~(size_t)15)

static uvws_slab_t *slab_map(void) {
#ifdef _WIN32
  return _aligned_malloc(UVWS_SLAB_SIZE, UVWS_SLAB_SIZE);
#else
  /* Map twice the size and trim to an aligned window. */
  size_t len = UVWS_SLAB_SIZE * 2;
  uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return NULL;
  uintptr_t a = ((uintptr_t)m + UVWS_SLAB_SIZE - 1) & ~(uintptr_t)(UVWS_SLAB_SIZE - 1);
  size_t head = a - (uintptr_t)m;
  if (head) munmap(m, head);
  size_t tail = len - head - UVWS_SLAB_SIZE;
  if (tail) munmap((uint8_t *)a + UVWS_SLAB_SIZE, tail);
  return (uvws_slab_t *)a;
#endif
}

static void slab_unmap(uvws_slab_t *s) {
#ifdef _WIN32
  _aligned_free(s);
#else
  munmap(s, UVWS_SLAB_SIZE);
#endif
}

static void unlist(uvws_pool_t *p, uvws_slab_t *s) {
  if (s->prev) s->prev->next = s->next;
  else p->partial = s->next;
  if (s->next) s->next->prev = s->prev;
  s->prev = s->next = NULL;
  s->listed = 0;
}

static void list_front(uvws_pool_t *p, uvws_slab_t *s) {
  s->prev = NULL;
  s->next = p->partial;
  if (p->partial) p->partial->prev = s;
  p->partial = s;
  s->listed = 1;
}

void uvws_pool_init(uvws_pool_t *p, size_t size) {
  memset(p, 0, sizeof(*p));
  /* 8-byte alignment is what the structures here need (pointers, 64-bit
   * integers); 16 only for blocks that are a multiple of it anyway. */
  size_t align = size % 16 == 0 ? 16 : 8;
  if (size < sizeof(void *)) size = sizeof(void *);
  p->block = (size + align - 1) & ~(align - 1);
  p->per_slab = (unsigned)((UVWS_SLAB_SIZE - SLAB_HDR) / p->block);
}

void *uvws_pool_alloc(uvws_pool_t *p) {
  uvws_slab_t *s = p->partial;
  if (!s) {
    if (p->spare) {
      s = p->spare;
      p->spare = NULL;
    } else {
      if (p->per_slab == 0 || !(s = slab_map())) return NULL;
      memset(s, 0, sizeof(*s));
      p->slabs++;
    }
    list_front(p, s);
  }
  void *b;
  if (s->free) {
    b = s->free;
    memcpy(&s->free, b, sizeof(void *));
  } else {
    /* Carve lazily: pages of a fresh slab are touched only when used. */
    b = (uint8_t *)s + SLAB_HDR + (size_t)s->fresh++ * p->block;
  }
  if (++s->used == p->per_slab) unlist(p, s);
  memset(b, 0, p->block);
  return b;
}

void uvws_pool_free(uvws_pool_t *p, void *block) {
  uvws_slab_t *s = (uvws_slab_t *)((uintptr_t)block & ~(uintptr_t)(UVWS_SLAB_SIZE - 1));
  memcpy(block, &s->free, sizeof(void *));
  s->free = block;
  s->used--;
  if (s->used == 0) {
    if (s->listed) unlist(p, s);
    if (p->spare) {
      slab_unmap(s);
      p->slabs--;
    } else {
      /* Forget its free list: a reused spare is carved afresh. */
      s->free = NULL;
      s->fresh = 0;
      p->spare = s;
    }
    return;
  }
  if (!s->listed) list_front(p, s);
}

void uvws_pool_destroy(uvws_pool_t *p) {
  while (p->partial) {
    uvws_slab_t *s = p->partial;
    unlist(p, s);
    slab_unmap(s);
  }
  if (p->spare) slab_unmap(p->spare);
  memset(p, 0, sizeof(*p));
}
