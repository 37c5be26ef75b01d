/*
 * The daemon's configuration: every limit and setting, its defaults, and the
 * INI reader (docs/configuration.md documents each key). struct cfg is a
 * plain value with no pointers, so it can be copied and a reload can swap it
 * whole; it is large (the FFI allow list is inline), so keep it off small
 * stacks. cfg_load() never changes *out on error (SIGHUP keeps the old one).
 */
#ifndef SC_CFG_H
#define SC_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "modio.h"

#define CFG_FILE_MAX		(1u << 20)	/* bytes of config file */
#define CFG_SOCKET_MAX		108u	/* sun_path, with the NUL */
#define CFG_PATH_MAX		4096u	/* db path, with the NUL */
#define CFG_NAME_MAX		256u	/* library, symbol, user, with NUL */
#define CFG_ADMINS_MAX		64u	/* daemon.admin_uids */
#define CFG_ALLOW_MAX		256u	/* ffi.allow lines */
#define CFG_ALLOW_PARAMS_MAX	16u	/* = VERIFY_EXTERN_PARAMS_MAX */
#define CFG_REQUEST_SLACK	(64u << 10)	/* request size over module */

/* daemon.log_level */
enum cfg_log {
	CFG_LOG_ERROR,
	CFG_LOG_WARN,
	CFG_LOG_INFO,
	CFG_LOG_DEBUG,
};

/* store.synchronous: the values of SQLite's PRAGMA synchronous. */
enum cfg_sync {
	CFG_SYNC_OFF = 0,
	CFG_SYNC_NORMAL = 1,
	CFG_SYNC_FULL = 2,
	CFG_SYNC_EXTRA = 3,
};

/* One `allow = LIB SYMBOL (TYPES) -> TYPE` line of [ffi]. */
struct cfg_allow {
	char library[CFG_NAME_MAX];	/* exactly as in extern "..." */
	char symbol[CFG_NAME_MAX];	/* a C identifier */
	uint32_t nparams;		/* parameters */
	uint8_t params[CFG_ALLOW_PARAMS_MAX];	/* enum ctype, never CT_VOID */
	uint8_t ret;			/* enum ctype (CT_VOID for ()) */
	bool frees;			/* frees its first ptr argument */
	uint32_t line;			/* line in the config file */
};

/*
 * Durations are milliseconds (_ms), sizes are bytes, rates are per second.
 * Each value is within the range docs/configuration.md gives for its key.
 */
struct cfg {
	struct {
		char socket[CFG_SOCKET_MAX];	/* Unix socket path */
		char db[CFG_PATH_MAX];		/* SQLite database path */
		uint32_t nadmins;		/* entries in admin_uids */
		uint32_t admin_uids[CFG_ADMINS_MAX];	/* see every job */
		uint32_t socket_mode;		/* permission bits of socket */
		int log_level;			/* enum cfg_log */
		bool log_timestamps;		/* prefix log lines with time */
	} daemon;
	struct {
		uint32_t max_tasks;		/* live tasks, whole daemon */
		uint64_t task_timeout_ms;	/* wall clock per job */
		uint64_t task_memory;		/* bytes one task may hold */
		uint64_t handle_lifetime_ms;	/* FFI handle age limit */
		uint32_t fuel;			/* instructions per slice */
		uint32_t call_depth;		/* frames per task */
		uint64_t max_module_size;	/* encoded module bytes */
		uint64_t max_request_size;	/* request frame bytes */
		uint32_t max_connections;	/* open client connections */
		uint64_t max_buffered_input;	/* request bytes, all conns */
		uint64_t idle_timeout_ms;	/* idle connection closed */
		uint64_t frame_timeout_ms;	/* partial frame deadline */
		uint64_t sleep_max_ms;		/* longest sleep(ms) */
		uint64_t output_per_job;	/* kept bytes per stream */
	} limits;
	struct {
		uint32_t max_jobs;		/* live jobs per tenant */
		uint32_t max_tasks;		/* live tasks per tenant */
		uint32_t max_timers;		/* armed timers per tenant */
		uint32_t max_connections;	/* open connections per tenant */
		uint64_t max_memory;		/* heap bytes of its tasks */
		uint32_t spawn_rate;		/* spawns per second */
		uint32_t spawn_burst;		/* spawn bucket size */
		uint32_t submit_rate;		/* submissions per second */
		uint32_t submit_burst;		/* submission bucket size */
		uint32_t extern_rate;		/* extern calls per second */
		uint32_t extern_burst;		/* extern call bucket size */
		uint32_t max_handles;		/* live FFI handles */
	} tenant;
	struct {
		int synchronous;		/* enum cfg_sync */
		uint64_t retention_ms;		/* keep ended jobs this long */
		uint32_t retention_count;	/* ended jobs kept per tenant */
	} store;
	struct {
		uint32_t nallow;		/* entries in allow */
		struct cfg_allow allow[CFG_ALLOW_MAX];	/* in file order */
		uint64_t call_timeout_ms;	/* one extern call */
		uint32_t workers;		/* worker processes */
		uint64_t worker_memory;		/* RLIMIT_AS per worker */
		uint64_t worker_cpu_ms;		/* RLIMIT_CPU, whole seconds */
		char user[CFG_NAME_MAX];	/* workers' user when root */
	} ffi;
};

/* Fill c with the defaults (no allocation). */
void cfg_defaults(struct cfg *c);
/* Read an INI file: defaults, then the file's keys. *out changes only on
 * success; err names "FILE:LINE: section.key = value: reason". */
int cfg_load(const char *path, struct cfg *out, struct sc_error *err)
    SC_MUST_CHECK;
/* cfg_load() of text already read (len bytes, text[len] == '\0'; the
 * parser may write into it); path names it in messages. */
int cfg_parse(const char *path, char *text, size_t len, struct cfg *out,
    struct sc_error *err) SC_MUST_CHECK;
/* True if a and b have the same ffi.allow lines (line numbers aside). */
bool cfg_allow_equal(const struct cfg *a, const struct cfg *b);
/* True if a and b hold the same settings. */
bool cfg_equal(const struct cfg *a, const struct cfg *b);
/* The i-th known key as "section.key", or NULL past the last. */
const char *cfg_key_name(size_t i, char *buf, size_t size);
/* The allow line for library and symbol, or NULL. */
const struct cfg_allow *cfg_allow_find(const struct cfg *c,
    const char *library, const char *symbol);
/* SC_OK if extern e is allowed with its exact signature, else SC_EDENIED. */
int cfg_allow_extern(const struct cfg *c, const struct mod_extern *e,
    struct sc_error *err) SC_MUST_CHECK;
/* "(float, int) -> bool" for a signature, into buf. */
void cfg_signature(const uint8_t *params, uint32_t nparams, uint8_t ret,
    char *buf, size_t size);

#endif
