/*
 * A stand-in for systemd's notify socket in tests: `sdlisten ADDR OUT`
 * binds a datagram socket at ADDR ("/path", or "@name" for an abstract
 * one) and appends every datagram it receives to OUT as one line, with
 * the message's newlines written as ';' ("READY=1;STATUS=..."). It runs
 * until SIGTERM, or 60 s without a datagram.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { 60, 0 };
	socklen_t len;
	char buf[4097];
	ssize_t n;
	int fd, out;

	if (argc != 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: sdlisten ADDR OUT\n");
		return 2;
	}
	memcpy(sa.sun_path, argv[1], strlen(argv[1]));
	len = (socklen_t)(sizeof(sa.sun_family) + strlen(argv[1]) + 1);
	if (argv[1][0] == '@') {
		sa.sun_path[0] = '\0';
		len--;
	}
	signal(SIGTERM, SIG_DFL);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, len) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
		perror(argv[1]);
		return 1;
	}
	if ((out = open(argv[2], O_WRONLY | O_CREAT | O_APPEND, 0644)) < 0) {
		perror(argv[2]);
		return 1;
	}
	while ((n = recv(fd, buf, sizeof(buf) - 1, 0)) >= 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\n')
				buf[i] = ';';
		buf[n++] = '\n';
		if (write(out, buf, (size_t)n) != n) {
			perror(argv[2]);
			return 1;
		}
	}
	return 0;
}
