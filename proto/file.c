/* See file.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"

int
file_read(const char *path, size_t max, char **bufp, size_t *lenp,
    struct sc_error *err)
{
	size_t len = 0, cap = 65536;
	char *buf = NULL, *nbuf;
	int fd, r = SC_OK;
	ssize_t n;

	*bufp = NULL;
	*lenp = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return sc_errorf(err, SC_EIO, "%s: %s", path, strerror(errno));
	if ((buf = malloc(cap)) == NULL) {
		r = sc_errorf(err, SC_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		if (len + 1 >= cap) {
			if ((nbuf = realloc(buf, cap * 2)) == NULL) {
				r = sc_errorf(err, SC_ENOMEM, "%s: out of "
				    "memory", path);
				goto out;
			}
			buf = nbuf;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = sc_errorf(err, SC_EIO, "%s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			r = sc_errorf(err, SC_ELIMIT, "%s: larger than the "
			    "limit of %zu bytes", path, max);
			goto out;
		}
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return r;
}

int
file_write_atomic(const char *path, const void *buf, size_t len,
    struct sc_error *err)
{
	char tmp[4096];
	const char *p = buf;
	struct stat st;
	int fd;

	/* Not a regular file (/dev/stdout, a FIFO): write in place; renaming
	 * over it would replace the device node. */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
			return sc_errorf(err, SC_EIO, "%s: %s", path,
			    strerror(errno));
		snprintf(tmp, sizeof(tmp), "%s", path);
		goto write;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path,
	    (long)getpid()) >= sizeof(tmp))
		return sc_errorf(err, SC_EINVAL, "%s: path too long", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644))
	    == -1)
		return sc_errorf(err, SC_EIO, "%s: %s", tmp, strerror(errno));
write:
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			sc_errorf(err, SC_EIO, "%s: %s", tmp, strerror(errno));
			close(fd);
			if (strcmp(tmp, path) != 0)
				unlink(tmp);
			return SC_EIO;
		}
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) == -1 || (strcmp(tmp, path) != 0 &&
	    rename(tmp, path) == -1)) {
		sc_errorf(err, SC_EIO, "%s: %s", path, strerror(errno));
		if (strcmp(tmp, path) != 0)
			unlink(tmp);
		return SC_EIO;
	}
	return SC_OK;
}
