/*
 * SHA-256 (FIPS 180-4), written from the standard. Used for the module's
 * source_hash and anything else that needs a content digest. One-shot
 * sha256() or incremental init/update/final; no allocation, no failure.
 */
#ifndef SC_SHA256_H
#define SC_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_BYTES	32		/* digest size */
#define SHA256_BLOCK	64		/* compression block size */

struct sha256_ctx {
	uint32_t h[8];			/* chaining state */
	uint64_t nbytes;		/* message bytes hashed so far */
	uint8_t buf[SHA256_BLOCK];	/* partial block */
	size_t nbuf;			/* bytes used in buf */
};

/* Start a new digest. */
void sha256_init(struct sha256_ctx *c);
/* Hash len more bytes of the message. */
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
/* Finish: write the digest to out; c must be re-initialised to reuse it. */
void sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_BYTES]);
/* The digest of data[0..len) in one call. */
void sha256(const void *data, size_t len, uint8_t out[SHA256_BYTES]);

#endif
