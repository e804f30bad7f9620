/*
 * hugeheap.c - a metadata crawl's new heap memory in transparent huge pages.
 * See dc_hugeheap.h.
 */
#include "dc_hugeheap.h"

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define HEAP_STEP ((size_t)32 << 20) /* the heap grows by at least this much */
#define ROOM ((size_t)16 << 20) /* marked free room wanted at the top (untouched: no memory) */

static int state;            /* 0: not initialised, 1: on, -1: off */
static uintptr_t marked_end; /* the heap is marked up to here */

void dc_hugeheap_init(void)
{
    if (state) return;
    const char *e = getenv("DCMCRAWL_HUGEHEAP");
    uintptr_t end = (uintptr_t)sbrk(0);
    if ((e && e[0] == '0') || end == (uintptr_t)-1) {
        state = -1;
        return;
    }
    mallopt(M_TOP_PAD, (int)HEAP_STEP);
    mallopt(M_TRIM_THRESHOLD, (int)(4 * HEAP_STEP + ROOM));
    mallopt(M_MMAP_THRESHOLD, (int)HEAP_STEP);
    marked_end = end; /* what is below was touched already */
    state = 1;
    dc_hugeheap_reserve();
}

void dc_hugeheap_follow(void)
{
    if (state != 1) return;
    uintptr_t end = (uintptr_t)sbrk(0); /* glibc: no system call */
    if (end <= marked_end) return;
    uintptr_t from = (marked_end + 4095) & ~(uintptr_t)4095;
    if (from < end) (void)madvise((void *)from, end - from, MADV_HUGEPAGE);
    marked_end = end;
}

void dc_hugeheap_reserve(void)
{
    if (state != 1) return;
    dc_hugeheap_follow();
    struct mallinfo2 mi = mallinfo2(); /* keepcost: free bytes at the top; fordblks: all free */
    if (mi.keepcost >= ROOM || mi.fordblks + 4096 >= HEAP_STEP) return;
    /* larger than every free block: the top grows by it plus a step;
     * freed at once, untouched, it is room at the top (no memory used) */
    void *volatile grow = malloc(mi.fordblks + 4096); /* volatile: not optimised away */
    free(grow);
    dc_hugeheap_follow();
}
