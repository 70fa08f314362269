/* udp-echo.c - UDP echo server for the test guest, whose busybox has no UDP
 * server (Debian's busybox-static has neither udpsvd nor nc -u).  Built
 * static by the guest tests and put into the guest with run-guest.sh
 * --file.
 *
 *   udp-echo PORT
 *
 * Answers each datagram on 0.0.0.0:PORT with "ECHO " and its bytes, so the
 * host can tell the guest's answer from a reflection; prints
 * "GUEST: udp from ADDR PORT" for each new peer (the address the guest
 * sees); a datagram "QUIT" ends it (answered "BYE").
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET }, peer, last = { 0 };
	static char buf[65536 + 5];
	socklen_t pl;
	ssize_t n;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: udp-echo PORT\n");
		return 2;
	}
	sa.sin_port = htons((unsigned short)atoi(argv[1]));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("udp-echo");
		return 1;
	}
	memcpy(buf, "ECHO ", 5);
	for (;;) {
		pl = sizeof(peer);
		n = recvfrom(fd, buf + 5, sizeof(buf) - 5, 0,
			     (struct sockaddr *)&peer, &pl);
		if (n < 0)
			continue;
		if (peer.sin_addr.s_addr != last.sin_addr.s_addr ||
		    peer.sin_port != last.sin_port) {
			printf("GUEST: udp from %s %u\n",
			       inet_ntoa(peer.sin_addr), ntohs(peer.sin_port));
			fflush(stdout);
			last = peer;
		}
		if (n == 4 && !memcmp(buf + 5, "QUIT", 4)) {
			sendto(fd, "BYE", 3, 0, (struct sockaddr *)&peer, pl);
			return 0;
		}
		sendto(fd, buf, (size_t)n + 5, 0, (struct sockaddr *)&peer, pl);
	}
}
