/*
 * In-memory timers: a binary min-heap keyed by (due ms, arming order), so
 * timers due at the same ms fire in the order they were armed. The owner of
 * a timer embeds a uint32_t slot that the heap keeps equal to the entry's
 * index (TIMER_NONE when not armed); that is how timer_disarm() is O(log n).
 * Times are monotonic milliseconds (timers_now_ms()).
 */
#ifndef SC_TIMERS_H
#define SC_TIMERS_H

#include <stdint.h>

#include "err.h"

#define TIMER_NONE	UINT32_MAX

struct timer_ent {
	int64_t due;			/* monotonic ms */
	uint64_t seq;			/* arming order, breaks ties */
	uint32_t *slot;			/* owner's index slot; owner found from it */
};

struct timers {
	struct timer_ent *heap;		/* min-heap by (due, seq) */
	uint32_t n;			/* armed timers */
	uint32_t cap;			/* heap capacity */
	uint64_t seq;			/* next arming number */
};

/* Monotonic clock in milliseconds. */
int64_t timers_now_ms(void);
/* Arm (or re-arm) the timer whose index slot is *slot, due at `due`. */
int timer_arm(struct timers *tm, uint32_t *slot, int64_t due) SC_MUST_CHECK;
/* Disarm the timer of *slot; no-op when it is not armed. */
void timer_disarm(struct timers *tm, uint32_t *slot);
/* The earliest due time, or INT64_MAX when no timer is armed. */
int64_t timer_next_due(const struct timers *tm);
/* Remove and return the slot of the earliest timer due at or before now, or
 * NULL; the slot is set to TIMER_NONE. */
uint32_t *timer_pop_due(struct timers *tm, int64_t now);
/* Free the heap (armed timers are forgotten, their slots left as they are). */
void timers_free(struct timers *tm);

#endif
