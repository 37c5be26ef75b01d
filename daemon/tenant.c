/*
 * The tenant table: a fixed array of hash chains keyed by uid. Tenants are
 * never freed before the daemon stops, so pointers to them stay valid in
 * job records and connections.
 */
#define _GNU_SOURCE			/* struct ucred */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tenant.h"

static uint32_t
slot(uint32_t uid)
{
	return (uid * 2654435761u) % TENANT_BUCKETS;
}

struct tenant_acct *
tenant_find(const struct tenants *ts, uint32_t uid)
{
	struct tenant_acct *t;

	for (t = ts->tab[slot(uid)]; t != NULL; t = t->next)
		if (t->uid == uid)
			return t;
	return NULL;
}

struct tenant_acct *
tenant_get(struct tenants *ts, uint32_t uid)
{
	struct tenant_acct *t = tenant_find(ts, uid);

	if (t != NULL)
		return t;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->uid = uid;
	t->next = ts->tab[slot(uid)];
	ts->tab[slot(uid)] = t;
	ts->n++;
	return t;
}

void
tenants_free(struct tenants *ts)
{
	for (size_t i = 0; i < TENANT_BUCKETS; i++)
		while (ts->tab[i] != NULL) {
			struct tenant_acct *t = ts->tab[i];

			ts->tab[i] = t->next;
			free(t);
		}
	ts->n = 0;
}

bool
tenant_is_admin(const struct cfg *c, uint32_t uid)
{
	for (uint32_t i = 0; i < c->daemon.nadmins; i++)
		if (c->daemon.admin_uids[i] == uid)
			return true;
	return false;
}

int
tenant_peer(int fd, uint32_t *uid, pid_t *pid, struct sc_error *err)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
		return sc_errorf(err, SC_EIO, "SO_PEERCRED: %s",
		    strerror(errno));
	*uid = (uint32_t)cr.uid;
	*pid = cr.pid;
	return SC_OK;
}
