/*
 * sha256: the FIPS 180-2 example vectors (one block, two blocks, a million
 * 'a'), padding boundaries around 55/56/64 bytes, and incremental updates
 * in awkward chunk sizes agreeing with the one-shot digest.
 */
#include <stdlib.h>

#include "check.h"
#include "sha256.h"

static void
hex(const uint8_t d[SHA256_BYTES], char out[2 * SHA256_BYTES + 1])
{
	for (int i = 0; i < SHA256_BYTES; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static const char *
digest(const void *data, size_t len)
{
	static char out[2 * SHA256_BYTES + 1];
	uint8_t d[SHA256_BYTES];

	sha256(data, len, d);
	hex(d, out);
	return out;
}

static void
test_fips_vectors(void)
{
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomn"
	    "opnopq";
	const char *long2 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklm"
	    "ghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

	CHECK_STR_EQ(digest("", 0), "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	CHECK_STR_EQ(digest("abc", 3), "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	CHECK_STR_EQ(digest(two, strlen(two)), "248d6a61d20638b8e5c026930c3e6039"
	    "a33ce45964ff2167f6ecedd419db06c1");
	CHECK_STR_EQ(digest(long2, strlen(long2)), "cf5b16a778af8380036ce59e7b04"
	    "92370b249b11e8f07a51afac45037afee9d1");
}

static void
test_million_a(void)
{
	char *a = malloc(1000000);
	struct sha256_ctx c;
	uint8_t d[SHA256_BYTES];
	char h[2 * SHA256_BYTES + 1];
	size_t off = 0, step = 1;

	CHECK(a != NULL);
	if (a == NULL)
		return;
	memset(a, 'a', 1000000);
	CHECK_STR_EQ(digest(a, 1000000), "cdc76e5c9914fb9281a1c7e284d73e67"
	    "f1809a48a497200e046d39ccc7112cd0");
	/* Chunks of 1, 2, 3, ... bytes cross every buffer offset. */
	sha256_init(&c);
	while (off < 1000000) {
		size_t n = step < 1000000 - off ? step : 1000000 - off;

		sha256_update(&c, a + off, n);
		off += n;
		step = step % 200 + 1;
	}
	sha256_final(&c, d);
	hex(d, h);
	CHECK_STR_EQ(h, "cdc76e5c9914fb9281a1c7e284d73e67"
	    "f1809a48a497200e046d39ccc7112cd0");
	free(a);
}

static void
test_padding_boundaries(void)
{
	static const struct {
		size_t n;
		const char *hex;
	} v[] = {
		{ 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
		{ 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
		{ 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
		{ 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
		{ 65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0" },
		{ 119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb" },
		{ 120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c" },
	};
	char a[128];

	memset(a, 'a', sizeof(a));
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct sha256_ctx c;
		uint8_t d[SHA256_BYTES];
		char h[2 * SHA256_BYTES + 1];

		CHECK_STR_EQ(digest(a, v[i].n), v[i].hex);
		/* Split in two at every point. */
		for (size_t k = 0; k <= v[i].n; k++) {
			sha256_init(&c);
			sha256_update(&c, a, k);
			sha256_update(&c, a + k, v[i].n - k);
			sha256_final(&c, d);
			hex(d, h);
			CHECK_STR_EQ(h, v[i].hex);
		}
	}
}

int
main(void)
{
	RUN(test_fips_vectors);
	RUN(test_million_a);
	RUN(test_padding_boundaries);
	return check_done();
}
