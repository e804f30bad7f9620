/*
 * dc_hugeheap.h - a metadata crawl's new heap memory in transparent huge pages.
 *
 * A warm metadata-only header pass allocates a few KB of memory never used
 * before per file (kept rows, packed records): one page fault per 4 KiB page,
 * ~14-16% of the pass's time (perf, 20k warm files).  With transparent huge
 * pages in "madvise" mode (the usual default) memory marked MADV_HUGEPAGE
 * costs one fault per 2 MiB instead.  glibc marks its heap itself with
 * GLIBC_TUNABLES=glibc.malloc.hugetlb=1, but reads that only at process
 * start; so the crawl asks malloc to grow its heap in 32 MiB steps (and to
 * take blocks up to 32 MiB from the heap, so that freed window buffers are
 * reused rather than unmapped and faulted in again) and marks each step as
 * it appears.  The marks change which pages hold the memory, never what is
 * in it.  DCMCRAWL_HUGEHEAP=0 turns it off (measurements).
 */
#ifndef DC_HUGEHEAP_H
#define DC_HUGEHEAP_H

/* Once per process (later calls do nothing), main thread, before the first
 * metadata-only header pass: the malloc settings above, and marked free
 * room at the top of the heap. */
void dc_hugeheap_init(void);

/* Mark the heap grown since the last call; cheap when it did not grow (no
 * system call).  Call after allocations, e.g. once per file. */
void dc_hugeheap_follow(void);

/* dc_hugeheap_follow, then make sure the heap has marked free room at its
 * top for what comes next (a malloc and free that grow it by a step). */
void dc_hugeheap_reserve(void);

#endif
