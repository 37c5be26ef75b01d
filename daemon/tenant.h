/*
 * Tenants: a tenant is the peer uid of a client connection (SO_PEERCRED).
 * One struct tenant_acct per uid ever seen, kept for the daemon's life (uids
 * are bounded by the system's users): its live and kept jobs, its rate
 * buckets, its connections. Admins are the config's daemon.admin_uids,
 * looked up at each use so a reload applies at once.
 */
#ifndef SC_TENANT_H
#define SC_TENANT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cfg.h"
#include "err.h"
#include "quota.h"

#define TENANT_BUCKETS	256		/* hash buckets (chained) */
#define TENANT_END_STATES 4		/* JR_COMPLETED .. JR_TIMED_OUT */

struct jobrec;

struct tenant_acct {
	uint32_t uid;			/* the tenant */
	uint32_t njobs;			/* live (not ended) jobs */
	uint32_t nended;		/* ended jobs kept */
	uint32_t nended_by[TENANT_END_STATES];	/* ... by state - COMPLETED */
	uint32_t nconns;		/* open connections */
	uint32_t nhandles;		/* live FFI handles */
	uint64_t ended_bytes;		/* output bytes its ended jobs keep */
	struct bucket submit;		/* submissions per second */
	struct bucket spawn;		/* spawns per second */
	struct bucket ext;		/* extern calls per second */
	struct jobrec *ended_head;	/* ended jobs kept, oldest first */
	struct jobrec *ended_tail;	/* ... */
	struct jobrec *live_head;	/* live (not ended) jobs */
	struct tenant_acct *next;	/* hash chain; every tenant (list) */
};

struct tenants {
	struct tenant_acct *tab[TENANT_BUCKETS];	/* by uid */
	uint32_t n;			/* tenants */
};

/* The tenant for uid, created on first use; NULL when out of memory. */
struct tenant_acct *tenant_get(struct tenants *ts, uint32_t uid);
/* The tenant for uid, or NULL if never seen. */
struct tenant_acct *tenant_find(const struct tenants *ts, uint32_t uid);
/* Free every tenant (not their jobs). */
void tenants_free(struct tenants *ts);
/* Whether uid is in daemon.admin_uids. */
bool tenant_is_admin(const struct cfg *c, uint32_t uid);
/* The peer uid and pid of a connected Unix socket (SO_PEERCRED). */
int tenant_peer(int fd, uint32_t *uid, pid_t *pid, struct sc_error *err)
    SC_MUST_CHECK;

#endif
