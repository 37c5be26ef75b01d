/*
 * Runs a fuzz target without libFuzzer: each argument is a file, or a
 * directory whose files are all run. CTest replays the committed corpora
 * this way in every build (under ASan and UBSan in scripts/test), so what a
 * fuzzing campaign found stays fixed.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
/* Called first when a target defines it, as libFuzzer does. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int nrun;

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL, *nbuf;
	size_t len = 0, cap = 0, n;

	if (f == NULL) {
		perror(path);
		return 1;
	}
	do {
		if (len == cap) {
			if ((nbuf = realloc(buf, cap * 2 + 4096)) == NULL) {
				free(buf);
				fclose(f);
				return 1;
			}
			buf = nbuf;
			cap = cap * 2 + 4096;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	nrun++;
	return 0;
}

int
main(int argc, char **argv)
{
	int bad = 0;

	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *e;

		if (stat(argv[i], &st) == 0 && !S_ISDIR(st.st_mode)) {
			bad |= run_file(argv[i]);
			continue;
		}
		if ((d = opendir(argv[i])) == NULL) {
			perror(argv[i]);
			return 1;
		}
		while ((e = readdir(d)) != NULL) {
			char path[4096];

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i],
			    e->d_name);
			bad |= run_file(path);
		}
		closedir(d);
	}
	printf("replayed %d inputs\n", nrun);
	return bad;
}
