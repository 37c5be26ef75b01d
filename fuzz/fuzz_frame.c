/*
 * Fuzz target: bytes from a client connection. Frames are cut from the
 * stream as the daemon does (length checked before anything is allocated)
 * and each body is decoded as a request with the capped allocator.
 */
#include <stddef.h>
#include <stdint.h>

#include "frame.h"

#define REQUEST_MAX	(1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct sc_error err;

	while (len > 0) {
		size_t off, blen;
		Wire__Request *req;

		if (frame_parse(data, len, REQUEST_MAX, &off, &blen, &err) !=
		    SC_OK)
			break;
		if (frame_unpack_request(data + off, blen, &req, &err) ==
		    SC_OK)
			frame_msg_free(req);
		data += off + blen;
		len -= off + blen;
	}
	return 0;
}
