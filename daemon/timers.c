/*
 * Timer heap. O(log n) arm, disarm and pop; the heap array grows by
 * doubling and is uncharged (it belongs to the scheduler; its size is
 * bounded by the live-task limit, one timer per task at most).
 */
#include <stdlib.h>
#include <time.h>

#include "timers.h"

int64_t
timers_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
before(const struct timer_ent *a, const struct timer_ent *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void
place(struct timers *tm, uint32_t i, struct timer_ent e)
{
	tm->heap[i] = e;
	*e.slot = i;
}

static void
sift_up(struct timers *tm, uint32_t i)
{
	struct timer_ent e = tm->heap[i];

	while (i > 0) {
		uint32_t p = (i - 1) / 2;

		if (!before(&e, &tm->heap[p]))
			break;
		place(tm, i, tm->heap[p]);
		i = p;
	}
	place(tm, i, e);
}

static void
sift_down(struct timers *tm, uint32_t i)
{
	struct timer_ent e = tm->heap[i];

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= tm->n)
			break;
		if (c + 1 < tm->n && before(&tm->heap[c + 1], &tm->heap[c]))
			c++;
		if (!before(&tm->heap[c], &e))
			break;
		place(tm, i, tm->heap[c]);
		i = c;
	}
	place(tm, i, e);
}

static void
remove_at(struct timers *tm, uint32_t i)
{
	*tm->heap[i].slot = TIMER_NONE;
	if (--tm->n == i)
		return;
	place(tm, i, tm->heap[tm->n]);
	if (i > 0 && before(&tm->heap[i], &tm->heap[(i - 1) / 2]))
		sift_up(tm, i);
	else
		sift_down(tm, i);
}

int
timer_arm(struct timers *tm, uint32_t *slot, int64_t due)
{
	timer_disarm(tm, slot);
	if (tm->n == tm->cap) {
		uint32_t ncap = tm->cap ? tm->cap * 2 : 64;
		struct timer_ent *h;

		if (ncap < tm->cap ||
		    (h = realloc(tm->heap, (size_t)ncap * sizeof(*h))) == NULL)
			return SC_ENOMEM;
		tm->heap = h;
		tm->cap = ncap;
	}
	tm->heap[tm->n] = (struct timer_ent){ due, tm->seq++, slot };
	*slot = tm->n;
	tm->n++;
	sift_up(tm, tm->n - 1);
	return SC_OK;
}

void
timer_disarm(struct timers *tm, uint32_t *slot)
{
	if (*slot != TIMER_NONE && SC_ALWAYS(*slot < tm->n &&
	    tm->heap[*slot].slot == slot))
		remove_at(tm, *slot);
}

int64_t
timer_next_due(const struct timers *tm)
{
	return tm->n > 0 ? tm->heap[0].due : INT64_MAX;
}

uint32_t *
timer_pop_due(struct timers *tm, int64_t now)
{
	uint32_t *slot;

	if (tm->n == 0 || tm->heap[0].due > now)
		return NULL;
	slot = tm->heap[0].slot;
	remove_at(tm, 0);
	return slot;
}

void
timers_free(struct timers *tm)
{
	free(tm->heap);
	tm->heap = NULL;
	tm->n = tm->cap = 0;
}
