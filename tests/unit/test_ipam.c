/* netsetup: the address allocator, pure and with its lease files (also under fork). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netsetup/netsetup.h"
#include "unit.h"

static uint32_t ip(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return ntohl(a.s_addr);
}

static void test_subnet_parse(void)
{
	struct net_subnet s;
	struct hull_err err = {0};
	CHECK(net_subnet_parse("10.89.3.7/16", &s, &err) == 0);
	CHECK(s.net == ip("10.89.0.0") && s.prefix == 16);
	CHECK(net_subnet_parse("10.89.0.0", &s, &err) < 0);
	CHECK(net_subnet_parse("10.89.0.0/31", &s, &err) < 0);
	CHECK(net_subnet_parse("banana/16", &s, &err) < 0);
	hull_err_clear(&err);
}

static void test_pick(void)
{
	struct net_subnet s = {ip("10.0.0.0"), 29}; /* .2 .. .6 usable */
	uint32_t out;
	CHECK(net_ipam_pick(&s, NULL, 0, &out) == 0 && out == ip("10.0.0.2"));
	uint32_t taken[] = {ip("10.0.0.3"), ip("10.0.0.2"), ip("10.0.0.5")};
	CHECK(net_ipam_pick(&s, taken, 3, &out) == 0 && out == ip("10.0.0.4"));
	uint32_t full[] = {ip("10.0.0.2"), ip("10.0.0.3"), ip("10.0.0.4"), ip("10.0.0.5"),
			   ip("10.0.0.6")};
	CHECK(net_ipam_pick(&s, full, 5, &out) < 0);
}

static char *tmpdir(char dir[64])
{
	snprintf(dir, 64, "/tmp/hull-ipam-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	strcat(dir, "/net");
	return dir;
}

static void rmtmp(char *dir)
{
	static const char *files[] = {"hull0.leases", "hull0.lock"};
	char path[128];
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
	*strrchr(dir, '/') = 0;
	rmdir(dir);
}

/* 0 when a child process can take the bridge's lease lock right now, 1 when it is held. */
static int fork_try_lock(const char *dir, const char *bridge)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s.lock", dir, bridge);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(path, O_RDWR | O_CLOEXEC);
		_exit(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : 1);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_leases(void)
{
	char buf[64], *dir = tmpdir(buf);
	struct net_subnet s = {ip("10.89.0.0"), 16};
	struct hull_err err = {0};
	char a[16], b[16], c[16];
	CHECK(net_ipam_alloc(dir, "hull0", &s, "one", NULL, a, &err) == 0);
	CHECK(net_ipam_alloc(dir, "hull0", &s, "two", NULL, b, &err) == 0);
	CHECK_STR(a, "10.89.0.2");
	CHECK_STR(b, "10.89.0.3");
	CHECK(net_ipam_alloc(dir, "hull0", &s, "three", "10.89.0.3", c, &err) < 0);
	CHECK_CONTAINS(err.msg, "already taken by container two");
	CHECK(net_ipam_alloc(dir, "hull0", &s, "three", "10.90.0.3", c, &err) < 0);
	CHECK_CONTAINS(err.msg, "outside");
	CHECK(net_ipam_alloc(dir, "hull0", &s, "three", "10.89.0.1", c, &err) < 0);
	int lock = -2;
	CHECK(net_ipam_release(dir, "hull0", "one", &lock, &err) == 1);
	CHECK(lock >= 0); /* held: another process cannot take the lock */
	CHECK(fork_try_lock(dir, "hull0") == 1);
	close(lock);
	CHECK(fork_try_lock(dir, "hull0") == 0);
	CHECK(net_ipam_release(dir, "hull0", "nobody", NULL, &err) == 1);
	CHECK(net_ipam_count(dir, "hull0", &err) == 1);
	CHECK(net_ipam_alloc(dir, "hull0", &s, "four", NULL, c, &err) == 0);
	CHECK_STR(c, "10.89.0.2"); /* the released address comes back */
	CHECK(net_ipam_alloc(dir, "hull0", &s, "five", "10.89.7.9", c, &err) == 0);
	CHECK_STR(c, "10.89.7.9");
	hull_err_clear(&err);
	rmtmp(dir);
}

static void test_parallel(void)
{
	char buf[64], *dir = tmpdir(buf);
	struct net_subnet s = {ip("10.89.0.0"), 16};
	enum { N = 50 };
	int fds[N];
	for (int i = 0; i < N; i++) {
		int p[2];
		CHECK(pipe(p) == 0);
		if (fork() == 0) {
			char id[16], out[16] = "";
			struct hull_err err = {0};
			snprintf(id, sizeof id, "c%d", i);
			net_ipam_alloc(dir, "hull0", &s, id, NULL, out, &err);
			ssize_t w = write(p[1], out, sizeof out);
			_exit(w == (ssize_t)sizeof out ? 0 : 1);
		}
		close(p[1]);
		fds[i] = p[0];
	}
	char got[N][16];
	for (int i = 0; i < N; i++) {
		CHECK(read(fds[i], got[i], 16) == 16);
		close(fds[i]);
		wait(NULL);
	}
	for (int i = 0; i < N; i++) {
		CHECK(got[i][0] != 0);
		for (int j = 0; j < i; j++)
			CHECK(strcmp(got[i], got[j]) != 0);
	}
	struct hull_err err = {0};
	CHECK(net_ipam_count(dir, "hull0", &err) == N);
	rmtmp(dir);
}

int main(void)
{
	RUN(test_subnet_parse);
	RUN(test_pick);
	RUN(test_leases);
	RUN(test_parallel);
	return unit_done();
}
