/* scratch — the memory one model load takes and drops all at once.
 *
 * Reading a large model makes many short-lived allocations: protobuf-c unpacks
 * a 3 MB ONNX tree ensemble into ~25 MB of arrays, strings and scanning slabs,
 * all freed before the load returns. From malloc, each new 4 KB page of that
 * costs a page fault, and on a virtual machine a fault costs 4-10 us: 30 ms of
 * a 100 ms load. A scratch is one reserved region that the kernel is asked to
 * back with 2 MB pages where it offers them (MADV_HUGEPAGE; elsewhere it is
 * ordinary memory), handed out in blocks of a few sizes a doubling whose
 * freed ones are reused, and returned whole by scratch_destroy.
 *
 * One owner, one thread. Nothing that outlives the load may live in it.
 * A NULL scratch is valid everywhere and means plain malloc and free. */
#ifndef TABSERVE_SCRATCH_H
#define TABSERVE_SCRATCH_H

#include <stddef.h>

typedef struct scratch scratch;

/* Reserves `reserve` bytes of address space (only what is touched is memory).
 * Without it (no address space, a kernel that never gives 2 MB pages, or
 * under AddressSanitizer, so that it checks each block) every block is
 * malloc's, freed by scratch_free or else by scratch_destroy. NULL only when
 * memory runs out. */
scratch *scratch_create(size_t reserve);
/* 16-byte aligned; from malloc once the reserve is spent. NULL only when
 * malloc fails too. */
void *scratch_alloc(scratch *s, size_t n);
/* The block becomes reusable by a later scratch_alloc of its size class (one
 * of malloc's is freed). */
void scratch_free(scratch *s, void *p);
/* Everything it handed out is gone, at once. */
void scratch_destroy(scratch *s);
/* Whether it has a reserve (else every block is malloc's). */
int scratch_reserved(const scratch *s);
/* Bytes of the reserve handed out so far (reuse is not counted twice). */
size_t scratch_used(const scratch *s);

#endif
